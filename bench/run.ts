#!/usr/bin/env node
/**
 * `npm run bench`: the benchmark's entry point. Starts a private 1920×1080×24 Xvfb, paints a
 * desktop scene, measures capture and encoding in-process, then measures each VNC server (ours
 * in-process, x0vncserver and x11vnc when installed) from the outside with the same client,
 * one at a time. Prints tables on stdout, progress on stderr, and writes JSON + SVG.
 *
 * Everything started here belongs to one ResourceScope, disposed on success, on error and on
 * SIGINT/SIGTERM; every wait is bounded.
 *
 * Exit codes: 0 done (targets missed or not: the table says so), 1 the run failed, 2 bad usage.
 */
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ErrorCode, VncError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { startXvfb } from '../cli/xvfb.js';
import { parseBenchArgs, USAGE, type BenchArgs } from './args.js';
import { createProgress, type Progress } from './lib/progress.js';
import { parseOrExitCode, runMain, runScoped, writeResults } from './lib/bench-main.js';
import { hasCommand, ResourceScope } from './lib/processes.js';
import { MetricCollector, RESULTS_SCHEMA, type BenchResults, type ServerInfo } from './lib/results.js';
import { SCENES, type DesktopScene } from './lib/scene.js';
import { formatMs } from './lib/stats.js';
import { Enc } from './lib/rect-framing.js';
import { measureCapture } from './measure/capture.js';
import { measureEncodings } from './measure/encode.js';
import { measureFirstFrame, measureServerInit } from './measure/connect.js';
import { measureInputLatency } from './measure/input-latency.js';
import { measureResponsiveness } from './measure/responsiveness.js';
import { renderChart, renderTextReport } from './report.js';
import type { RunningTarget, TargetContext, TargetFactory } from './targets/target.js';
import { vncRunnerTarget } from './targets/vnc-runner.js';
import { x0vncserverTarget, x11vncTarget } from './targets/external.js';

const WIDTH = 1920;
const HEIGHT = 1080;
const TARGETS: Readonly<Record<string, TargetFactory>> = { 'vnc-runner': vncRunnerTarget, x0vncserver: x0vncserverTarget, x11vnc: x11vncTarget };
/** Tools the benchmark itself needs (scripts/install-deps.sh installs them). */
const REQUIRED_TOOLS = ['Xvfb', 'xterm', 'xdotool'];

/** bench/results/ in the source tree (this file runs from dist/bench/). */
const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

/** Measures one server end to end; records into `out`. */
async function measureServer(
  id: string,
  target: RunningTarget,
  scene: DesktopScene,
  args: BenchArgs,
  out: MetricCollector,
  progress: Progress,
): Promise<void> {
  const ep = { host: target.host, port: target.port };
  const n = args.samples;
  const ours = id === 'vnc-runner';
  const frameMs = 1000 / args.framerate;
  const e2e = (metricId: string, label: string, samples: number[], target?: { stat: 'p50' | 'p95'; below: number }): void => {
    const m = out.add({ id: metricId, group: metricId.split('.')[0]!, label, unit: 'ms', server: id, ...(ours && target ? { target } : {}) }, samples);
    progress.step(`  ${id}: ${label}: p50 ${formatMs(m.summary.p50)} ms, p95 ${formatMs(m.summary.p95)} ms (n=${m.summary.n})`);
  };
  e2e('connect.serverinit', 'connect → ServerInit', await measureServerInit(ep, n.serverInit), { stat: 'p95', below: 10 });
  e2e('connect.firstframe.raw', 'connect → first full frame, Raw', await measureFirstFrame(ep, [Enc.Raw], n.firstFrameRaw), { stat: 'p95', below: 40 });
  e2e('connect.firstframe.zlib', 'connect → first full frame, Zlib', await measureFirstFrame(ep, [Enc.Zlib], n.firstFrameCompressed));
  e2e('connect.firstframe.tight', 'connect → first full frame, Tight', await measureFirstFrame(ep, [Enc.Tight], n.firstFrameCompressed));
  await scene.focusProbe();
  const lat = await measureInputLatency(ep, { samples: n.inputLatency, target: scene.probe.rect, jitterMs: frameMs });
  if (lat.missed) progress.note(`${id}: ${lat.missed} key(s) got no echo within the deadline (not counted as samples)`);
  if (lat.neverQuiet) progress.note(`${id}: the screen did not go quiet before ${lat.neverQuiet} key(s)`);
  e2e('input.key-to-echo', 'key → echo in xterm (update received)', lat.samples, { stat: 'p50', below: frameMs });
  if (!ours) return;
  // In-process only: the stall timer must run in the server's own event loop.
  progress.step(`  ${id}: responsiveness while another client pulls full 1080p ZRLE frames`);
  const busy = await measureResponsiveness(ep, { samples: n.inputLatency, target: scene.probe.rect, jitterMs: frameMs });
  e2e('loop.lag-under-load', `event-loop lag during full-frame encodes (${busy.framesLoaded} frames)`, busy.loopLagMs, { stat: 'p95', below: 20 });
  e2e('input.key-to-echo-under-load', 'key → echo while full frames are encoded', busy.keyLatencyMs, { stat: 'p50', below: frameMs });
}

async function runBench(args: BenchArgs, scope: ResourceScope, progress: Progress): Promise<BenchResults> {
  const startedAt = new Date();
  const t0 = performance.now();
  const loadStart = loadavg()[0]!;
  const missing = REQUIRED_TOOLS.filter((t) => !hasCommand(t));
  if (missing.length) {
    throw new VncError(ErrorCode.Config, `missing ${missing.join(', ')}; install the test dependencies with scripts/install-deps.sh`);
  }
  const build = SCENES[args.scene];
  if (!build) throw new VncError(ErrorCode.Config, `unknown scene "${args.scene}"; known: ${Object.keys(SCENES).join(', ')}`);

  progress.step(`starting Xvfb ${WIDTH}x${HEIGHT}x24 (${args.mode} mode)`);
  const xvfb = await startXvfb({ width: WIDTH, height: HEIGHT, logger: silentLogger });
  scope.adoptGroup(xvfb.xvfbPid);
  scope.defer('stop Xvfb', () => xvfb.close());
  // The x11 package reads the display and cookie from the environment.
  process.env.DISPLAY = xvfb.display;
  process.env.XAUTHORITY = xvfb.xauthorityPath;
  const env: NodeJS.ProcessEnv = { ...process.env, ...xvfb.env };

  progress.step(`painting the "${args.scene}" scene on ${xvfb.display}`);
  const scene = await build({ display: xvfb.display, env, scope });
  scope.defer('close scene', () => scene.close());
  if (!(await scene.settle(10_000))) progress.note('the scene kept changing for 10 s; capture figures may include changes');

  const metrics = new MetricCollector();
  progress.step('capture: MIT-SHM and GetImage grabs, tile diff, idle poll');
  const frame = await measureCapture(xvfb.display, args.samples, metrics);
  progress.step('encoding a full frame per encoding');
  await measureEncodings(frame, args.samples.encode, metrics, (label) => progress.step(`  encode: ${label}`));

  const servers: ServerInfo[] = [];
  const ctx: TargetContext = { display: xvfb.display, env, xauthority: xvfb.xauthorityPath, scope, framerate: args.framerate };
  for (const id of args.servers) {
    const factory = TARGETS[id]!;
    const reason = factory.unavailableReason();
    if (reason) {
      servers.push({ id, status: 'skipped', details: '', reason });
      progress.note(`${id} skipped: ${reason}`);
      continue;
    }
    progress.step(`${id}: starting`);
    let target: RunningTarget | null = null;
    try {
      target = await factory.start(ctx);
      progress.step(`${id}: listening on ${target.host}:${target.port} (${target.details})`);
      await scene.settle(3000);
      await measureServer(id, target, scene, args, metrics, progress);
      servers.push({ id, status: 'measured', details: target.details });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      servers.push({ id, status: 'failed', details: target?.details ?? '', reason: why });
      progress.note(`${id} failed: ${why}`);
      // Our own server failing is a failed run; a third-party one is reported and skipped.
      if (id === 'vnc-runner') throw err;
    } finally {
      await target?.stop();
    }
  }

  const cpu = cpus();
  const loadEnd = loadavg()[0]!;
  if (Math.max(loadStart, loadEnd) > cpu.length) {
    progress.note(
      `load average ${loadStart.toFixed(1)} → ${loadEnd.toFixed(1)} on ${cpu.length} CPUs: other processes competed for the cores, so tails (p95, max) include waiting for a CPU`,
    );
  }
  return {
    schema: RESULTS_SCHEMA,
    mode: args.mode,
    scene: args.scene,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - t0,
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      screen: `${WIDTH}x${HEIGHT}x24`,
      framerate: args.framerate,
      loadAverage: { start: loadStart, end: loadEnd },
    },
    servers,
    metrics: metrics.metrics,
    notes: progress.notes,
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseOrExitCode('bench', argv, parseBenchArgs, USAGE);
  if (typeof args === 'number') return args;
  const progress = createProgress({ quiet: args.quiet });
  return runScoped('bench', async (scope) => {
    const results = await runBench(args, scope, progress);
    const files = await writeResults(results, renderChart(results), args.jsonPath ?? `${DEFAULT_RESULTS_DIR}latest.json`, args.svgPath);
    process.stdout.write('\n' + renderTextReport(results));
    process.stdout.write(`\nResults: ${files.json}\nChart:   ${files.svg}\n`);
    return 0;
  });
}

runMain('bench', main);
