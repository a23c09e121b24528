/**
 * Cuts a damaged rectangle of text-like content into its glyph blocks: the pieces of ink
 * separated by rows and columns of one background colour (an X-Y cut). A terminal line
 * becomes one block per character (or per group of touching characters), each trimmed to its
 * ink. Identical blocks are identical glyphs, wherever they sit on the screen, which is what
 * lets `glyph-copies.ts` send a character the client already shows elsewhere as a CopyRect.
 *
 * Pure functions over a PixelBuffer; nothing is kept between calls.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { isSolidArea } from '../encoding/palette.js';
import type { Rect } from '../../core/geometry.js';

/** A rectangle cut into ink blocks over one background colour. */
export interface GlyphBlocks {
  /** Internal `0x00RRGGBB` colour of every pixel of the rectangle outside `blocks`. */
  readonly background: number;
  /**
   * Disjoint blocks, each the bounding box of its ink, grouped by row band (`band`), bands top
   * to bottom and blocks left to right within one.
   */
  readonly blocks: readonly GlyphBlock[];
  /** The row bands, top to bottom: `blocks[i].band` indexes this. Each spans the rectangle's width. */
  readonly bands: readonly Rect[];
}

export interface GlyphBlock extends Rect {
  /** Index of the row band (a run of rows with ink between background rows) it lies in. */
  readonly band: number;
}

/**
 * Rectangles larger than this are not cut: a whole-screen refresh is not text being written,
 * and the cut reads every pixel three times.
 */
export const GLYPH_CUT_MAX_AREA = 64 * 1024;

/**
 * Least share of the first and last rows that must be the background colour: below it the
 * rectangle is a photo, a gradient or a widget, not text on a background, and is left whole.
 */
const MIN_BACKGROUND_SHARE = 0.4;

/**
 * The glyph blocks of `r` in `fb`, or null when `r` is too large or has no dominant background
 * colour on its first and last rows.
 */
export function findGlyphBlocks(fb: PixelBuffer, r: Rect, maxArea = GLYPH_CUT_MAX_AREA): GlyphBlocks | null {
  if (r.w <= 0 || r.h <= 0 || r.w * r.h > maxArea) return null;
  const bg = dominantEdgeColour(fb, r);
  if (bg === null) return null;
  const px = fb.pixels;
  const stride = fb.stride;
  const blocks: GlyphBlock[] = [];
  const bands: Rect[] = [];
  let y = r.y;
  const bottom = r.y + r.h;
  while (y < bottom) {
    while (y < bottom && isSolidArea(px, stride, r.x, y, r.w, 1, bg)) y++;
    if (y >= bottom) break;
    const top = y;
    while (y < bottom && !isSolidArea(px, stride, r.x, y, r.w, 1, bg)) y++;
    const band = { x: r.x, y: top, w: r.w, h: y - top };
    cutColumns(fb, band, bg, bands.length, blocks);
    bands.push(band);
  }
  return { background: bg, blocks, bands };
}

/**
 * A 32-bit hash of a `w`×`h` block's pixels, row by row from `offset` of `buf` (as `blockPixels`
 * copies them), and of its size (FNV-1a over pixel words). Equal blocks hash equal; callers
 * compare pixels before they rely on a match.
 */
export function hashPixels(buf: Uint32Array, offset: number, w: number, h: number): number {
  let hash = Math.imul(0x811c9dc5 ^ w, 0x01000193) ^ h;
  for (let i = offset, end = offset + w * h; i < end; i++) hash = Math.imul(hash ^ buf[i]!, 0x01000193);
  return hash >>> 0;
}

/** The colour of most pixels of `r`'s first and last rows, if it covers MIN_BACKGROUND_SHARE. */
function dominantEdgeColour(fb: PixelBuffer, r: Rect): number | null {
  const px = fb.pixels;
  const rows = r.h > 1 ? [r.y, r.y + r.h - 1] : [r.y];
  // Boyer-Moore majority vote, then a count: no map per call.
  let candidate = 0;
  let votes = 0;
  for (const y of rows) {
    const s = y * fb.stride + r.x;
    for (let i = 0; i < r.w; i++) {
      const c = px[s + i]!;
      if (votes === 0) { candidate = c; votes = 1; } else votes += c === candidate ? 1 : -1;
    }
  }
  let n = 0;
  for (const y of rows) {
    const s = y * fb.stride + r.x;
    for (let i = 0; i < r.w; i++) if (px[s + i] === candidate) n++;
  }
  return n >= MIN_BACKGROUND_SHARE * r.w * rows.length ? candidate : null;
}

/** Splits the row band `b` at its background columns and trims each piece to its ink rows. */
function cutColumns(fb: PixelBuffer, b: Rect, bg: number, band: number, out: GlyphBlock[]): void {
  const px = fb.pixels;
  const stride = fb.stride;
  // Ink per column, gathered row by row (a column walk strides across memory).
  const ink = new Uint8Array(b.w);
  for (let y = b.y; y < b.y + b.h; y++) {
    const s = y * stride + b.x;
    for (let i = 0; i < b.w; i++) if (px[s + i] !== bg) ink[i] = 1;
  }
  let i = 0;
  while (i < b.w) {
    while (i < b.w && ink[i] === 0) i++;
    if (i >= b.w) break;
    const left = i;
    while (i < b.w && ink[i] === 1) i++;
    const x = b.x + left;
    const w = i - left;
    let top = b.y;
    let bottom = b.y + b.h;
    while (isSolidArea(px, stride, x, top, w, 1, bg)) top++;
    while (isSolidArea(px, stride, x, bottom - 1, w, 1, bg)) bottom--;
    out.push({ x, y: top, w, h: bottom - top, band });
  }
}

/**
 * A gap between two blocks of a band narrower than this share of the band's height lies inside
 * a word; a space is wider (a monospace cell is about half the line's height; DejaVu Sans Mono
 * in the terminal scene: letters 1–7 px apart, words 8 or more, in 15-row bands).
 */
const WORD_GAP_SHARE = 0.45;

/** Consecutive blocks of one band that form a word: `blocks[first]` up to before `blocks[end]`. */
export interface GlyphWord {
  /** Bounding box of the word's blocks: everything in it outside them is background. */
  readonly rect: Rect;
  readonly first: number;
  readonly end: number;
}

/**
 * The words of `cut`: runs of two or more blocks of one band with gaps below WORD_GAP_SHARE of
 * the band's height, left to right, bands top to bottom. A word is known by its own pixels
 * wherever it is written, since the spaces around it are wider than the gaps inside it.
 */
export function findWords(cut: GlyphBlocks): GlyphWord[] {
  const { blocks, bands } = cut;
  const words: GlyphWord[] = [];
  let i = 0;
  while (i < blocks.length) {
    const first = blocks[i]!;
    const gap = bands[first.band]!.h * WORD_GAP_SHARE;
    let x1 = first.x + first.w;
    let y0 = first.y;
    let y1 = first.y + first.h;
    let j = i + 1;
    for (; j < blocks.length; j++) {
      const b = blocks[j]!;
      if (b.band !== first.band || b.x - x1 >= gap) break;
      x1 = b.x + b.w;
      y0 = Math.min(y0, b.y);
      y1 = Math.max(y1, b.y + b.h);
    }
    if (j - i >= 2) words.push({ rect: { x: first.x, y: y0, w: x1 - first.x, h: y1 - y0 }, first: i, end: j });
    i = j;
  }
  return words;
}
