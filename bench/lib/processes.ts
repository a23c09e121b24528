/**
 * Child processes and cleanup for the benchmark. Every process runs as the leader of its own
 * process group (so a kill also reaches what it forked, e.g. xterm's shell), is registered in a
 * {@link ResourceScope}, and is killed when the scope is disposed — after a normal run, after an
 * error, and on Ctrl-C. A synchronous `exit` hook SIGKILLs any group still alive if the process
 * ends without disposing (an uncaught exception, `process.exit` from elsewhere).
 *
 * Every wait here is bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ErrorCode, VncError } from '../../core/errors.js';

/** How much of a child's output is kept for error messages and readiness checks. */
const OUTPUT_TAIL_CHARS = 32 * 1024;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A tracked child process (leader of its own process group). */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves once the process has exited (never rejects; a spawn failure counts as an exit). */
  readonly exited: Promise<ExitInfo>;
  /** Exit status, or null while running. */
  exitInfo(): ExitInfo | null;
  /** Tail of stdout+stderr (when piped). */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects on exit or timeout. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** SIGTERM to the group, SIGKILL after `graceMs`; bounded; idempotent. */
  kill(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** Pipe stdout/stderr into the output tail (default true); false sends them to /dev/null. */
  captureOutput?: boolean;
}

/** Rejects with a VNC_ERR_TIMEOUT VncError when `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VncError(ErrorCode.Timeout, `timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Is an executable with this name on PATH? */
export function hasCommand(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * Owns child processes and cleanup steps. `dispose()` runs the steps in reverse order of
 * registration, each bounded, and never throws (failures are returned as messages: a cleanup
 * that fails must not hide the error that caused it).
 */
export class ResourceScope {
  private readonly steps: { label: string; fn: () => unknown }[] = [];
  private readonly groups = new Set<number>();
  private disposing: Promise<string[]> | null = null;
  private readonly onExit = (): void => {
    for (const pid of this.groups) killGroup(pid, 'SIGKILL');
  };

  constructor(private readonly stepTimeoutMs = 10_000) {
    process.on('exit', this.onExit);
  }

  get disposed(): boolean {
    return this.disposing !== null;
  }

  /** Registers a cleanup step. */
  defer(label: string, fn: () => unknown): void {
    if (this.disposing) throw new VncError(ErrorCode.Config, `scope disposed; cannot register "${label}"`);
    this.steps.push({ label, fn });
  }

  /** Also SIGKILL this process group on exit (for processes spawned elsewhere, e.g. Xvfb). */
  adoptGroup(pid: number): void {
    this.groups.add(pid);
  }

  /** Spawns `cmd` as a new process group leader; killed on dispose. */
  spawn(cmd: string, args: readonly string[], options: SpawnOptions = {}): Child {
    if (this.disposing) throw new VncError(ErrorCode.Config, `scope disposed; cannot spawn ${cmd}`);
    const capture = options.captureOutput !== false;
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', capture ? 'pipe' : 'ignore', capture ? 'pipe' : 'ignore'],
      env: options.env ?? process.env,
    });
    const name = cmd.split('/').pop() ?? cmd;
    let tail = '';
    const watchers = new Set<() => void>();
    const notify = (): void => {
      for (const w of [...watchers]) w();
    };
    const onData = (c: Buffer): void => {
      tail = (tail + c.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
      notify();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    let info: ExitInfo | null = null;
    let spawnError: Error | null = null;
    const exited = new Promise<ExitInfo>((resolve) => {
      child.once('error', (e) => {
        spawnError = e;
        info ??= { code: null, signal: null };
        resolve(info);
      });
      child.once('exit', (code, signal) => {
        info = { code, signal };
        resolve(info);
      });
    });
    void exited.then(notify);
    const pid = child.pid ?? -1;
    if (pid > 0) {
      this.groups.add(pid);
      void exited.then(() => {
        // The leader is gone but forked members may remain: reap them, then forget the group.
        killGroup(pid, 'SIGKILL');
        this.groups.delete(pid);
      });
    }
    const output = (): string => (spawnError ? `spawn error: ${spawnError.message}\n` : '') + tail;
    const handle: Child = {
      name,
      pid,
      process: child,
      exited,
      exitInfo: () => info,
      output,
      waitForOutput(pattern, timeoutMs) {
        return new Promise((resolve, reject) => {
          const finish = (f: () => void): void => {
            clearTimeout(timer);
            watchers.delete(check);
            f();
          };
          const check = (): void => {
            const m = tail.match(pattern);
            if (m) return finish(() => resolve(m));
            if (info) {
              finish(() => reject(new VncError(ErrorCode.Desktop, `${name} exited before printing ${pattern}: ${output().slice(-1500)}`)));
            }
          };
          const timer = setTimeout(
            () => finish(() => reject(new VncError(ErrorCode.Timeout, `${name} did not print ${pattern} within ${timeoutMs} ms: ${output().slice(-1500)}`))),
            timeoutMs,
          );
          watchers.add(check);
          check();
        });
      },
      async kill(graceMs = 2000) {
        if (pid <= 0) return;
        if (!info) {
          killGroup(pid, 'SIGTERM');
          const timer = sleep(graceMs).then(() => 'timeout' as const);
          if ((await Promise.race([exited, timer])) === 'timeout') {
            killGroup(pid, 'SIGKILL');
            await withTimeout(exited, 5000, `${name}[${pid}] to die after SIGKILL`).catch(() => {});
          }
        }
        killGroup(pid, 'SIGKILL');
      },
    };
    this.defer(`kill ${name}[${pid}]`, () => handle.kill());
    return handle;
  }

  /** Runs every cleanup step (reverse order, each bounded) and kills what is left. Idempotent. */
  dispose(): Promise<string[]> {
    this.disposing ??= (async () => {
      const failures: string[] = [];
      while (this.steps.length) {
        const { label, fn } = this.steps.pop()!;
        try {
          await withTimeout(Promise.resolve().then(fn), this.stepTimeoutMs, `cleanup "${label}"`);
        } catch (e) {
          failures.push(`${label}: ${(e as Error).message}`);
        }
      }
      this.onExit();
      process.off('exit', this.onExit);
      return failures;
    })();
    return this.disposing;
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a short command to completion (xdotool, xsetroot) with a hard deadline: the whole group
 * is SIGKILLed when it passes and the promise rejects with VNC_ERR_TIMEOUT. Output is bounded.
 */
export function runTool(cmd: string, args: readonly string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    }, options.timeoutMs);
    child.stdout!.on('data', (c: Buffer) => (stdout = (stdout + c.toString('utf8')).slice(-OUTPUT_TAIL_CHARS)));
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-OUTPUT_TAIL_CHARS)));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new VncError(ErrorCode.Desktop, `cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (child.pid) killGroup(child.pid, 'SIGKILL');
      if (timedOut) reject(new VncError(ErrorCode.Timeout, `${cmd} ${args.join(' ')} did not finish within ${options.timeoutMs} ms`));
      else resolve({ code, stdout, stderr });
    });
  });
}

/** {@link runTool} that rejects on a non-zero exit. */
export async function runToolOk(cmd: string, args: readonly string[], options: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  const r = await runTool(cmd, args, options);
  if (r.code !== 0) throw new VncError(ErrorCode.Desktop, `${cmd} ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim().slice(-1000)}`);
  return r;
}

/** The first match of `pattern` in what `cmd args` prints (bounded to 5 s), or `fallback`. */
export async function toolVersion(cmd: string, args: string[], pattern: RegExp, fallback: string): Promise<string> {
  try {
    const r = await runTool(cmd, args, { timeoutMs: 5000 });
    return pattern.exec(r.stdout + r.stderr)?.[0].trim() ?? fallback;
  } catch {
    return fallback;
  }
}
