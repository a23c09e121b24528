/**
 * CPU time of a process from /proc/PID/stat (user + system, all threads), so every server is
 * measured the same way from the outside whatever it is written in. Linux only.
 */
import { readFile } from 'node:fs/promises';
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

/** CPU milliseconds used by process `pid` so far. */
export async function processCpuMs(pid: number, ticksPerSecond: number): Promise<number> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    throw new VncError(ErrorCode.Desktop, `cannot read CPU time of process ${pid}: ${(err as Error).message}`, { cause: err });
  }
  return (parseStatTicks(stat) * 1000) / ticksPerSecond;
}
