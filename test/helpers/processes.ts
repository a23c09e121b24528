/**
 * Child processes for integration tests: every process runs in its own process group, is
 * tracked by a {@link ProcessScope}, and is killed (group-wide: SIGTERM, then SIGKILL) when the
 * scope is disposed, so a failing or timed-out test leaves no Xvfb, viewer or xclip behind.
 * Every wait in this file has a timeout.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { ErrorCode, VncError } from '../../core/errors.js';

/** How much of a child's stdout/stderr is kept for diagnostics (the tail). */
const OUTPUT_TAIL_BYTES = 64 * 1024;

/** Bounded tail of a byte stream, for error messages and readiness checks. */
class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > OUTPUT_TAIL_BYTES && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A tracked child process that leads its own process group. */
export interface ManagedProcess {
  /** Short name for messages (the command's basename). */
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  /** The exit status once exited, else `null`. */
  exitInfo(): ExitInfo | null;
  /** Tail of what the process wrote to stdout and stderr (when those were piped). */
  output(): string;
  /** Waits until the captured output matches, the process exits, or the timeout passes. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Kills the whole process group: SIGTERM, then SIGKILL after `graceMs`. Idempotent. */
  kill(graceMs?: number): Promise<void>;
}

export interface SpawnManagedOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Defaults to `['ignore', 'pipe', 'pipe']`. Extra entries (fd 3+) are allowed. */
  stdio?: SpawnOptions['stdio'];
}

/**
 * Owns processes and cleanup callbacks. `dispose()` runs the callbacks and kills the processes
 * in reverse order of registration. A synchronous `process.on('exit')` hook SIGKILLs whatever
 * is still alive if the test runner exits without disposing (e.g. a crashed worker).
 */
export class ProcessScope {
  private readonly cleanups: Array<{ label: string; fn: () => unknown }> = [];
  private readonly live = new Set<ManagedProcess>();
  private disposed = false;
  private watchdog: ChildProcess | null = null;
  private readonly onExit = (): void => {
    for (const p of this.live) killGroupSync(p.pid, 'SIGKILL');
  };

  constructor() {
    process.on('exit', this.onExit);
  }

  /** Spawns `cmd` as the leader of a new process group and tracks it. */
  spawn(cmd: string, args: readonly string[], options: SpawnManagedOptions = {}): ManagedProcess {
    if (this.disposed) throw new VncError(ErrorCode.Config, `scope already disposed; cannot spawn ${cmd}`);
    const proc = spawnManaged(cmd, args, options);
    if (proc.pid > 0) {
      this.live.add(proc);
      this.tellWatchdog(`+ ${proc.pid}`);
      void proc.exited.then(() => {
        this.live.delete(proc);
        this.tellWatchdog(`- ${proc.pid}`);
      });
    }
    this.defer(`kill ${proc.name}[${proc.pid}]`, () => proc.kill());
    return proc;
  }

  /**
   * A detached bash that holds the list of our process groups and SIGKILLs them when its stdin
   * reaches EOF without a `clear`, i.e. when this process died without disposing the scope
   * (a test-runner worker killed on timeout gets no 'exit' event).
   */
  private tellWatchdog(line: string): void {
    if (!this.watchdog) {
      if (line.startsWith('-')) return;
      const script =
        'g=" "; while read -r op p; do case "$op" in +) g="$g$p ";; -) g="${g/ $p / }";; clear) exit 0;; esac; done; ' +
        'for p in $g; do kill -KILL -- "-$p" 2>/dev/null; done';
      const dog = spawn('bash', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
      dog.on('error', () => {}); // without bash the 'exit' hook still covers normal exits
      dog.stdin!.on('error', () => {});
      dog.unref();
      (dog.stdin as unknown as { unref?: () => void }).unref?.();
      this.watchdog = dog;
    }
    this.watchdog.stdin!.write(`${line}\n`);
  }

  /** Registers a cleanup step (run in reverse order by `dispose`). Errors are collected, not thrown early. */
  defer(label: string, fn: () => unknown): void {
    if (this.disposed) throw new VncError(ErrorCode.Config, `scope already disposed; cannot defer ${label}`);
    this.cleanups.push({ label, fn });
  }

  /** Runs every cleanup (each bounded to 10 s) and kills every process. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const failures: string[] = [];
    while (this.cleanups.length) {
      const { label, fn } = this.cleanups.pop()!;
      try {
        await withTimeout(Promise.resolve().then(fn), 10_000, `cleanup "${label}"`);
      } catch (e) {
        failures.push(`${label}: ${(e as Error).message}`);
      }
    }
    this.onExit(); // anything that survived a cleanup callback
    process.removeListener('exit', this.onExit);
    this.watchdog?.stdin!.end('clear\n');
    if (failures.length) throw new VncError(ErrorCode.Desktop, `cleanup failed: ${failures.join('; ')}`);
  }
}

/** A scope disposed by vitest's `afterAll` of the calling suite (call at describe/file level). */
export function suiteScope(): ProcessScope {
  const scope = new ProcessScope();
  afterAll(() => scope.dispose());
  return scope;
}

/** A scope disposed when the current test finishes, pass or fail (call inside a test). */
export function testScope(): ProcessScope {
  const scope = new ProcessScope();
  onTestFinished(() => scope.dispose());
  return scope;
}

function killGroupSync(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Spawns without tracking; prefer {@link ProcessScope.spawn}. The caller must `kill()` it. */
export function spawnManaged(cmd: string, args: readonly string[], options: SpawnManagedOptions = {}): ManagedProcess {
  // detached: the child leads a new process group, so kill(-pid) also reaches its children
  // (xterm's shell and cat, xclip's forked owner) without touching the test runner.
  const child = spawn(cmd, args, {
    detached: true,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  const name = cmd.split('/').pop() ?? cmd;
  const tail = new OutputTail();
  const watchers = new Set<() => void>();
  const notify = (): void => {
    for (const w of watchers) w();
  };
  child.stdout?.on('data', (c: Buffer) => {
    tail.push(c);
    notify();
  });
  child.stderr?.on('data', (c: Buffer) => {
    tail.push(c);
    notify();
  });
  let info: ExitInfo | null = null;
  let spawnError: Error | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (e) => {
      // ENOENT and friends: there will be no 'exit' event.
      spawnError = e;
      info = { code: null, signal: null };
      resolve(info);
    });
    child.once('exit', (code, signal) => {
      info = { code, signal };
      resolve(info);
    });
  });
  void exited.then(notify);
  // pid is undefined when spawning failed; 'error' then follows on the next tick.
  const pid = child.pid ?? -1;

  const proc: ManagedProcess = {
    name,
    pid,
    child,
    exited,
    exitInfo: () => info,
    output: () => (spawnError ? `spawn error: ${spawnError.message}\n` : '') + tail.text(),
    waitForOutput(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const m = tail.text().match(pattern);
          if (m) return finish(() => resolve(m));
          if (info) {
            return finish(() =>
              reject(new VncError(ErrorCode.Desktop, `${name} exited (${describeExit(info!)}) before printing ${pattern}: ${proc.output().slice(-2000)}`)),
            );
          }
        };
        const timer = setTimeout(
          () => finish(() => reject(new VncError(ErrorCode.Timeout, `${name} did not print ${pattern} within ${timeoutMs} ms: ${tail.text().slice(-2000)}`))),
          timeoutMs,
        );
        const finish = (f: () => void): void => {
          clearTimeout(timer);
          watchers.delete(check);
          f();
        };
        watchers.add(check);
        check();
      });
    },
    async kill(graceMs = 2_000) {
      if (info || pid < 0) {
        killGroupSync(pid, 'SIGKILL'); // leftovers of the group (e.g. a forked daemon)
        return;
      }
      killGroupSync(pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        killGroupSync(pid, 'SIGKILL');
        await withTimeout(exited, 5_000, `${name}[${pid}] to die after SIGKILL`);
      }
      killGroupSync(pid, 'SIGKILL');
    },
  };
  return proc;
}

export function describeExit(e: ExitInfo): string {
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

/** Result of {@link runCommand}. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  /** Hard deadline; the whole process group is killed when it passes. */
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Bytes written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Largest stdout accepted (default 256 MiB); more is an error. */
  maxStdoutBytes?: number;
  /** Exit codes treated as success by `runOk` (default `[0]`). */
  okCodes?: number[];
}

/** Runs a command to completion with a deadline, collecting stdout (bounded) and stderr. */
export function runCommand(cmd: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const maxOut = options.maxStdoutBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    let outLen = 0;
    const err = new OutputTail();
    let failure: VncError | null = null;
    const killAll = (): void => {
      if (child.pid !== undefined) killGroupSync(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => {
      failure = new VncError(ErrorCode.Timeout, `${cmd} ${args.join(' ')} did not finish within ${options.timeoutMs} ms`);
      killAll();
    }, options.timeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      outLen += c.length;
      if (outLen > maxOut) {
        failure ??= new VncError(ErrorCode.TooLarge, `${cmd} wrote more than ${maxOut} bytes`);
        killAll();
        return;
      }
      out.push(c);
    });
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new VncError(ErrorCode.Desktop, `cannot run ${cmd}: ${e.message}`, { cause: e }));
    });
    // 'close' (not 'exit') so stdout has been fully read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // A forked grandchild might still hold the group; the command is over, so reap it too.
      killAll();
      if (failure) {
        failure.message += `; stderr: ${err.text().slice(-2000)}`;
        reject(failure);
        return;
      }
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err.text() });
    });
    if (options.input !== undefined) {
      child.stdin!.on('error', () => {}); // EPIPE when the command ignores stdin
      child.stdin!.end(options.input);
    }
  });
}

/** {@link runCommand}, rejecting with stderr when the exit code is not in `okCodes`. */
export async function runOk(cmd: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const r = await runCommand(cmd, args, options);
  const ok = options.okCodes ?? [0];
  if (r.code === null || !ok.includes(r.code)) {
    throw new VncError(
      ErrorCode.Desktop,
      `${cmd} ${args.join(' ')} failed (${describeExit(r)}): ${r.stderr.trim().slice(-2000) || r.stdout.toString('utf8').slice(-500)}`,
    );
  }
  return r;
}

/** Is an executable with this name on PATH? (Synchronous so it can drive `describe.skipIf`.) */
export function hasCommand(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), fsConstants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** The commands from `names` that are not on PATH. */
export function missingCommands(names: readonly string[]): string[] {
  return names.filter((n) => !hasCommand(n));
}

export interface WaitForOptions {
  timeoutMs: number;
  /** Poll interval (default 50 ms). */
  intervalMs?: number;
  /** What is being waited for, for the timeout message. */
  what: string;
}

/**
 * Polls `probe` until it returns something other than `undefined`/`null`/`false`, and returns
 * that. A probe that throws is retried; the last error is reported on timeout.
 */
export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 50;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== null && v !== false) return v as T;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? `; last error: ${(lastError as Error).message}` : '';
      throw new VncError(ErrorCode.Timeout, `timed out after ${options.timeoutMs} ms waiting for ${options.what}${why}`);
    }
    await sleep(Math.min(interval, Math.max(1, deadline - Date.now())));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects with a Timeout VncError when `p` does not settle within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VncError(ErrorCode.Timeout, `timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
