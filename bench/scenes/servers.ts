/**
 * The servers under comparison, each a separate process on the scene's display so that its
 * CPU time can be read from /proc the same way for all: vnc-runner's built CLI, x11vnc and
 * TigerVNC's x0vncserver (X0tigervnc). Third-party servers are optional (CI does not install
 * them): a missing binary is a skip. Each runs with its own defaults plus the flags needed to
 * serve one local, password-less benchmark client; `details` states them in the report.
 */
import { fileURLToPath } from 'node:url';
import { ErrorCode, VncError } from '../../core/errors.js';
import { freeLoopbackPort } from '../lib/ports.js';
import { hasCommand, sleep, toolVersion, type Child, type ResourceScope } from '../lib/processes.js';
import { SceneClient } from './scene-client.js';

export const SERVER_IDS = ['vnc-runner', 'x0vncserver', 'x11vnc'] as const;
export type ServerId = (typeof SERVER_IDS)[number];

export interface ServerContext {
  readonly display: string;
  /** DISPLAY and XAUTHORITY. */
  readonly env: NodeJS.ProcessEnv;
  readonly xauthority: string;
  readonly scope: ResourceScope;
}

/** A running server process. */
export interface RunningServer {
  readonly id: ServerId;
  readonly host: string;
  readonly port: number;
  /** The process whose CPU time is measured. */
  readonly pid: number;
  /** Version and flags. */
  readonly details: string;
  /** Stops it (bounded, idempotent). */
  stop(): Promise<void>;
}

/** Deadline for a server to serve its first handshake. */
const START_TIMEOUT_MS = 20_000;

/** Null when the server can run here, else why not. */
export function serverUnavailable(id: ServerId): string | null {
  if (id === 'x0vncserver') return hasCommand('X0tigervnc') ? null : 'not installed (Debian package tigervnc-scraping-server)';
  if (id === 'x11vnc') return hasCommand('x11vnc') ? null : 'not installed (Debian package x11vnc)';
  return null;
}

async function waitUntilServing(child: Child, port: number): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  let last: unknown = null;
  while (performance.now() < deadline) {
    if (child.exitInfo()) throw new VncError(ErrorCode.Desktop, `${child.name} exited during start-up (code ${child.exitInfo()!.code}): ${child.output().slice(-1200)}`);
    try {
      (await SceneClient.connect({ host: '127.0.0.1', port, timeoutMs: 2000 })).close();
      return;
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw new VncError(ErrorCode.Timeout, `${child.name} did not answer on port ${port} within ${START_TIMEOUT_MS} ms (${(last as Error)?.message ?? 'no attempt'})`);
}

/** vnc-runner's CLI as a user runs it, from this build (dist/cli/main.js). */
async function startVncRunner(ctx: ServerContext): Promise<RunningServer> {
  const main = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
  // BENCH_CPU_PROF=DIR: a developer's V8 CPU profile of the server (DEVELOPERS.md, Benchmarks).
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROF']}`] : [];
  const child = ctx.scope.spawn(process.execPath, [...profile, main, '--display', ctx.display, '--listen', '127.0.0.1:0', '--no-http', '--log-level', 'warn'], { env: ctx.env });
  try {
    const m = await child.waitForOutput(/VNC server on 127\.0\.0\.1:(\d+)/, START_TIMEOUT_MS);
    const port = Number(m[1]);
    await waitUntilServing(child, port);
    return { id: 'vnc-runner', host: '127.0.0.1', port, pid: child.pid, details: 'node dist/cli/main.js --display :N --listen 127.0.0.1:0 --no-http (defaults: 30 fps frame clock, MIT-SHM, DAMAGE, motion detection)', stop: () => child.kill() };
  } catch (err) {
    await child.kill();
    throw err;
  }
}

async function startX0vncserver(ctx: ServerContext): Promise<RunningServer> {
  const version = await toolVersion('X0tigervnc', ['-version'], /TigerVNC Server version [^\n,]+/, 'TigerVNC');
  const port = await freeLoopbackPort();
  const args = ['-display', ctx.display, '-rfbport', String(port), '-SecurityTypes', 'None', '-localhost', '-AlwaysShared'];
  const child = ctx.scope.spawn('X0tigervnc', args, { env: ctx.env });
  try {
    await waitUntilServing(child, port);
  } catch (err) {
    await child.kill();
    throw err;
  }
  return { id: 'x0vncserver', host: '127.0.0.1', port, pid: child.pid, details: `${version}: X0tigervnc ${args.join(' ').replace(String(port), 'PORT').replace(ctx.display, ':N')} (defaults: FrameRate 60, PollingCycle 30 ms, DAMAGE, MIT-SHM, CompareFB auto)`, stop: () => child.kill() };
}

async function startX11vnc(ctx: ServerContext): Promise<RunningServer> {
  const version = await toolVersion('x11vnc', ['-version'], /x11vnc: [^\s]+( lastmod: [^\n]+)?/, 'x11vnc');
  const port = await freeLoopbackPort();
  const args = ['-display', ctx.display, '-auth', ctx.xauthority, '-rfbport', String(port), '-localhost', '-forever', '-shared', '-nopw', '-quiet'];
  const child = ctx.scope.spawn('x11vnc', args, { env: ctx.env });
  try {
    await child.waitForOutput(/PORT=\d+/, START_TIMEOUT_MS);
    await waitUntilServing(child, port);
  } catch (err) {
    await child.kill();
    throw err;
  }
  return { id: 'x11vnc', host: '127.0.0.1', port, pid: child.pid, details: `${version}: x11vnc -display :N -auth FILE -rfbport PORT -localhost -forever -shared -nopw -quiet (defaults: XDAMAGE hints, -defer 20, -wait 20, no -ncache)`, stop: () => child.kill() };
}

/** Starts server `id` on the context's display. */
export function startServer(id: ServerId, ctx: ServerContext): Promise<RunningServer> {
  if (id === 'x0vncserver') return startX0vncserver(ctx);
  if (id === 'x11vnc') return startX11vnc(ctx);
  return startVncRunner(ctx);
}
