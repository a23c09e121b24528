/**
 * Capped exponential backoff with jitter, plus `Retry-After` parsing. Every retry loop in the
 * runner goes through here so that no failure path can turn into a tight loop.
 */

export interface BackoffPolicy {
  /** Delay before the first retry. */
  initialMs: number;
  /** Upper bound of any single delay (before Retry-After, which may exceed it up to `retryAfterCapMs`). */
  maxMs: number;
  /** Growth factor per consecutive failure. */
  multiplier: number;
  /**
   * Fraction of the delay that is randomised: the delay is drawn uniformly from
   * `[d·(1−jitter), d]`. "Equal-ish" jitter keeps a floor so retries are never immediate.
   */
  jitter: number;
  /** Largest Retry-After we honour; a hostile or buggy gateway cannot park us for a day. */
  retryAfterCapMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialMs: 1_000,
  maxMs: 30_000,
  multiplier: 2,
  jitter: 0.5,
  retryAfterCapMs: 300_000,
};

/**
 * Delay before retry number `attempt` (0 = first retry). `random` returns [0, 1).
 * A `retryAfterMs` hint (from a 429/503) is honoured as a lower bound.
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const exp = policy.initialMs * Math.pow(policy.multiplier, Math.max(0, Math.min(attempt, 30)));
  const capped = Math.min(policy.maxMs, exp);
  const jittered = capped * (1 - policy.jitter * random());
  const floor = retryAfterMs === undefined ? 0 : Math.min(retryAfterMs, policy.retryAfterCapMs);
  return Math.round(Math.max(jittered, floor));
}

/**
 * Parse a `Retry-After` header: delta-seconds (fractions tolerated) or an HTTP date.
 * Returns milliseconds from `nowMs`, or undefined if absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  // HTTP dates always contain a month name; this also keeps Date.parse from reading "-5" as a year.
  if (!/[a-z]{3}/i.test(v)) return undefined;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Stateful helper: counts consecutive failures and resets on success. */
export class Backoff {
  private failures = 0;
  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Record a failure and return how long to wait before the next attempt. */
  next(retryAfterMs?: number): number {
    const d = backoffDelay(this.policy, this.failures, this.random, retryAfterMs);
    this.failures++;
    return d;
  }

  reset(): void {
    this.failures = 0;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}

/** Sleep that an AbortSignal cuts short (resolves, never rejects: callers re-check their state). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
