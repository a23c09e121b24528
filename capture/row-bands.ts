/**
 * Row bands: which part of the screen a partial capture reads. A poll with damage hints needs
 * only the tile rows the hints touch (plus the verify slice), and those are often far apart:
 * a blinking text cursor in the middle of the screen and a clock in the task bar, or a typed
 * character and the slice being verified. One band from the first to the last of them read up
 * to three quarters of the screen per poll (the idle scene's 2 updates a second each copied
 * ~5 MB out of the MIT-SHM segment); separate bands read a few tile rows each.
 *
 * Bands are whole tile rows (the tile diff compares 16×16 tiles, every row of which must be
 * fresh), sorted, disjoint and never closer than `mergeGap` rows: each band costs one
 * ShmGetImage request and one read, which costs about as much as copying a few dozen rows.
 * Of those rows, a band reads only the tile columns its rectangles touch: a video, a scrolled
 * browser window or a typed character is a fraction of the screen's width, and the read from the
 * segment (and the X server's copy into it) is the capture's main cost.
 * Pure functions.
 */
import type { Rect } from '../core/geometry.js';

/** A band of whole rows, `y` to `y + h`. */
export interface RowBand {
  readonly y: number;
  readonly h: number;
}

/** A band whose rows are read only in columns `x` to `x + w` (tile-aligned, or the screen's edge). */
export interface CaptureBand extends RowBand {
  readonly x: number;
  readonly w: number;
}

export interface RowBandOptions {
  /** Bands start and end on multiples of this (the tile size). */
  readonly tile: number;
  /** Screen size: bands are clipped to it. */
  readonly width: number;
  readonly height: number;
  /** Bands separated by at most this many rows are merged into one. */
  readonly mergeGap: number;
  /** At most this many bands; the closest ones are merged first. */
  readonly maxBands: number;
}

/**
 * The tile-aligned bands covering `rects` (each clipped to the screen), sorted by `y`,
 * disjoint, separated by more than `mergeGap` rows, at most `maxBands` of them; each reads the
 * tile columns from the leftmost to the rightmost of its rectangles.
 */
export function rowBandsFor(rects: readonly Rect[], opts: RowBandOptions): CaptureBand[] {
  const spans: Span[] = [];
  for (const r of rects) {
    if (r.w <= 0 || r.h <= 0) continue;
    const y1 = Math.max(0, Math.floor(r.y / opts.tile) * opts.tile);
    const y2 = Math.min(opts.height, Math.ceil((r.y + r.h) / opts.tile) * opts.tile);
    const x1 = Math.max(0, Math.floor(r.x / opts.tile) * opts.tile);
    const x2 = Math.min(opts.width, Math.ceil((r.x + r.w) / opts.tile) * opts.tile);
    if (y2 > y1 && x2 > x1) spans.push({ y1, y2, x1, x2 });
  }
  spans.sort((a, b) => a.y1 - b.y1);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s.y1 <= last.y2 + opts.mergeGap) join(last, s);
    else merged.push({ ...s });
  }
  const maxBands = Math.max(1, opts.maxBands);
  while (merged.length > maxBands) {
    // Join the two neighbours with the smallest gap: the fewest extra rows for one band less.
    let at = 0;
    for (let i = 1; i < merged.length - 1; i++) {
      if (merged[i + 1]!.y1 - merged[i]!.y2 < merged[at + 1]!.y1 - merged[at]!.y2) at = i;
    }
    join(merged[at]!, merged[at + 1]!);
    merged.splice(at + 1, 1);
  }
  return merged.map((s) => ({ x: s.x1, y: s.y1, w: s.x2 - s.x1, h: s.y2 - s.y1 }));
}

interface Span {
  y1: number;
  y2: number;
  x1: number;
  x2: number;
}

function join(into: Span, s: Span): void {
  into.y2 = Math.max(into.y2, s.y2);
  into.x1 = Math.min(into.x1, s.x1);
  into.x2 = Math.max(into.x2, s.x2);
}

/** Total pixels of `bands`. */
export function pixelsIn(bands: readonly CaptureBand[]): number {
  let n = 0;
  for (const b of bands) n += b.w * b.h;
  return n;
}

/** The parts of `rects` that lie inside `bands` (a rectangle across a gap is cut in two). */
export function clipRectsToBands(rects: readonly Rect[], bands: readonly CaptureBand[]): Rect[] {
  const out: Rect[] = [];
  for (const r of rects) {
    for (const b of bands) {
      const y1 = Math.max(r.y, b.y);
      const y2 = Math.min(r.y + r.h, b.y + b.h);
      const x1 = Math.max(r.x, b.x);
      const x2 = Math.min(r.x + r.w, b.x + b.w);
      if (y2 > y1 && x2 > x1) out.push({ x: x1, y: y1, w: x2 - x1, h: y2 - y1 });
    }
  }
  return out;
}

/** The band holding all of `r`, if one does. */
export function bandContaining(bands: readonly CaptureBand[], r: Rect): CaptureBand | undefined {
  return bands.find((b) => b.y <= r.y && r.y + r.h <= b.y + b.h && b.x <= r.x && r.x + r.w <= b.x + b.w);
}
