/**
 * Throttles VNC-auth failures per source address: each failure doubles the delay before the
 * next failure is answered (from `baseDelayMs` up to `maxDelayMs`), and after `blockAfter`
 * consecutive failures the address is refused outright for `blockMs`. A success clears the
 * record. Entries expire so the table stays bounded.
 */
export interface AuthThrottleOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  blockAfter: number;
  blockMs: number;
  /** Most addresses remembered; the oldest are dropped first. */
  maxEntries: number;
}

interface Entry {
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

export class AuthThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: AuthThrottleOptions;

  constructor(opts: Partial<AuthThrottleOptions> = {}, private readonly now: () => number = Date.now) {
    this.opts = { baseDelayMs: 1000, maxDelayMs: 16_000, blockAfter: 10, blockMs: 60_000, maxEntries: 10_000, ...opts };
  }

  /** Milliseconds this address must still wait before it may try at all (0 = allowed). */
  blockedFor(address: string): number {
    const e = this.entries.get(address);
    if (!e) return 0;
    return Math.max(0, e.blockedUntil - this.now());
  }

  /** Records a failure and returns how long to delay the failure reply. */
  recordFailure(address: string): number {
    const now = this.now();
    let e = this.entries.get(address);
    if (!e || now - e.lastFailureAt > this.opts.blockMs * 10) e = { failures: 0, lastFailureAt: now, blockedUntil: 0 };
    e.failures++;
    e.lastFailureAt = now;
    if (e.failures >= this.opts.blockAfter) e.blockedUntil = now + this.opts.blockMs;
    this.entries.delete(address);
    this.entries.set(address, e); // re-insert: Map order doubles as LRU order
    while (this.entries.size > this.opts.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (e.failures - 1));
  }

  recordSuccess(address: string): void {
    this.entries.delete(address);
  }
}
