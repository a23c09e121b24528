/**
 * Input-to-update latency, as a user typing in a terminal experiences it: a client keeps an
 * incremental update request outstanding (re-requesting after every update, like a real
 * viewer), waits until the screen is quiet, sends a KeyEvent (press + release) to the focused
 * probe terminal, and measures until the last byte of the first update that touches the
 * terminal — the tty echo of that key.
 *
 * A random delay of up to one frame interval before each key keeps the samples from locking
 * to the server's frame clock phase, so the distribution covers every phase a user would hit.
 */
import type { Rect } from '../../core/geometry.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { RfbProbe, type RectInfo } from '../lib/rfb-probe.js';
import { sleep } from '../lib/processes.js';
import { Enc } from '../lib/rect-framing.js';
import type { Endpoint } from './connect.js';

export interface InputLatencyOptions {
  readonly samples: number;
  /** Where the echo appears (the probe terminal's window). */
  readonly target: Rect;
  /** No update for this long = quiet (default 120 ms: longer than any server's poll cycle). */
  readonly quietMs?: number;
  /** Deadline for the echo of one key (default 2000 ms). */
  readonly sampleTimeoutMs?: number;
  /** Upper bound of the random pre-key delay (default 33 ms). */
  readonly jitterMs?: number;
}

export interface InputLatencyResult {
  readonly samples: number[];
  /** Keys whose echo did not arrive in time (counted, not sampled). */
  readonly missed: number;
  /** Times the screen never went quiet within the bound before a key. */
  readonly neverQuiet: number;
}

const XK_RETURN = 0xff0d;
/** Keys per line before a Return keeps the tty's line buffer (4096 bytes) far from full. */
const KEYS_PER_LINE = 60;
/** Longest wait for the screen to go quiet before a key. */
const QUIET_BOUND_MS = 3000;
/** Deadline for reading one update once it has started to arrive. */
const UPDATE_TIMEOUT_MS = 10_000;

function touches(rects: readonly RectInfo[], t: Rect): boolean {
  return rects.some(
    (r) => r.encoding !== Enc.LastRect && r.x < t.x + t.w && t.x < r.x + r.w && r.y < t.y + t.h && t.y < r.y + r.h,
  );
}

/** Consumes updates (re-requesting each time) until none arrives for `quietMs`. */
async function drainUntilQuiet(probe: RfbProbe, quietMs: number): Promise<boolean> {
  const deadline = performance.now() + QUIET_BOUND_MS;
  while (await probe.nextUpdate(quietMs, UPDATE_TIMEOUT_MS)) {
    probe.requestUpdate(true);
    if (performance.now() > deadline) return false;
  }
  return true;
}

export async function measureInputLatency(ep: Endpoint, opts: InputLatencyOptions): Promise<InputLatencyResult> {
  const quietMs = opts.quietMs ?? 120;
  const sampleTimeoutMs = opts.sampleTimeoutMs ?? 2000;
  const jitterMs = opts.jitterMs ?? 33;
  const probe = await RfbProbe.connect({ ...ep, timeoutMs: 10_000 });
  const samples: number[] = [];
  let missed = 0;
  let neverQuiet = 0;
  try {
    probe.setEncodings([Enc.Raw]);
    probe.requestUpdate(false);
    await probe.readFullFrame(UPDATE_TIMEOUT_MS);
    probe.requestUpdate(true);
    let typed = 0;
    const tries = opts.samples + Math.max(3, Math.ceil(opts.samples / 5)); // room for a few misses
    for (let i = 0; i < tries && samples.length < opts.samples; i++) {
      if (typed > 0 && typed % KEYS_PER_LINE === 0) {
        probe.key(XK_RETURN, true);
        probe.key(XK_RETURN, false);
        typed++;
      }
      await sleep(Math.random() * jitterMs);
      if (!(await drainUntilQuiet(probe, quietMs))) neverQuiet++;
      const keysym = 0x61 + (typed % 26); // a..z
      const t0 = performance.now();
      probe.key(keysym, true);
      probe.key(keysym, false);
      typed++;
      const deadline = t0 + sampleTimeoutMs;
      let seen = false;
      while (!seen) {
        const left = deadline - performance.now();
        const u = left > 0 ? await probe.nextUpdate(left, UPDATE_TIMEOUT_MS) : null;
        if (!u) break;
        probe.requestUpdate(true);
        if (touches(u.rects, opts.target)) {
          samples.push(u.completedAt - t0);
          seen = true;
        }
      }
      if (!seen) missed++;
    }
  } finally {
    probe.close();
  }
  if (samples.length === 0) {
    throw new VncError(ErrorCode.Timeout, `no key echo arrived within ${sampleTimeoutMs} ms (${missed} keys sent): is the probe terminal focused?`);
  }
  return { samples, missed, neverQuiet };
}
