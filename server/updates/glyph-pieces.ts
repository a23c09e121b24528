/**
 * Splitting a block of touching glyphs into pieces the client may already show. Antialiased
 * glyphs touch ("rn", "ww", and in a terminal every run of digits: each fills its cell), so the
 * X-Y cut (`glyph-blocks.ts`) leaves them as one block, which rarely repeats whole. Two ways in:
 * - `cellsOf` cuts a block of a monospace line at the line's character pitch (`textPitch`), so
 *   that each cell is recorded and found on its own, whatever its neighbours;
 * - `piecesOf` searches the block, from its left edge, for pieces of sizes the index holds.
 *
 * Pure functions over a PixelBuffer; the lookups are the caller's.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import type { GlyphBlock } from './glyph-blocks.js';

/** A source position the client shows a piece at, or null. */
export type Source = { readonly x: number; readonly y: number } | null;

/** Part of a damaged rectangle: a glyph block, a word or a piece of a block, with its source if copied. */
export interface Unit {
  readonly rect: Rect;
  readonly band: number;
  readonly src: Source;
}

/** Narrower pitches are not a monospace font's: proportional text gives 1 or 2. */
const MIN_PITCH = 4;

/**
 * The character pitch of a band of monospace text, or 0: the greatest common divisor of the
 * distances between equal blocks (`keys[i]` is block i's pixel hash, -1 when it has none) in one
 * band. The same glyph sits the same way in every cell, so any two copies lie a whole number of
 * cells apart; a line has enough repeated letters for the divisor to come out as the pitch.
 */
export function textPitch(blocks: readonly GlyphBlock[], keys: ArrayLike<number>): number {
  let pitch = 0;
  let band = -1;
  let firstAt = new Map<number, number>();
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    if (b.band !== band) { band = b.band; firstAt = new Map(); }
    const key = keys[i]!;
    if (key < 0) continue;
    const x = firstAt.get(key);
    if (x === undefined) firstAt.set(key, b.x);
    else pitch = gcd(pitch, b.x - x);
  }
  return pitch >= MIN_PITCH ? pitch : 0;
}

/**
 * Block `b` cut into cells `pitch` wide, each trimmed to its ink rows, when it is a whole number
 * (two or more) of cells: touching glyphs that each fill their cell, such as digits. Each cell is
 * looked up and recorded by `visit`; null when `b` is not cut.
 */
export function cellsOf(fb: PixelBuffer, b: GlyphBlock, bg: number, pitch: number, minArea: number, visit: (cell: Rect) => Source): Unit[] | null {
  if (pitch === 0 || b.w <= pitch || b.w % pitch !== 0) return null;
  const { top, bottom } = inkRows(fb, b, bg);
  const units: Unit[] = [];
  for (let x = 0; x < b.w; x += pitch) {
    let t = Infinity;
    let u = -Infinity;
    for (let c = x; c < x + pitch; c++) { t = Math.min(t, top[c]!); u = Math.max(u, bottom[c]!); }
    const cell = { x: b.x + x, y: t, w: pitch, h: u - t };
    units.push({ rect: cell, band: b.band, src: cell.w * cell.h >= minArea ? visit(cell) : null });
  }
  return units;
}

/**
 * Block `b`, which the client does not show as a whole, as pieces it does show: from the left
 * edge, each narrower piece (its ink rows only) whose size the index holds (`sizes`: width →
 * heights) is looked up (`sourceOf`); the narrowest known one is taken and the search goes on
 * after it. Columns no known piece starts at become units without a source (whole block rows).
 * Every ink pixel of `b` ends up in exactly one unit: its columns all hold ink (it is a block),
 * and rows a piece leaves out are background in its columns.
 */
export function piecesOf(fb: PixelBuffer, b: GlyphBlock, bg: number, sizes: ReadonlyMap<number, ReadonlySet<number>>, minArea: number, sourceOf: (piece: Rect) => Source): Unit[] {
  const { top, bottom } = inkRows(fb, b, bg);
  const units: Unit[] = [];
  const right = b.x + b.w;
  let gapFrom = b.x;
  let x = b.x;
  while (x < right) {
    let hit: Unit | null = null;
    let t = Infinity;
    let u = -Infinity;
    for (let w = 1; x + w <= right && w < b.w; w++) {
      // the piece [x, x + w): its ink rows grow with each column
      t = Math.min(t, top[x - b.x + w - 1]!);
      u = Math.max(u, bottom[x - b.x + w - 1]!);
      // Only sizes the index holds are worth hashing.
      if (!sizes.get(w)?.has(u - t) || w * (u - t) < minArea) continue;
      const piece = { x, y: t, w, h: u - t };
      const src = sourceOf(piece);
      if (src) { hit = { rect: piece, band: b.band, src }; break; }
    }
    if (!hit) { x++; continue; }
    if (x > gapFrom) units.push({ rect: { x: gapFrom, y: b.y, w: x - gapFrom, h: b.h }, band: b.band, src: null });
    units.push(hit);
    x += hit.rect.w;
    gapFrom = x;
  }
  if (right > gapFrom) units.push({ rect: { x: gapFrom, y: b.y, w: right - gapFrom, h: b.h }, band: b.band, src: null });
  return units;
}

/** The first and last (exclusive) ink row of each column of block `b`: a piece's rows without reading it again. */
function inkRows(fb: PixelBuffer, b: Rect, bg: number): { top: Int32Array; bottom: Int32Array } {
  const top = new Int32Array(b.w);
  const bottom = new Int32Array(b.w);
  const px = fb.pixels;
  for (let c = 0; c < b.w; c++) {
    let t = b.y;
    while (px[t * fb.stride + b.x + c] === bg) t++; // every column of a block holds ink
    let u = b.y + b.h - 1;
    while (px[u * fb.stride + b.x + c] === bg) u--;
    top[c] = t;
    bottom[c] = u + 1;
  }
  return { top, bottom };
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return Math.abs(a);
}
