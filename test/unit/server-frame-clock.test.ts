/**
 * FrameClock behaviour that `npm run bench` depends on for its input-latency figure (the fix
 * came out of a benchmark finding, hence the file name): a regular tick that happens to fall
 * just after an input must not swallow the input-delayed look.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameClock } from '../../server/updates/frame-clock.js';

/** A 30 fps clock whose ticks record their time; event-driven when `events` (DAMAGE hints). */
function makeClock(opts: { events?: boolean; wanted?: () => boolean } = {}): { clock: FrameClock; ticks: number[] } {
  const ticks: number[] = [];
  const c = new FrameClock({
    framerate: 30,
    inputDelayMs: 8,
    tick: async () => {
      ticks.push(performance.now());
    },
    wanted: opts.wanted ?? (() => true),
    onError: (e) => {
      throw e;
    },
  });
  if (opts.events) c.setEventDriven(true);
  return { clock: c, ticks };
}

describe('FrameClock input look', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('still looks inputDelayMs after the input when a regular tick was due sooner', async () => {
    const { clock: c, ticks } = makeClock();
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
    const { clock: c, ticks } = makeClock();
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

describe('FrameClock driven by change hints (DAMAGE)', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('polls once a burst of hints has been quiet, not in the middle of it', async () => {
    const { clock: c, ticks } = makeClock({ events: true });
    c.requestNow();
    await vi.advanceTimersByTimeAsync(100); // first tick at 0; idle afterwards (no 30 fps beat)
    expect(ticks).toEqual([0]);
    // A burst: events at 100, 105, 110 (5 ms apart, less than the quiet time).
    c.hint();
    await vi.advanceTimersByTimeAsync(5);
    c.hint();
    await vi.advanceTimersByTimeAsync(5);
    c.hint();
    await vi.advanceTimersByTimeAsync(11);
    expect(ticks).toHaveLength(1); // still inside the quiet time after the last event
    await vi.advanceTimersByTimeAsync(2);
    expect(ticks).toHaveLength(2);
    expect(ticks[1]).toBeGreaterThanOrEqual(122);
    c.stop();
  });

  it('right after input, polls 2 ms after the echo is drawn', async () => {
    const { clock: c, ticks } = makeClock({ events: true });
    c.requestNow();
    await vi.advanceTimersByTimeAsync(100);
    c.requestSoon(); // input: in event-driven mode no blind look, but short quiet times
    await vi.advanceTimersByTimeAsync(3);
    c.hint(); // the echo is drawn at 103
    await vi.advanceTimersByTimeAsync(3);
    expect(ticks).toHaveLength(2);
    expect(ticks[1]).toBeCloseTo(105, 0);
    c.stop();
  });

  it('never polls faster than the frame rate under continuous hints, and idles at 500 ms', async () => {
    const { clock: c, ticks } = makeClock({ events: true });
    c.requestNow();
    await vi.advanceTimersByTimeAsync(0);
    for (let t = 0; t < 200; t += 2) {
      c.hint();
      await vi.advanceTimersByTimeAsync(2);
    }
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBeGreaterThanOrEqual(33);
    expect(ticks.length).toBeGreaterThan(3); // the burst never ends, but polls still happen (max defer)
    const before = ticks.length;
    await vi.advanceTimersByTimeAsync(2000); // no hints: safety polls only, every 500 ms
    expect(ticks.length - before).toBeGreaterThanOrEqual(3);
    expect(ticks.length - before).toBeLessThanOrEqual(5);
    const idle = ticks.slice(before);
    for (let i = 1; i < idle.length; i++) expect(idle[i]! - idle[i - 1]!).toBeCloseTo(500, -1);
    c.stop();
  });

  it('remembers a hint that came while nobody waited', async () => {
    let waiting = false;
    const { clock: c, ticks } = makeClock({ events: true, wanted: () => waiting });
    c.hint(); // nobody waits: no poll
    await vi.advanceTimersByTimeAsync(500);
    expect(ticks).toHaveLength(0);
    waiting = true;
    c.start(); // a client starts waiting: the pending change is looked at within one interval
    await vi.advanceTimersByTimeAsync(40);
    expect(ticks).toHaveLength(1);
    c.stop();
  });
});
