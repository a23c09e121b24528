/**
 * One cell of the matrix: one server, one scene, one encoding. The scene is reset to frame 0,
 * a fresh client connects, asks for its encodings and a full frame, drains until the screen is
 * quiet, warms up (the scene plays for `warmupMs` and restarts from frame 0), and then the scene
 * plays for `durationMs` while the client keeps exactly one incremental update request
 * outstanding — the next one is sent as soon as an update has been read, as a viewer on a fast
 * link does. Bytes are counted per update on the wire; the server's CPU time comes from /proc.
 * In the typing scene the client also types (at the scene's rate) and times each key until the
 * update that carries its echo has arrived. In lossy cells the client also decodes every update
 * (bench/lib/rfb-decoders.ts), and after the interval, once the scene has stopped and the server
 * has been quiet for a second, its picture is compared with the screen (the settled quality:
 * exact for a server that refreshes losslessly).
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import type { Rect } from '../../core/geometry.js';
import { isPixelEncoding } from '../lib/rect-framing.js';
import { encodingName } from '../../server/encoding/encodings.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { compareShown, type ImageQuality } from '../lib/psnr.js';
import { RfbTestDecoder } from '../lib/rfb-decoders.js';
import { cpuMsBetween, cpuSample } from './cpu.js';
import type { ScenePlayer } from './player.js';
import type { TypingPlan } from './scene-catalog.js';
import { SceneClient, type SceneUpdate } from './scene-client.js';
import type { RunningServer } from './servers.js';
import { typingKeys } from './typing-keys.js';

export interface CellOptions {
  readonly server: RunningServer;
  readonly player: ScenePlayer;
  readonly encodings: readonly number[];
  readonly durationMs: number;
  /**
   * The scene plays this long before the measurement, with the client reading updates as in
   * the cell, and then restarts from frame 0: what is measured is the server's steady state,
   * not its first seconds with this scene and encoding (see `warmUp`). 0 = none.
   */
  readonly warmupMs: number;
  readonly ticksPerSecond: number;
  /** Set for the typing scene. */
  readonly typing?: TypingPlan;
  /** Gives the typing terminal the focus (before the keys). */
  readonly focus?: () => Promise<void>;
  /**
   * Lossy cells: decode every update (what a viewer shows) and, once the scene has stopped and
   * the server has gone quiet, compare it with the screen from this grab.
   */
  readonly quality?: () => Promise<PixelBuffer>;
  /** Called with every update counted in the interval (ms since play), for `--trace`. */
  readonly onUpdate?: (u: SceneUpdate, atMs: number) => void;
}

export interface CellMeasurement {
  /**
   * The counting window (ms): updates and bytes are those completed within it, so rates are
   * per this window. Never the wall time the loop took: an update still arriving at the end is
   * not counted, and dividing by the time spent waiting for it made a server look cheaper the
   * longer its last, uncounted update took (identical updates differed by up to 0.04 %).
   */
  readonly windowMs: number;
  /** Wall time from play until the loop ended (ms): the interval the CPU time covers. */
  readonly elapsedMs: number;
  readonly updates: number;
  /** Wire bytes of the updates completed in the interval. */
  readonly bytes: number;
  /** What the same rectangles would have cost as Raw without CopyRect (4 B/px, headers). */
  readonly rawEquivalentBytes: number;
  /** Server CPU time in the interval (ms, all threads). */
  readonly cpuMs: number;
  /** Key → echo latencies (ms), typing scene only. */
  readonly latencies: readonly number[];
  /** Keys whose echo was not seen. */
  readonly keysMissed: number;
  readonly framesDrawn: number;
  readonly framesLate: number;
  /** Where the bytes went: rectangles, pixels and wire bytes per rectangle encoding. */
  readonly byEncoding: Readonly<Record<string, EncodingShare>>;
  /** With `quality`: the viewer's picture against the screen after the scene stopped and settled. */
  readonly settled?: ImageQuality;
}

export interface EncodingShare {
  rects: number;
  pixels: number;
  bytes: number;
}

/** Deadlines. */
const CONNECT_TIMEOUT_MS = 10_000;
const FULL_FRAME_TIMEOUT_MS = 30_000;
const UPDATE_TIMEOUT_MS = 15_000;
/** No update for this long = the screen is quiet (longer than any server's poll cycle). */
const QUIET_MS = 250;
const QUIET_BOUND_MS = 5000;
/**
 * Settling before the quality comparison: quiet this long (a server's lossless refresh waits
 * for a quiet moment first: TigerVNC's about 100 ms, ours 100 ms for a small area up to about
 * 1.7 s for a full 1920×1080 screen, see `refreshQuietMs`), at most this long in all.
 */
const SETTLE_QUIET_MS = 2500;
const SETTLE_BOUND_MS = 15_000;

function intersects(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

async function drainUntilQuiet(client: SceneClient, quietMs = QUIET_MS, boundMs = QUIET_BOUND_MS): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (performance.now() < deadline && (await client.nextUpdate(quietMs, UPDATE_TIMEOUT_MS))) client.requestUpdate(true);
}

/**
 * Plays the scene for `ms` while the client keeps one request outstanding, then draws frame 0
 * again and drains until quiet. Every server gets the same warm-up. It matters for ours: V8
 * compiles the hot encoder paths with a scene's content in the first seconds (background
 * compile threads counted in the process's CPU), and a 3 s cell measured that more than the
 * scene.
 */
async function warmUp(client: SceneClient, player: ScenePlayer, ms: number): Promise<void> {
  if (ms <= 0) return;
  const end = performance.now() + ms;
  player.play();
  for (;;) {
    const left = end - performance.now();
    if (left <= 0 || !(await client.nextUpdate(left, UPDATE_TIMEOUT_MS))) break;
    client.requestUpdate(true);
  }
  await player.pause();
  await player.reset();
  await drainUntilQuiet(client);
}

export async function measureCell(opts: CellOptions): Promise<CellMeasurement> {
  const { server, player } = opts;
  await player.reset();
  const client = await SceneClient.connect({ host: server.host, port: server.port, timeoutMs: CONNECT_TIMEOUT_MS });
  if (opts.quality) client.decoder = new RfbTestDecoder(client.format, client.width, client.height);
  let typingTimer: NodeJS.Timeout | null = null;
  try {
    client.setEncodings(opts.encodings);
    client.requestUpdate(false);
    await client.readFullFrame(FULL_FRAME_TIMEOUT_MS);
    client.requestUpdate(true);
    await drainUntilQuiet(client);
    await warmUp(client, player, opts.warmupMs);
    if (opts.focus) await opts.focus();
    const bpp = client.format.bitsPerPixel / 8;

    // Typing: key k goes out at t0 + k / rate; each waits in `pending` for its echo.
    const plan = opts.typing;
    const keys = plan
      ? typingKeys(plan.text, plan.lineLength, plan.terminal(), Math.ceil((opts.durationMs / 1000) * plan.charsPerSecond) + 1)
      : [];
    const pending: { sentAt: number; cell: Rect }[] = [];
    const latencies: number[] = [];
    let keysMissed = 0;

    const cpu0 = await cpuSample(server.pid, opts.ticksPerSecond);
    const t0 = performance.now();
    const end = t0 + opts.durationMs;
    player.play();
    if (plan && keys.length) {
      let k = 0;
      const interval = 1000 / plan.charsPerSecond;
      const typeNext = (): void => {
        const key = keys[k++]!;
        client.tap(key.keysym);
        pending.push({ sentAt: performance.now(), cell: key.cell });
        if (k < keys.length) typingTimer = setTimeout(typeNext, Math.max(0, t0 + k * interval - performance.now()));
      };
      typingTimer = setTimeout(typeNext, interval / 2);
    }

    let updates = 0;
    let bytes = 0;
    let rawEquivalentBytes = 0;
    const byEncoding: Record<string, EncodingShare> = {};
    const onUpdate = (u: SceneUpdate): void => {
      updates++;
      bytes += u.bytes;
      rawEquivalentBytes += 4;
      for (const r of u.rects) {
        if (isPixelEncoding(r.encoding)) rawEquivalentBytes += 12 + r.w * r.h * bpp;
        const share = (byEncoding[encodingName(r.encoding)] ??= { rects: 0, pixels: 0, bytes: 0 });
        share.rects++;
        share.pixels += r.w * r.h;
        share.bytes += r.bytes;
      }
      if (!pending.length) return;
      // The newest key whose echo cell this update touches, sent before the update began;
      // it and every older key (the tty echoes in order) are done.
      for (let i = pending.length - 1; i >= 0; i--) {
        const p = pending[i]!;
        if (p.sentAt >= u.startedAt) continue;
        if (u.rects.some((r) => isPixelEncoding(r.encoding) && intersects(r, p.cell))) {
          for (const done of pending.splice(0, i + 1)) latencies.push(u.completedAt - done.sentAt);
          break;
        }
      }
    };
    for (;;) {
      const left = end - performance.now();
      const u = left > 0 ? await client.nextUpdate(left, UPDATE_TIMEOUT_MS) : null;
      if (!u) break;
      client.requestUpdate(true);
      if (u.completedAt > end) break; // finished after the interval: not counted
      onUpdate(u);
      opts.onUpdate?.(u, u.completedAt - t0);
    }
    const elapsedMs = performance.now() - t0;
    const cpuMs = cpuMsBetween(cpu0, await cpuSample(server.pid, opts.ticksPerSecond));
    if (typingTimer) clearTimeout(typingTimer);
    const stats = await player.pause();
    let settled: ImageQuality | undefined;
    if (opts.quality) {
      await drainUntilQuiet(client, SETTLE_QUIET_MS, SETTLE_BOUND_MS);
      const truth = await opts.quality();
      settled = compareShown(client.decoder!.pixels, client.format, client.width, client.height, truth);
    }
    // Keys still waiting, except those sent in the last 200 ms (their echo may be on its way).
    keysMissed = pending.filter((p) => p.sentAt < end - 200).length;
    if (plan && latencies.length === 0) {
      throw new VncError(ErrorCode.Timeout, `${server.id}: no key echo seen in ${keys.length} keys (is the terminal focused?)`);
    }
    return {
      windowMs: opts.durationMs, elapsedMs, updates, bytes, rawEquivalentBytes, cpuMs, latencies, keysMissed, framesDrawn: stats.frames, framesLate: stats.late, byEncoding,
      ...(settled ? { settled } : {}),
    };
  } finally {
    if (typingTimer) clearTimeout(typingTimer);
    client.decoder?.dispose();
    client.close();
  }
}
