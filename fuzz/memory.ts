/**
 * Memory measurement for the fuzzer and soak tests: an explicit GC (when it can be had) so a
 * before/after comparison measures retained memory rather than garbage not yet collected.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * A function that runs a full GC. Uses `global.gc` when node runs with `--expose-gc`; otherwise
 * turns the flag on at run time and fetches `gc` from a fresh context (V8 installs it there once
 * the flag is set). Returns null if neither works, and callers then compare without a GC.
 */
export function getGc(): (() => void) | null {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    return typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    return null;
  }
}

export interface MemorySample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

/** Current memory, after a GC (twice: the second pass collects what the first finalised). */
export function settledMemory(gc: (() => void) | null): MemorySample {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

export const MiB = 1024 * 1024;

export function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}
