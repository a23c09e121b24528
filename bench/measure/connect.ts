/**
 * Connection set-up as a client sees it, over loopback:
 * - connect → ServerInit: from the start of the TCP connect until ServerInit has been read;
 * - connect → first full frame: the same start, then SetEncodings + a non-incremental request
 *   for the whole screen, until the last byte of the update(s) covering the screen.
 * Each sample is a fresh connection; a short pause between samples lets the server tear the
 * previous session down so the next one does not pay for it.
 */
import { RfbProbe } from '../lib/rfb-probe.js';
import { sleep } from '../lib/processes.js';

/** Per-connection deadline: generous, a 1080p Zlib frame on a loaded 2-core box takes < 1 s. */
const SAMPLE_TIMEOUT_MS = 10_000;
/** Pause between connections. */
const GAP_MS = 15;
/** Unrecorded connections before each series (connection caches, lazy encoder set-up). */
const WARMUP = 2;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Samples of connect → ServerInit, in ms. */
export async function measureServerInit(ep: Endpoint, samples: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples + WARMUP; i++) {
    const probe = await RfbProbe.connect({ ...ep, timeoutMs: SAMPLE_TIMEOUT_MS });
    probe.close();
    if (i >= WARMUP) out.push(probe.serverInitAt - probe.startedAt);
    await sleep(GAP_MS);
  }
  return out;
}

/** Samples of connect → first full frame with `encodings` (e.g. [0] for Raw), in ms. */
export async function measureFirstFrame(ep: Endpoint, encodings: readonly number[], samples: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < samples + WARMUP; i++) {
    const probe = await RfbProbe.connect({ ...ep, timeoutMs: SAMPLE_TIMEOUT_MS });
    try {
      probe.setEncodings(encodings);
      probe.requestUpdate(false);
      const done = await probe.readFullFrame(SAMPLE_TIMEOUT_MS);
      if (i >= WARMUP) out.push(done - probe.startedAt);
    } finally {
      probe.close();
    }
    await sleep(GAP_MS);
  }
  return out;
}
