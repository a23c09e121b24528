/**
 * The session's buffer pool (`buffer-pool.ts`): what it lends again, what it refuses to take
 * back, and that the memory it keeps stays bounded.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BufferPool, POOL_IDLE_RELEASE_MS, POOL_MIN_BYTES, poolCapacity } from '../../server/encoding/buffer-pool.js';

const KiB = 1024;

describe('poolCapacity', () => {
  it('rounds up by at most an eighth, never below the minimum step', () => {
    for (const n of [POOL_MIN_BYTES, 20_000, 65_536, 65_537, 491_520, 6_220_800, 8_294_400]) {
      const c = poolCapacity(n);
      expect(c, `${n}`).toBeGreaterThanOrEqual(n);
      expect(c - n, `${n}`).toBeLessThanOrEqual(Math.max(POOL_MIN_BYTES, n / 8));
    }
    // Nearby sizes share a class, so a band of a slightly different height reuses a buffer.
    expect(poolCapacity(480 * KiB)).toBe(poolCapacity(470 * KiB));
  });
});

describe('BufferPool', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lends a returned buffer again, exactly the size asked for, and not while it is lent', () => {
    const p = new BufferPool();
    const a = p.take(100 * KiB);
    expect(a.length).toBe(100 * KiB);
    const b = p.take(100 * KiB);
    expect(b.buffer, 'a lent buffer is not lent twice').not.toBe(a.buffer);
    p.give(a.subarray(10, 20)); // any view of it gives it back
    const c = p.take(90 * KiB);
    expect(c.length).toBe(90 * KiB);
    expect(c.buffer).toBe(a.buffer);
    p.dispose();
  });

  it('takes a buffer back once, however often it is given, and ignores memory it did not lend', () => {
    const p = new BufferPool();
    const a = p.take(64 * KiB);
    p.giveAll([a, a, a.subarray(1)]);
    p.give(Buffer.alloc(200 * KiB));
    p.give(Buffer.from('small'));
    expect(p.freeByteCount).toBe(a.buffer.byteLength);
    const x = p.take(64 * KiB);
    const y = p.take(64 * KiB);
    expect(x.buffer).toBe(a.buffer);
    expect(y.buffer, 'given three times, lent once').not.toBe(a.buffer);
    p.dispose();
  });

  it('serves small requests from ordinary buffers it never keeps', () => {
    const p = new BufferPool();
    const s = p.take(POOL_MIN_BYTES - 1);
    expect(s.length).toBe(POOL_MIN_BYTES - 1);
    p.give(s);
    expect(p.freeByteCount).toBe(0);
    p.dispose();
  });

  it('picks the smallest free buffer that fits', () => {
    const p = new BufferPool();
    const big = p.take(512 * KiB);
    const mid = p.take(128 * KiB);
    p.giveAll([big, mid]);
    expect(p.take(100 * KiB).buffer).toBe(mid.buffer);
    expect(p.take(100 * KiB).buffer).toBe(big.buffer);
    p.dispose();
  });

  it('keeps at most maxFreeBytes free, the largest buffers first', () => {
    const p = new BufferPool({ maxFreeBytes: 600 * KiB });
    const bufs = [p.take(128 * KiB), p.take(512 * KiB), p.take(64 * KiB)];
    p.giveAll(bufs);
    expect(p.freeByteCount).toBeLessThanOrEqual(600 * KiB);
    expect(p.take(500 * KiB).buffer, 'the largest is kept').toBe(bufs[1]!.buffer);
    p.dispose();
  });

  it('drops its free buffers when nothing was taken for a while, and everything on dispose', async () => {
    vi.useFakeTimers();
    const p = new BufferPool();
    const a = p.take(64 * KiB);
    p.give(a);
    expect(p.freeByteCount).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(POOL_IDLE_RELEASE_MS + 10);
    expect(p.freeByteCount).toBe(0);
    expect(p.take(64 * KiB).buffer).not.toBe(a.buffer);
    const b = p.take(64 * KiB);
    p.dispose();
    p.give(b);
    expect(p.freeByteCount, 'a disposed pool keeps nothing').toBe(0);
  });
});
