/**
 * The scene benchmark's result model (`bench/results/scenes-latest.json`, schema
 * `vnc-runner-scene-bench/1`) and the issue-3 targets, evaluated on vnc-runner's cells against
 * the peers measured in the same run. Pure: the unit tests pin the target rules down.
 */
import { percentile } from '../lib/stats.js';
import type { EncodingId } from './encodings.js';
import type { CellMeasurement, EncodingShare } from './measure-cell.js';
import type { SceneName } from './scene-catalog.js';
import type { ServerId } from './servers.js';

export const SCENE_RESULTS_SCHEMA = 'vnc-runner-scene-bench/1';
/** 1 MB = 10^6 bytes in every figure and target. */
export const MB = 1_000_000;

export interface TargetCheck {
  /** Stable id, e.g. `bytes.max`, `bytes.vs-best-peer`, `cpu.vs-x0vncserver`, `latency.p95`. */
  readonly id: string;
  /** What was compared, for the table: "≤ 0.05 MB/s". */
  readonly label: string;
  readonly value: number;
  readonly limit: number;
  readonly met: boolean;
}

export interface CellResult {
  readonly scene: SceneName;
  readonly server: ServerId;
  readonly encoding: EncodingId;
  readonly lossy: boolean;
  readonly seconds: number;
  readonly updates: number;
  readonly bytes: number;
  readonly bytesPerSecond: number;
  /** 0 when there was no update. */
  readonly bytesPerUpdate: number;
  /** Wire bytes ÷ the same rectangles as Raw without CopyRect. */
  readonly ratioToRaw: number;
  readonly updatesPerSecond: number;
  /** Server CPU, percent of one core. */
  readonly cpuPercent: number;
  /** Server CPU ms per update (capture + encode + send); 0 when there was no update. */
  readonly cpuMsPerUpdate: number;
  readonly latencyMs?: { readonly n: number; readonly p50: number; readonly p95: number; readonly missed: number };
  readonly framesDrawn: number;
  readonly framesLate: number;
  /** Rectangles, pixels and bytes per rectangle encoding (where the bytes went). */
  readonly byEncoding: Readonly<Record<string, EncodingShare>>;
  /**
   * Lossy cells: what the viewer shows once the scene has stopped and the server has gone quiet,
   * against the screen (PSNR over R, G, B; 100 dB = identical, i.e. refreshed losslessly).
   */
  readonly settledQuality?: { readonly psnrDb: number; readonly identical: boolean; readonly differingPixels: number };
  /** vnc-runner cells only. */
  readonly targets: readonly TargetCheck[];
}

export interface SceneInfo {
  readonly name: SceneName;
  readonly description: string;
  readonly fps: number;
}

export interface ServerRecord {
  readonly id: ServerId;
  readonly status: 'measured' | 'skipped' | 'failed';
  readonly details: string;
  readonly reason?: string;
}

export interface SceneBenchResults {
  readonly schema: typeof SCENE_RESULTS_SCHEMA;
  readonly mode: 'full' | 'short';
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: {
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly screen: string;
    readonly seed: number;
    readonly compressLevel: number;
    /** Seconds of each scene played before every cell's measurement (`--warmup`). */
    readonly warmupSeconds: number;
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  readonly scenes: readonly SceneInfo[];
  readonly servers: readonly ServerRecord[];
  readonly cells: readonly CellResult[];
  readonly notes: readonly string[];
}

/** Turns one measurement into a cell (targets are added later, once the peers are known). */
export function toCell(scene: SceneName, server: ServerId, encoding: EncodingId, lossy: boolean, m: CellMeasurement): CellResult {
  const seconds = m.windowMs / 1000;
  const lat = m.latencies.length
    ? { n: m.latencies.length, p50: percentile(m.latencies, 50), p95: percentile(m.latencies, 95), missed: m.keysMissed }
    : undefined;
  return {
    scene,
    server,
    encoding,
    lossy,
    seconds,
    updates: m.updates,
    bytes: m.bytes,
    bytesPerSecond: m.bytes / seconds,
    bytesPerUpdate: m.updates ? m.bytes / m.updates : 0,
    ratioToRaw: m.rawEquivalentBytes ? m.bytes / m.rawEquivalentBytes : 0,
    updatesPerSecond: m.updates / seconds,
    cpuPercent: (100 * m.cpuMs) / m.elapsedMs,
    cpuMsPerUpdate: m.updates ? m.cpuMs / m.updates : 0,
    ...(lat ? { latencyMs: lat } : {}),
    framesDrawn: m.framesDrawn,
    framesLate: m.framesLate,
    byEncoding: m.byEncoding,
    ...(m.settled ? { settledQuality: m.settled } : {}),
    targets: [],
  };
}

/** Absolute lossless bandwidth targets (MB/s), "Xvnc-class". */
const LOSSLESS_MAX_MBPS: Partial<Record<SceneName, number>> = { terminal: 0.05, 'window-drag': 0.1 };
/** Lossless bandwidth relative to the best peer: web scroll ≤ half, slideshow and video ≤ equal. */
const LOSSLESS_VS_PEER: Partial<Record<SceneName, number>> = { 'web-scroll': 0.5, slideshow: 1, video: 1 };
export const LATENCY_P50_MS = 10;
export const LATENCY_P95_MS = 20;

/** A rate in MB/s for labels: kB/s below 0.01 MB/s, so tiny rates do not print as 0.000. */
function rate(mbps: number): string {
  return mbps >= 0.01 ? `${mbps.toFixed(3)} MB/s` : `${(mbps * 1000).toFixed(2)} kB/s`;
}

function check(id: string, label: string, value: number, limit: number): TargetCheck {
  return { id, label, value, limit, met: value <= limit };
}

/**
 * The issue-3 targets of one vnc-runner cell, given every cell of the run:
 * - lossless: terminal ≤ 0.05 MB/s, window drag ≤ 0.1 MB/s; web scroll ≤ ½ and slideshow and
 *   video ≤ 1× the best (lowest) bytes/s of any peer on that scene with the same encoding, or
 *   with any lossless encoding when no peer was measured with ours (Zlib, TightPNG);
 * - lossy (JPEG q6): ≤ the best peer's JPEG q6 bytes/s on that scene, and a settled picture at
 *   least as good as that peer's (PSNR against the screen once the scene has stopped);
 * - CPU ≤ x0vncserver's on the same scene and encoding;
 * - input latency (typing) p50 ≤ 10 ms, p95 ≤ 20 ms.
 * Raw is a baseline and has only the CPU and latency targets. A comparison whose peer was not
 * measured is left out (not counted as met).
 */
export function evaluateTargets(cell: CellResult, all: readonly CellResult[]): TargetCheck[] {
  if (cell.server !== 'vnc-runner') return [];
  const out: TargetCheck[] = [];
  const peers = all.filter((c) => c.scene === cell.scene && c.server !== 'vnc-runner' && c.updates > 0);
  if (cell.encoding !== 'raw') {
    const max = LOSSLESS_MAX_MBPS[cell.scene];
    if (!cell.lossy && max !== undefined) out.push(check('bytes.max', `≤ ${max} MB/s`, cell.bytesPerSecond / MB, max));
    const factor = LOSSLESS_VS_PEER[cell.scene];
    // Against the peers' same encoding where they were measured with it (what a client that
    // asks for that encoding gets from them), else against their best lossless encoding.
    const lossless = peers.filter((c) => !c.lossy && c.encoding !== 'raw');
    const same = lossless.filter((c) => c.encoding === cell.encoding);
    const pool = same.length ? same : lossless;
    if (!cell.lossy && factor !== undefined && pool.length) {
      const best = Math.min(...pool.map((c) => c.bytesPerSecond));
      const what = same.length ? `best peer ${cell.encoding}` : 'best peer lossless';
      out.push(check('bytes.vs-best-peer', `≤ ${factor === 1 ? '' : factor + '× '}${what} (${rate(best / MB)})`, cell.bytesPerSecond / MB, (factor * best) / MB));
    }
    const lossy = peers.filter((c) => c.lossy);
    if (cell.lossy && lossy.length) {
      const bestPeer = lossy.reduce((a, c) => (c.bytesPerSecond < a.bytesPerSecond ? c : a));
      const best = bestPeer.bytesPerSecond;
      out.push(check('bytes.vs-best-peer-lossy', `≤ best peer JPEG q6 (${rate(best / MB)})`, cell.bytesPerSecond / MB, best / MB));
      const ours = cell.settledQuality;
      const theirs = bestPeer.settledQuality;
      if (ours && theirs) {
        const db = (q: { psnrDb: number; identical: boolean }): string => (q.identical ? 'identical' : `${q.psnrDb.toFixed(1)} dB`);
        out.push({
          id: 'quality.vs-best-peer-lossy',
          label: `settled picture ≥ that peer's (${bestPeer.server}: ${db(theirs)})`,
          value: ours.psnrDb,
          limit: theirs.psnrDb,
          met: ours.psnrDb >= theirs.psnrDb,
        });
      }
    }
  }
  const x0 = peers.find((c) => c.server === 'x0vncserver' && c.encoding === cell.encoding);
  if (x0) out.push(check('cpu.vs-x0vncserver', `CPU ≤ x0vncserver (${x0.cpuPercent.toFixed(1)} %)`, cell.cpuPercent, x0.cpuPercent));
  if (cell.latencyMs) {
    out.push(check('latency.p50', `p50 ≤ ${LATENCY_P50_MS} ms`, cell.latencyMs.p50, LATENCY_P50_MS));
    out.push(check('latency.p95', `p95 ≤ ${LATENCY_P95_MS} ms`, cell.latencyMs.p95, LATENCY_P95_MS));
  }
  return out;
}

/** Every cell with its targets evaluated against the others. */
export function withTargets(cells: readonly CellResult[]): CellResult[] {
  return cells.map((c) => ({ ...c, targets: evaluateTargets(c, cells) }));
}
