#!/usr/bin/env node
/**
 * The issue-3 scene benchmark: `node dist/bench/scene-bench.js [--short] [--peers] …`.
 *
 * Starts a private 1920×1080×24 Xvfb, and for each scene: builds it (scenes/scene-catalog.ts),
 * then for each server (vnc-runner's CLI, and x0vncserver / x11vnc when installed, each a
 * separate process) and each encoding, resets the scene, connects one client and measures while
 * the scene plays (scenes/measure-cell.ts). Prints a table on stdout and progress on stderr, and
 * writes JSON + SVG (bench/results/scenes-latest.*).
 *
 * Everything started belongs to one ResourceScope, disposed on success, error and SIGINT.
 * Exit codes: 0 done (missed targets are in the table), 1 the run failed or a vnc-runner cell
 * failed, 2 bad usage.
 */
import { appendFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ErrorCode, VncError } from '../core/errors.js';
import { silentLogger } from '../core/log.js';
import { startXvfb } from '../cli/xvfb.js';
import { createProgress, type Progress } from './lib/progress.js';
import { parseOrExitCode, runMain, runScoped, writeResults } from './lib/bench-main.js';
import { hasCommand, ResourceScope } from './lib/processes.js';
import { openX11 } from '../core/x11-connection.js';
import { createPixelBuffer, type PixelBuffer } from '../core/pixel-buffer.js';
import { X11FrameGrabber } from '../capture/x11-frame-grabber.js';
import { formatBytes } from './lib/stats.js';
import { parseSceneBenchArgs, planCells, SCENE_BENCH_USAGE, type PlannedCell, type SceneBenchArgs } from './scenes/args.js';
import { renderSceneChart } from './scenes/chart.js';
import { clockTicksPerSecond } from './scenes/cpu.js';
import { encodingConfig } from './scenes/encodings.js';
import { measureCell } from './scenes/measure-cell.js';
import type { SceneUpdate } from './scenes/scene-client.js';
import { ScenePlayer } from './scenes/player.js';
import { renderSceneTable } from './scenes/report.js';
import { MB, SCENE_RESULTS_SCHEMA, toCell, withTargets, type CellResult, type SceneBenchResults, type SceneInfo, type ServerRecord } from './scenes/results.js';
import { createScene, type SceneName } from './scenes/scene-catalog.js';
import { serverUnavailable, startServer, type RunningServer, type ServerContext, type ServerId } from './scenes/servers.js';
import { XCanvas } from './scenes/x-canvas.js';

const WIDTH = 1920;
const HEIGHT = 1080;
const REQUIRED_TOOLS = ['Xvfb', 'xterm', 'xdotool'];
const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));

interface RunState {
  readonly cells: CellResult[];
  readonly servers: Map<ServerId, ServerRecord>;
  readonly scenes: SceneInfo[];
  oursFailed: number;
}

/** The truth for the quality comparison: the root window as the X server has it (BGRX). */
async function screenGrabber(display: string, scope: ResourceScope): Promise<() => Promise<PixelBuffer>> {
  const conn = await openX11({ display, shm: true });
  scope.defer('close the screen grabber', () => conn.close());
  const grabber = await X11FrameGrabber.create(conn);
  scope.defer('release the grabber', () => grabber.close());
  const frame = createPixelBuffer(conn.width, conn.height);
  return async () => {
    await grabber.grab(frame);
    return frame;
  };
}

/** `--trace`: one JSON line per update (synchronous appends keep lines whole and ordered). */
function traceWriter(path: string, scene: string, server: string, encoding: string): (u: SceneUpdate, atMs: number) => void {
  return (u, atMs) => {
    const rects = u.rects.map((r) => [r.x, r.y, r.w, r.h, r.encoding, r.bytes]);
    appendFileSync(path, JSON.stringify({ scene, server, encoding, t: Math.round(atMs), bytes: u.bytes, rects }) + '\n');
  };
}

/** Measures every planned cell of one scene. */
async function runScene(
  name: SceneName,
  plan: readonly PlannedCell[],
  counter: { done: number; total: number },
  ctx: ServerContext,
  args: SceneBenchArgs,
  ticks: number,
  state: RunState,
  progress: Progress,
  grabScreen: () => Promise<PixelBuffer>,
): Promise<void> {
  const scene = createScene(name, args.seed);
  state.scenes.push({ name, description: scene.description, fps: scene.fps });
  progress.step(`scene ${name}: ${scene.description}`);
  const canvas = await XCanvas.open({ display: ctx.display, env: ctx.env, scope: ctx.scope });
  try {
    await scene.setup(canvas);
    await canvas.sync();
    const player = new ScenePlayer(scene, canvas);
    const typing = scene.typing;
    const focus = typing ? () => canvas.focus(typing.terminal().window) : undefined;
    for (const serverId of [...new Set(plan.map((c) => c.server))]) {
      const cells = plan.filter((c) => c.server === serverId);
      let server: RunningServer | null = null;
      try {
        server = await startServer(serverId, ctx);
        if (!state.servers.has(serverId)) state.servers.set(serverId, { id: serverId, status: 'measured', details: server.details });
        for (const cell of cells) {
          counter.done++;
          const encoding = encodingConfig(cell.encoding, args.compress);
          const tag = `(${counter.done}/${counter.total}) ${name} · ${serverId} · ${cell.encoding}`;
          try {
            const m = await measureCell({
              server,
              player,
              encodings: encoding.list,
              durationMs: cell.seconds * 1000,
              warmupMs: args.warmupSeconds * 1000,
              ticksPerSecond: ticks,
              ...(typing ? { typing, focus: focus! } : {}),
              ...(args.tracePath ? { onUpdate: traceWriter(args.tracePath, name, serverId, cell.encoding) } : {}),
              ...(encoding.lossy || args.verifyLossless ? { quality: grabScreen } : {}),
            });
            const r = toCell(name, serverId, cell.encoding, encoding.lossy, m);
            state.cells.push(r);
            const lat = r.latencyMs ? `, key→echo p50 ${r.latencyMs.p50.toFixed(1)} / p95 ${r.latencyMs.p95.toFixed(1)} ms` : '';
            progress.step(
              `${tag}: ${(r.bytesPerSecond / MB).toFixed(3)} MB/s, ${formatBytes(r.bytesPerUpdate)}/update, ${r.updatesPerSecond.toFixed(1)} upd/s, CPU ${r.cpuPercent.toFixed(1)} %${lat}`,
            );
            if (m.framesLate > m.framesDrawn / 10) progress.note(`${tag}: ${m.framesLate} of ${m.framesDrawn} scene frames were drawn late (machine overloaded)`);
            if (m.keysMissed) progress.note(`${tag}: ${m.keysMissed} key(s) without a visible echo`);
          } catch (err) {
            const why = err instanceof Error ? err.message : String(err);
            progress.note(`${tag} failed: ${why}`);
            if (serverId === 'vnc-runner') state.oursFailed++;
            // The server may be dead or wedged after a failure: the next cell gets a fresh one.
            await server.stop();
            server = await startServer(serverId, ctx);
          }
        }
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        progress.note(`${serverId} on scene ${name} failed: ${why}`);
        if (!state.servers.has(serverId)) state.servers.set(serverId, { id: serverId, status: 'failed', details: '', reason: why });
        if (serverId === 'vnc-runner') state.oursFailed++;
      } finally {
        await server?.stop();
      }
    }
  } finally {
    await canvas.close();
  }
}

async function runSceneBench(args: SceneBenchArgs, scope: ResourceScope, progress: Progress): Promise<{ results: SceneBenchResults; oursFailed: number }> {
  const startedAt = new Date();
  const t0 = performance.now();
  const loadStart = loadavg()[0]!;
  const missing = REQUIRED_TOOLS.filter((t) => !hasCommand(t));
  if (missing.length) throw new VncError(ErrorCode.Config, `missing ${missing.join(', ')}; install the test dependencies with scripts/install-deps.sh`);

  const state: RunState = { cells: [], servers: new Map(), scenes: [], oursFailed: 0 };
  const runnable: ServerId[] = [];
  for (const id of args.servers) {
    const why = serverUnavailable(id);
    if (why) {
      state.servers.set(id, { id, status: 'skipped', details: '', reason: why });
      progress.note(`${id} skipped: ${why}`);
    } else runnable.push(id);
  }
  const plan = planCells(args, runnable);
  const planned = plan.reduce((s, c) => s + c.seconds, 0);
  progress.step(`${plan.length} cells, ${Math.round(planned)} s of measurement (${args.mode} mode); starting Xvfb ${WIDTH}x${HEIGHT}x24`);

  const xvfb = await startXvfb({ width: WIDTH, height: HEIGHT, logger: silentLogger });
  scope.adoptGroup(xvfb.xvfbPid);
  scope.defer('stop Xvfb', () => xvfb.close());
  // The x11 package reads the display and cookie from the environment.
  process.env.DISPLAY = xvfb.display;
  process.env.XAUTHORITY = xvfb.xauthorityPath;
  const env: NodeJS.ProcessEnv = { ...process.env, ...xvfb.env };
  const ctx: ServerContext = { display: xvfb.display, env, xauthority: xvfb.xauthorityPath, scope };
  const ticks = await clockTicksPerSecond();
  const counter = { done: 0, total: plan.length };
  const grabScreen = await screenGrabber(xvfb.display, scope);
  for (const name of args.scenes) {
    await runScene(name, plan.filter((c) => c.scene === name), counter, ctx, args, ticks, state, progress, grabScreen);
  }

  const cpu = cpus();
  const loadEnd = loadavg()[0]!;
  if (Math.max(loadStart, loadEnd) > cpu.length) {
    progress.note(`load average ${loadStart.toFixed(1)} → ${loadEnd.toFixed(1)} on ${cpu.length} CPUs: other processes competed for the cores`);
  }
  if (state.cells.some((c) => c.lossy)) {
    progress.note(
      'lossy cells: quality = the viewer\'s picture after the scene stopped and the server went quiet (settled PSNR); ' +
        'pictures on the way (JPEG before a lossless refresh) are not scored',
    );
  }
  const results: SceneBenchResults = {
    schema: SCENE_RESULTS_SCHEMA,
    mode: args.mode,
    startedAt: startedAt.toISOString(),
    durationMs: performance.now() - t0,
    environment: {
      node: process.version,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model.trim() ?? 'unknown',
      screen: `${WIDTH}x${HEIGHT}x24`,
      seed: args.seed,
      compressLevel: args.compress,
      warmupSeconds: args.warmupSeconds,
      loadAverage: { start: loadStart, end: loadEnd },
    },
    scenes: state.scenes,
    servers: [...state.servers.values()],
    cells: withTargets(state.cells),
    notes: [...progress.notes],
  };
  return { results, oursFailed: state.oursFailed };
}

export async function main(argv: readonly string[]): Promise<number> {
  const args = parseOrExitCode('scene-bench', argv, parseSceneBenchArgs, SCENE_BENCH_USAGE);
  if (typeof args === 'number') return args;
  const progress = createProgress({ quiet: args.quiet });
  return runScoped('scene-bench', async (scope) => {
    const { results, oursFailed } = await runSceneBench(args, scope, progress);
    const files = await writeResults(results, renderSceneChart(results), args.jsonPath ?? `${DEFAULT_RESULTS_DIR}scenes-latest.json`, args.svgPath ?? undefined);
    process.stdout.write('\n' + renderSceneTable(results));
    process.stdout.write(`\nResults: ${files.json}\nChart:   ${files.svg}\n`);
    if (oursFailed) process.stderr.write(`scene-bench: ${oursFailed} vnc-runner cell(s) failed (see the notes)\n`);
    return oursFailed ? 1 : 0;
  });
}

runMain('scene-bench', main);
