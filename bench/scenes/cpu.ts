/**
 * CPU time of a process from /proc, so every server is measured the same way from the outside
 * whatever it is written in. Linux only.
 *
 * Each thread's run time in nanoseconds (`/proc/PID/task/TID/schedstat`) is what a cell uses
 * when it can: `/proc/PID/stat` counts whole 10 ms clock ticks, and an idle server uses a few
 * of them in a cell, so its figure was 0, 1 or 2 ticks by chance. Threads that exit take their
 * run time with them, so a cell in which one exits falls back to the ticks, which count every
 * thread the process ever had.
 */
import { readdir, readFile } from 'node:fs/promises';
import { ErrorCode, VncError } from '../../core/errors.js';
import { runTool } from '../lib/processes.js';

/** Clock ticks per second of /proc times (`getconf CLK_TCK`; 100 on every common Linux). */
export async function clockTicksPerSecond(): Promise<number> {
  try {
    const r = await runTool('getconf', ['CLK_TCK'], { timeoutMs: 5000 });
    const n = Number(r.stdout.trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // fall through to the Linux default
  }
  return 100;
}

/**
 * Parses the utime + stime fields of a /proc/PID/stat line, in clock ticks. The command name
 * (field 2) may contain spaces and parentheses, so fields are counted after its last ')'.
 */
export function parseStatTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new VncError(ErrorCode.Protocol, 'malformed /proc stat line');
  const fields = stat.slice(close + 2).trim().split(/\s+/);
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new VncError(ErrorCode.Protocol, 'malformed /proc stat times');
  return utime + stime;
}

/** Parses the run time in nanoseconds, the first field of a schedstat line; null if malformed. */
export function parseSchedstatNs(line: string): number | null {
  const ns = Number(line.trim().split(/\s+/)[0]);
  return line.trim() !== '' && Number.isFinite(ns) && ns >= 0 ? ns : null;
}

/** The CPU time of a process at one moment (see {@link cpuSample}). */
export interface CpuSample {
  /** utime + stime in milliseconds, at clock-tick resolution, all threads ever. */
  readonly tickMs: number;
  /** Run time in nanoseconds of each live thread by TID; null if the kernel does not say. */
  readonly threadNs: ReadonlyMap<number, number> | null;
}

/** Reads the CPU time of process `pid` now. Rejects with `VNC_ERR_DESKTOP` if it is gone. */
export async function cpuSample(pid: number, ticksPerSecond: number): Promise<CpuSample> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    throw new VncError(ErrorCode.Desktop, `cannot read CPU time of process ${pid}: ${(err as Error).message}`, { cause: err });
  }
  return { tickMs: (parseStatTicks(stat) * 1000) / ticksPerSecond, threadNs: await threadRunTimes(pid) };
}

/**
 * CPU milliseconds used between two samples of one process: to the nanosecond when every
 * thread of `before` is still there in `after` (threads born in between count from zero),
 * otherwise from the clock ticks.
 */
export function cpuMsBetween(before: CpuSample, after: CpuSample): number {
  const a = before.threadNs;
  const b = after.threadNs;
  if (a && b && [...a.keys()].every((tid) => b.has(tid))) {
    let ns = 0;
    for (const [tid, t] of b) ns += t - (a.get(tid) ?? 0);
    return ns / 1e6;
  }
  return after.tickMs - before.tickMs;
}

async function threadRunTimes(pid: number): Promise<Map<number, number> | null> {
  let tids: string[];
  try {
    tids = await readdir(`/proc/${pid}/task`);
  } catch {
    return null;
  }
  const out = new Map<number, number>();
  for (const tid of tids) {
    let line: string;
    try {
      line = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    } catch (err) {
      // The thread exited since the listing: the next sample misses it, as it should. Any
      // other failure (no schedstat in this kernel) means no thread times at all.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') continue;
      return null;
    }
    const ns = parseSchedstatNs(line);
    if (ns === null) return null;
    out.set(Number(tid), ns);
  }
  return out.size > 0 ? out : null;
}
