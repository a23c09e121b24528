/**
 * FrameClock behaviour that `npm run bench` depends on for its input-latency figure (the fix
 * came out of a benchmark finding, hence the file name): a regular tick that happens to fall
 * just after an input must not swallow the input-delayed look.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameClock } from '../../server/updates/frame-clock.js';

describe('FrameClock input look', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  function clock(): { clock: FrameClock; ticks: number[] } {
    const ticks: number[] = [];
    const c = new FrameClock({
      framerate: 30,
      inputDelayMs: 8,
      tick: async () => {
        ticks.push(performance.now());
      },
      wanted: () => true,
      onError: (e) => {
        throw e;
      },
    });
    return { clock: c, ticks };
  }

  it('still looks inputDelayMs after the input when a regular tick was due sooner', async () => {
    const { clock: c, ticks } = clock();
    c.requestNow();
    await vi.advanceTimersByTimeAsync(0);
    expect(ticks).toHaveLength(1); // t=0; the next regular tick is due at 33.3
    await vi.advanceTimersByTimeAsync(30);
    c.requestSoon(); // input at t=30: look at 38, but the regular tick at 33.3 comes first
    await vi.advanceTimersByTimeAsync(4);
    expect(ticks).toHaveLength(2);
    expect(ticks[1]).toBeCloseTo(33.3, 0);
    await vi.advanceTimersByTimeAsync(5);
    expect(ticks).toHaveLength(3);
    expect(ticks[2]).toBeGreaterThanOrEqual(37);
    expect(ticks[2]).toBeLessThan(40); // at the look time, not a whole interval after 33.3
    c.stop();
  });

  it('does not add a tick when the input look falls on a tick anyway', async () => {
    const { clock: c, ticks } = clock();
    c.requestNow();
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(20);
    c.requestSoon(); // look at 28: earlier than the regular 33.3, so it replaces it
    await vi.advanceTimersByTimeAsync(9);
    expect(ticks).toHaveLength(2);
    expect(ticks[1]).toBeCloseTo(28, 0);
    await vi.advanceTimersByTimeAsync(20);
    expect(ticks).toHaveLength(2); // next regular tick at 28 + 33.3
    await vi.advanceTimersByTimeAsync(15);
    expect(ticks).toHaveLength(3);
    c.stop();
  });
});
