/**
 * Row bands: which rows of the screen a partial capture reads. A poll with damage hints needs
 * only the tile rows the hints touch (plus the verify slice), and those are often far apart:
 * a blinking text cursor in the middle of the screen and a clock in the task bar, or a typed
 * character and the slice being verified. One band from the first to the last of them read up
 * to three quarters of the screen per poll (the idle scene's 2 updates a second each copied
 * ~5 MB out of the MIT-SHM segment); separate bands read a few tile rows each.
 *
 * Bands are whole tile rows (the tile diff compares 16×16 tiles, every row of which must be
 * fresh), sorted, disjoint and never closer than `mergeGap` rows: each band costs one
 * ShmGetImage request and one read, which costs about as much as copying a few dozen rows.
 * Pure functions.
 */
import type { Rect } from '../core/geometry.js';

/** A band of whole rows, `y` to `y + h`. */
export interface RowBand {
  readonly y: number;
  readonly h: number;
}

export interface RowBandOptions {
  /** Bands start and end on multiples of this (the tile size). */
  readonly tile: number;
  /** Screen height: bands are clipped to [0, height). */
  readonly height: number;
  /** Bands separated by at most this many rows are merged into one. */
  readonly mergeGap: number;
  /** At most this many bands; the closest ones are merged first. */
  readonly maxBands: number;
}

/**
 * The tile-aligned row bands covering the rows of `rects` (each clipped to the screen), sorted
 * by `y`, disjoint, separated by more than `mergeGap` rows, at most `maxBands` of them.
 */
export function rowBandsFor(rects: readonly Rect[], opts: RowBandOptions): RowBand[] {
  const spans: { y1: number; y2: number }[] = [];
  for (const r of rects) {
    if (r.w <= 0 || r.h <= 0) continue;
    const y1 = Math.max(0, Math.floor(r.y / opts.tile) * opts.tile);
    const y2 = Math.min(opts.height, Math.ceil((r.y + r.h) / opts.tile) * opts.tile);
    if (y2 > y1) spans.push({ y1, y2 });
  }
  spans.sort((a, b) => a.y1 - b.y1);
  const merged: { y1: number; y2: number }[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s.y1 <= last.y2 + opts.mergeGap) last.y2 = Math.max(last.y2, s.y2);
    else merged.push({ ...s });
  }
  const maxBands = Math.max(1, opts.maxBands);
  while (merged.length > maxBands) {
    // Join the two neighbours with the smallest gap: the fewest extra rows for one band less.
    let at = 0;
    for (let i = 1; i < merged.length - 1; i++) {
      if (merged[i + 1]!.y1 - merged[i]!.y2 < merged[at + 1]!.y1 - merged[at]!.y2) at = i;
    }
    merged[at]!.y2 = merged[at + 1]!.y2;
    merged.splice(at + 1, 1);
  }
  return merged.map((s) => ({ y: s.y1, h: s.y2 - s.y1 }));
}

/** Total rows of `bands`. */
export function rowsIn(bands: readonly RowBand[]): number {
  let n = 0;
  for (const b of bands) n += b.h;
  return n;
}

/** The parts of `rects` that lie inside `bands` (a rectangle across a gap is cut in two). */
export function clipRectsToBands(rects: readonly Rect[], bands: readonly RowBand[]): Rect[] {
  const out: Rect[] = [];
  for (const r of rects) {
    for (const b of bands) {
      const y1 = Math.max(r.y, b.y);
      const y2 = Math.min(r.y + r.h, b.y + b.h);
      if (y2 > y1) out.push({ x: r.x, y: y1, w: r.w, h: y2 - y1 });
    }
  }
  return out;
}

/** The band holding all of rows [y, y + h), if one does. */
export function bandContaining(bands: readonly RowBand[], y: number, h: number): RowBand | undefined {
  return bands.find((b) => b.y <= y && y + h <= b.y + b.h);
}
