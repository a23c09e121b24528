/**
 * Is the event loop still responsive while the server encodes large updates? A "load" client
 * pulls full 1920×1080 frames back to back (non-incremental requests, ZRLE: the most
 * CPU-heavy lossless encoder), and meanwhile:
 * - a timer firing every TICK_MS records how late each tick runs (event-loop stall);
 * - the usual key → echo probe measures what a typing user experiences at the same time.
 * Only meaningful for our in-process server: the timer runs in the server's own event loop.
 */
import type { Rect } from '../../core/geometry.js';
import { RfbProbe } from '../lib/rfb-probe.js';
import { Enc } from '../lib/rect-framing.js';
import type { Endpoint } from './connect.js';
import { measureInputLatency } from './input-latency.js';

const TICK_MS = 5;
const FRAME_TIMEOUT_MS = 20_000;

export interface ResponsivenessResult {
  /** How late each TICK_MS timer ran, ms. */
  readonly loopLagMs: number[];
  /** Key → echo latency while the load runs, ms. */
  readonly keyLatencyMs: number[];
  /** Full frames the load client received. */
  readonly framesLoaded: number;
}

export async function measureResponsiveness(
  ep: Endpoint,
  opts: { samples: number; target: Rect; jitterMs: number },
): Promise<ResponsivenessResult> {
  const load = await RfbProbe.connect({ ...ep, timeoutMs: 10_000 });
  load.setEncodings([Enc.ZRLE]);
  let running = true;
  let frames = 0;
  const loadLoop = (async () => {
    while (running) {
      load.requestUpdate(false);
      await load.readFullFrame(FRAME_TIMEOUT_MS);
      frames++;
    }
  })();
  const lag: number[] = [];
  let expected = performance.now() + TICK_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    lag.push(Math.max(0, now - expected));
    expected = now + TICK_MS;
  }, TICK_MS);
  try {
    // Let the load reach steady state before the typing probe starts.
    while (frames < 2) await new Promise((r) => setTimeout(r, 10));
    const lat = await measureInputLatency(ep, { samples: opts.samples, target: opts.target, jitterMs: opts.jitterMs });
    return { loopLagMs: lag, keyLatencyMs: lat.samples, framesLoaded: frames };
  } finally {
    clearInterval(timer);
    running = false;
    await loadLoop.catch(() => {});
    load.close();
  }
}
