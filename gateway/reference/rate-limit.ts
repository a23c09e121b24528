/**
 * Fixed-window request limit per client IP, like the original's 100/min (§2.1), but keyed on the
 * socket address only: `CF-Connecting-IP` / `X-Forwarded-For` are client-controlled (G8).
 * Bounded: at most `maxKeys` windows are tracked; expired windows are dropped first.
 */
export interface RateLimitDecision {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfterSeconds: number;
  remaining: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  check(key: string): RateLimitDecision {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.windowMs) {
      if (!w && this.windows.size >= this.maxKeys) this.evict(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    const retryAfterSeconds = Math.max(1, Math.ceil((w.start + this.windowMs - now) / 1000));
    return { allowed: w.count <= this.limit, retryAfterSeconds, remaining: Math.max(0, this.limit - w.count) };
  }

  private evict(now: number): void {
    for (const [k, w] of this.windows) if (now - w.start >= this.windowMs) this.windows.delete(k);
    // Still full: drop the oldest window rather than grow without bound.
    if (this.windows.size >= this.maxKeys) {
      const first = this.windows.keys().next().value;
      if (first !== undefined) this.windows.delete(first);
    }
  }
}
