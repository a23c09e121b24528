/**
 * A private Xvfb for headless machines, optionally with a program (`--run CMD`) on it.
 *
 * - Xvfb picks a free display number itself (`-displayfd`), so nothing is hard-coded and two
 *   instances never race for the same number.
 * - Access is local and cookie-protected: `-nolisten tcp` and an `-auth` file with a random
 *   MIT-MAGIC-COOKIE-1 in a private 0700 directory (see xauthority.ts).
 * - `-noreset`: without it Xvfb resets when its last client leaves, which would wipe the
 *   session between two VNC clients' X connections.
 * - Both processes get their own process group, so a Ctrl-C in the terminal reaches only us and
 *   close() can stop them in order (program first, then Xvfb) and can also stop whatever the
 *   `sh -c` started.
 * - Every wait is bounded: start-up (`startTimeoutMs`) and shutdown (`stopGraceMs` after
 *   SIGTERM, then SIGKILL and a final bounded wait).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, VncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { MIT_MAGIC_COOKIE, writeRandomXauthority } from './xauthority.js';
import { probeXDisplay } from './x-display-probe.js';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface XvfbOptions {
  readonly width: number;
  readonly height: number;
  /** Shell command to start on the new display via `sh -c`, with DISPLAY and XAUTHORITY set. */
  readonly run?: string;
  readonly logger: Logger;
  /** Bound on Xvfb start-up until it accepts connections. Default 15 s. */
  readonly startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL on close(). Default 3 s. */
  readonly stopGraceMs?: number;
  /** Xvfb died without close() being called (crash, killed from outside). */
  readonly onXvfbExit?: (exit: ProcessExit & { readonly stderrTail: string }) => void;
  /** The `--run` program exited (on its own, not through close()). */
  readonly onProgramExit?: (exit: ProcessExit) => void;
  /** Executable to run; default `Xvfb` from PATH. */
  readonly xvfbPath?: string;
}

export interface PrivateXvfb {
  /** `:N`, as chosen by Xvfb. */
  readonly display: string;
  /** The cookie file; pass as XAUTHORITY to other X clients. */
  readonly xauthorityPath: string;
  /** DISPLAY and XAUTHORITY for child processes. */
  readonly env: { readonly DISPLAY: string; readonly XAUTHORITY: string };
  readonly xvfbPid: number;
  /** The `--run` shell's pid (also its process group id). */
  readonly programPid?: number;
  /**
   * The cookie in the shape of the `x11` package's `createClient({ auth })` option (data as a
   * latin1 string). The `x11` package otherwise reads `process.env.XAUTHORITY`, which this
   * launcher deliberately does not modify.
   */
  xAuth(): { name: string; data: string };
  /** Stop the program and Xvfb (bounded) and remove the cookie directory. Idempotent. */
  close(): Promise<void>;
}

const STDERR_TAIL_BYTES = 4096;
const DISPLAYFD_LINE_MAX = 32;

function installHint(): string {
  return 'Xvfb is not installed. Install the runtime dependencies with: scripts/install-deps.sh --runtime';
}

/** Resolves when the child has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<ProcessExit> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

/** Signal a whole process group we created; a group that is already gone is fine. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** SIGTERM the group, wait up to `graceMs`, then SIGKILL it and wait a bounded time more. */
async function stopGroup(child: ChildProcess, graceMs: number, log: Logger, what: string): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const done = exited(child);
  killGroup(pid, 'SIGTERM');
  if ((await Promise.race([done, delay(graceMs)])) === 'timeout') {
    log.warn(`${what} did not exit ${graceMs} ms after SIGTERM; sending SIGKILL`, { pid });
  }
  // Also reaches processes the leader left behind in its group (children of `sh -c`).
  killGroup(pid, 'SIGKILL');
  if ((await Promise.race([done, delay(2000)])) === 'timeout') {
    log.error(`${what} is still running after SIGKILL`, { pid });
  }
}

/** Read Xvfb's display number from the -displayfd pipe; rejects on exit/timeout. */
function readDisplayNumber(xvfb: ChildProcess, timeoutMs: number, stderrTail: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const pipe = xvfb.stdio[3] as NodeJS.ReadableStream | null;
    let text = '';
    const finish = (err: Error | undefined, n?: number): void => {
      clearTimeout(timer);
      pipe?.removeListener('data', onData);
      xvfb.removeListener('exit', onExit);
      xvfb.removeListener('error', onError);
      if (err) reject(err);
      else resolve(n!);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl !== -1) {
        const line = text.slice(0, nl).trim();
        if (/^\d{1,5}$/.test(line)) finish(undefined, Number(line));
        else finish(new VncError(ErrorCode.Desktop, `Xvfb reported a malformed display number: ${JSON.stringify(line)}`));
      } else if (text.length > DISPLAYFD_LINE_MAX) {
        finish(new VncError(ErrorCode.Desktop, 'Xvfb wrote garbage on the -displayfd pipe'));
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new VncError(ErrorCode.Desktop, `Xvfb exited during start-up (code ${code}, signal ${signal}): ${stderrTail()}`));
    const onError = (err: NodeJS.ErrnoException): void =>
      finish(err.code === 'ENOENT' ? new VncError(ErrorCode.Desktop, installHint(), { cause: err }) : new VncError(ErrorCode.Desktop, `cannot start Xvfb: ${err.message}`, { cause: err }));
    const timer = setTimeout(
      () => finish(new VncError(ErrorCode.Timeout, `Xvfb did not report a display within ${timeoutMs} ms: ${stderrTail()}`)),
      timeoutMs,
    );
    if (!pipe) return finish(new VncError(ErrorCode.Desktop, 'no -displayfd pipe to Xvfb'));
    pipe.on('data', onData);
    xvfb.once('exit', onExit);
    xvfb.once('error', onError);
  });
}

/** Poll until the display answers an X connection setup, within `deadline` (ms since epoch). */
async function waitUntilAnswering(display: string, deadline: number): Promise<void> {
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new VncError(ErrorCode.Timeout, `Xvfb ${display} did not accept connections in time`);
    if (await probeXDisplay(display, Math.min(1000, left))) return;
    await delay(Math.min(50, left));
  }
}

/** Start a private Xvfb (and the `run` program on it). Throws VncError(Desktop|Timeout). */
export async function startXvfb(options: XvfbOptions): Promise<PrivateXvfb> {
  const log = options.logger;
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const stopGraceMs = options.stopGraceMs ?? 3000;
  const deadline = Date.now() + startTimeoutMs;

  const dir = await mkdtemp(join(tmpdir(), 'vnc-runner-xvfb-'));
  const xauthorityPath = join(dir, 'Xauthority');
  let xvfb: ChildProcess | undefined;
  let program: ChildProcess | undefined;
  let closing = false;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closing = true;
    closed ??= (async () => {
      if (program) await stopGroup(program, stopGraceMs, log, 'the --run program');
      if (xvfb) await stopGroup(xvfb, stopGraceMs, log, 'Xvfb');
      await rm(dir, { recursive: true, force: true });
    })();
    return closed;
  };

  try {
    const cookie = await writeRandomXauthority(xauthorityPath);
    let stderr = '';
    const stderrTail = (): string => stderr.trim().split('\n').slice(-5).join(' | ') || '(no output)';
    xvfb = spawn(
      options.xvfbPath ?? 'Xvfb',
      ['-displayfd', '3', '-screen', '0', `${options.width}x${options.height}x24`, '-nolisten', 'tcp', '-noreset', '-auth', xauthorityPath],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true },
    );
    // A permanent listener: an 'error' after start-up must be logged, not crash the process.
    xvfb.on('error', (err) => log.warn('Xvfb process error', { error: err }));
    xvfb.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    const displayNumber = await readDisplayNumber(xvfb, Math.max(1, deadline - Date.now()), stderrTail);
    const display = `:${displayNumber}`;
    await waitUntilAnswering(display, deadline);
    log.info('private Xvfb started', { display, size: `${options.width}x${options.height}`, pid: xvfb.pid });

    xvfb.once('exit', (code, signal) => {
      if (closing) return;
      log.error('private Xvfb exited unexpectedly', { display, code, signal, stderr: stderrTail() });
      options.onXvfbExit?.({ code, signal, stderrTail: stderrTail() });
    });

    const env = Object.freeze({ DISPLAY: display, XAUTHORITY: xauthorityPath });
    if (options.run !== undefined) {
      // stdout of the program goes to our stderr: our stdout is reserved for lifecycle lines.
      program = spawn('sh', ['-c', options.run], {
        stdio: ['ignore', 2, 2],
        detached: true,
        env: { ...process.env, ...env },
      });
      const started = program;
      started.on('error', (err) => log.warn('--run program error', { error: err }));
      await new Promise<void>((resolve, reject) => {
        started.once('spawn', () => resolve());
        started.once('error', (err) => reject(new VncError(ErrorCode.Desktop, `cannot start --run program: ${err.message}`, { cause: err })));
      });
      log.info('started --run program', { display, pid: started.pid });
      started.once('exit', (code, signal) => {
        if (closing) return;
        log.info('--run program exited', { code, signal });
        options.onProgramExit?.({ code, signal });
      });
    }

    const cookieData = cookie.toString('latin1');
    return {
      display,
      xauthorityPath,
      env,
      xvfbPid: xvfb.pid!,
      ...(program?.pid === undefined ? {} : { programPid: program.pid }),
      xAuth: () => ({ name: MIT_MAGIC_COOKIE, data: cookieData }),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
