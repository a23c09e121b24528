/**
 * Sample statistics and number formatting for the benchmark. Pure functions, no I/O, so the
 * unit tests can pin them down exactly (test/unit/bench-stats.test.ts).
 *
 * Percentiles use the nearest-rank method (the smallest sample with at least p % of the samples
 * at or below it): every reported figure is a value that was really measured, never an
 * interpolation between two runs, which is what a reader of "p95 = 9.8 ms" expects.
 */

/** Summary of one measurement series. All fields are in the series' unit. */
export interface Summary {
  /** Number of samples. */
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  readonly mean: number;
}

/**
 * Nearest-rank percentile of `sorted` (ascending, non-empty), `p` in [0, 100]. p = 0 gives the
 * minimum, p = 100 the maximum. Throws RangeError for an empty series or a p out of range.
 */
export function percentileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty series');
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100 (got ${p})`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Nearest-rank percentile of unsorted samples (copied, not modified). */
export function percentile(samples: readonly number[], p: number): number {
  return percentileSorted([...samples].sort((a, b) => a - b), p);
}

/**
 * Summarises a non-empty series of finite numbers. Throws RangeError on an empty series or a
 * non-finite sample: a NaN in a benchmark is a bug to surface, not a value to average.
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('cannot summarise an empty series');
  for (const s of samples) if (!Number.isFinite(s)) throw new RangeError(`non-finite sample ${s}`);
  const sorted = [...samples].sort((a, b) => a - b);
  let sum = 0;
  for (const s of sorted) sum += s;
  return {
    n: sorted.length,
    min: sorted[0]!,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    max: sorted[sorted.length - 1]!,
    mean: sum / sorted.length,
  };
}

/**
 * Milliseconds with a precision that suits the magnitude: "0.042", "1.24", "12.4", "143".
 * Non-finite values print as "n/a".
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  const a = Math.abs(ms);
  if (a >= 100) return ms.toFixed(0);
  if (a >= 10) return ms.toFixed(1);
  if (a >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** Bytes in binary units with three significant figures: "812 B", "1.23 KiB", "7.91 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = bytes;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/**
 * `a / b` as "×1.85" (or "×0.42"); "n/a" when either side is missing, zero or not finite.
 * Used for "ours versus theirs" columns, where > 1 means ours took longer.
 */
export function formatRatio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  const r = a / b;
  return `×${r >= 10 ? r.toFixed(1) : r.toFixed(2)}`;
}

/** A value in its unit, for tables: ms via formatMs, bytes via formatBytes, else plain. */
export function formatValue(value: number, unit: string): string {
  if (unit === 'ms') return formatMs(value);
  if (unit === 'bytes') return formatBytes(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
