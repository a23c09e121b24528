import { describe, expect, it } from 'vitest';
import { Backoff, backoffDelay, DEFAULT_BACKOFF, parseRetryAfter, sleep } from '../../gateway/backoff.js';

describe('backoffDelay', () => {
  it('doubles from 1 s up to the 30 s cap without jitter', () => {
    const delays = Array.from({ length: 8 }, (_, i) => backoffDelay(DEFAULT_BACKOFF, i, () => 0));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it('jitter only shortens, never below half of the step', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 0, () => 0.999999)).toBe(500);
    expect(backoffDelay(DEFAULT_BACKOFF, 3, () => 0.5)).toBe(6000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(DEFAULT_BACKOFF, 2);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
  });

  it('never returns less than Retry-After, capped at retryAfterCapMs', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 0, () => 0, 45_000)).toBe(45_000);
    expect(backoffDelay(DEFAULT_BACKOFF, 5, () => 0, 100)).toBe(30_000);
    expect(backoffDelay(DEFAULT_BACKOFF, 0, () => 0, 3_600_000)).toBe(DEFAULT_BACKOFF.retryAfterCapMs);
  });

  it('survives absurd attempt numbers', () => {
    expect(backoffDelay(DEFAULT_BACKOFF, 10_000, () => 0)).toBe(30_000);
  });
});

describe('Backoff', () => {
  it('grows per failure and resets on success', () => {
    const b = new Backoff(DEFAULT_BACKOFF, () => 0);
    expect([b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000]);
    expect(b.consecutiveFailures).toBe(3);
    b.reset();
    expect(b.next()).toBe(1000);
  });
});

describe('parseRetryAfter', () => {
  it('parses delta-seconds, fractional seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(' 1.5 ')).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('returns undefined for absent or garbage values', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('')).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
  });
});

describe('sleep', () => {
  it('is cut short by an abort', async () => {
    const ctl = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ctl.abort(), 20);
    await sleep(10_000, ctl.signal);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
