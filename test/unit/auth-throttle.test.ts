import { describe, expect, it } from 'vitest';
import { AuthThrottle } from '../../server/auth-throttle.js';

/** A clock the test moves by hand. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const OPTS = { baseDelayMs: 100, maxDelayMs: 1000, blockAfter: 5, blockMs: 10_000, maxEntries: 3 };

describe('AuthThrottle', () => {
  it('doubles the reply delay per failure, capped at maxDelayMs', () => {
    const c = clock();
    const t = new AuthThrottle(OPTS, c.now);
    const delays = [1, 2, 3, 4].map(() => t.recordFailure('10.0.0.1'));
    expect(delays).toEqual([100, 200, 400, 800]);
    const capped = new AuthThrottle({ ...OPTS, blockAfter: 100 }, c.now);
    const many = Array.from({ length: 60 }, () => capped.recordFailure('10.0.0.1'));
    expect(many.slice(0, 5)).toEqual([100, 200, 400, 800, 1000]);
    expect(Math.max(...many)).toBe(1000); // 2 ** 59 does not overflow past the cap
  });

  it('blocks an address after blockAfter failures, for blockMs, and only that address', () => {
    const c = clock();
    const t = new AuthThrottle(OPTS, c.now);
    for (let i = 0; i < 4; i++) t.recordFailure('10.0.0.1');
    expect(t.blockedFor('10.0.0.1')).toBe(0);
    t.recordFailure('10.0.0.1');
    expect(t.blockedFor('10.0.0.1')).toBe(10_000);
    expect(t.blockedFor('10.0.0.2')).toBe(0);
    c.advance(4_000);
    expect(t.blockedFor('10.0.0.1')).toBe(6_000);
    c.advance(6_000);
    expect(t.blockedFor('10.0.0.1')).toBe(0);
  });

  it('a success clears the record: delays start again from the base', () => {
    const c = clock();
    const t = new AuthThrottle(OPTS, c.now);
    for (let i = 0; i < 5; i++) t.recordFailure('10.0.0.1');
    expect(t.blockedFor('10.0.0.1')).toBeGreaterThan(0);
    t.recordSuccess('10.0.0.1');
    expect(t.blockedFor('10.0.0.1')).toBe(0);
    expect(t.recordFailure('10.0.0.1')).toBe(100);
  });

  it('forgets old failures: after 10 × blockMs without a failure the count restarts', () => {
    const c = clock();
    const t = new AuthThrottle(OPTS, c.now);
    for (let i = 0; i < 3; i++) t.recordFailure('10.0.0.1');
    c.advance(10 * OPTS.blockMs); // exactly the horizon: still remembered
    expect(t.recordFailure('10.0.0.1')).toBe(800);
    c.advance(10 * OPTS.blockMs + 1);
    expect(t.recordFailure('10.0.0.1')).toBe(100);
  });

  it('keeps at most maxEntries addresses, dropping the least recently failed', () => {
    const c = clock();
    const t = new AuthThrottle(OPTS, c.now);
    for (let i = 0; i < 5; i++) t.recordFailure('10.0.0.1'); // blocked
    for (let i = 0; i < 5; i++) t.recordFailure('10.0.0.2'); // blocked
    t.recordFailure('10.0.0.1'); // 10.0.0.1 is now the most recent
    t.recordFailure('10.0.0.3');
    t.recordFailure('10.0.0.4'); // 4 entries > 3: the oldest (10.0.0.2) goes
    expect(t.blockedFor('10.0.0.2')).toBe(0);
    expect(t.blockedFor('10.0.0.1')).toBeGreaterThan(0);
    // A flood of distinct addresses never grows the table past the bound.
    for (let i = 0; i < 10_000; i++) t.recordFailure(`192.168.${i >> 8}.${i & 255}`);
    expect(t.blockedFor('10.0.0.1')).toBe(0); // evicted by the flood
    expect((t as unknown as { entries: Map<string, unknown> }).entries.size).toBe(3);
  });

  it('with a zero base delay, failures are answered at once but still counted towards the block', () => {
    const c = clock();
    const t = new AuthThrottle({ ...OPTS, baseDelayMs: 0 }, c.now);
    const delays = Array.from({ length: 5 }, () => t.recordFailure('::1'));
    expect(delays).toEqual([0, 0, 0, 0, 0]);
    expect(t.blockedFor('::1')).toBe(10_000);
  });
});
