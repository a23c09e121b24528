/**
 * Glyph copies: a character the client already shows somewhere is sent as a CopyRect from
 * there (16 bytes) instead of as pixels. A terminal writes the same few dozen glyphs over and
 * over; Hextile spends ~150 bytes on each, zlib ~35, and even ZRLE ~20.
 *
 * For each damaged rectangle small enough to be text being written (`findGlyphBlocks`):
 * 1. cut it into glyph blocks over its background colour;
 * 2. look each block up in the client's `GlyphIndex`, which records where the client shows
 *    which pixels (not what our framebuffer holds there now): a source is used only where the
 *    client holds exactly the block's pixels and this update does not write over it first, so
 *    a copy can never produce a wrong pixel; a block of touching glyphs not known whole is
 *    looked up piece by piece (`piecesOf`);
 * 3. when that is estimated to cost fewer bytes than the rectangle's pixels (`bytesPerPixel`,
 *    what the client's encoding spends per pixel of text), the rectangle goes out as one fill
 *    of its background, then the blocks without a source as pixel rectangles (consecutive ones
 *    joined), then the copies; otherwise as pixels, as before. A copy of a small block costs
 *    more than ZRLE's or Tight's pixels for it (a web page scrolled by a few rows exposes slices
 *    of glyphs, 3×4 pixels each: copying them made the web scroll 12 % dearer with Tight).
 * Every block sent is then recorded as a source for later updates (`learn`, with its pixels as
 * read now: the framebuffer may change before the update is out).
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { boundingRect, type Rect } from '../../core/geometry.js';
import { findGlyphBlocks, hashPixels, type GlyphBlock } from './glyph-blocks.js';
import { blockPixels, MAX_BLOCK_PIXELS, type GlyphIndex } from './glyph-index.js';
import type { Region } from '../../core/region.js';
import { Encoding } from '../encoding/encodings.js';
import type { CopyRectSpec } from '../encoding/copy-rect.js';

/** Blocks smaller than this many pixels are neither copied nor recorded. */
export const GLYPH_MIN_AREA = 8;
/** Wire bytes of one CopyRect. */
const COPY_BYTES = 16;
/** Estimated wire bytes of a pixel rectangle besides its pixels (header, lengths, zlib flush). */
const RECT_OVERHEAD_BYTES = 16;
/** Estimated wire bytes of the background fill. */
const FILL_BYTES = 24;

/**
 * What an encoding spends per pixel of antialiased text on a plain background, for the cost
 * estimate (`npm run bench`, terminal scene, bytes per update over the glyph boxes sent).
 */
export const TEXT_BYTES_PER_PIXEL: Readonly<Record<number, number>> = {
  [Encoding.Hextile]: 2,
  [Encoding.RRE]: 2,
  [Encoding.Zlib]: 0.6,
  [Encoding.Tight]: 0.5,
  [Encoding.TightPNG]: 0.5,
  [Encoding.ZRLE]: 0.35,
};

export interface GlyphFill {
  readonly rect: Rect;
  /** Internal `0x00RRGGBB` colour. */
  readonly colour: number;
}

export interface GlyphPlan {
  /** Rectangles to paint in one colour, before the pixel rectangles and the copies. */
  readonly fills: readonly GlyphFill[];
  /** Rectangles to encode from the framebuffer: the input not sent as fills, and the blocks without a source. */
  readonly pixels: readonly Rect[];
  /** CopyRects to apply after everything else: sources lie outside every other rectangle. */
  readonly copies: readonly CopyRectSpec[];
  /** Blocks this update sends (by any means) and their pixels, to record once it is out. */
  readonly learn: readonly { readonly key: number; readonly at: Rect; readonly pixels: Uint32Array }[];
}

/**
 * Plans the pixel rectangles `rects` of one update for one client. `overwritten` is every area
 * the update writes pixels to (at least `rects`): no source may lie there. `index` must already
 * reflect the update's motion copies (`GlyphIndex.moved`). `bytesPerPixel`: what the client's
 * encoding spends per pixel of text (TEXT_BYTES_PER_PIXEL).
 */
export function planGlyphCopies(fb: PixelBuffer, rects: readonly Rect[], overwritten: Region, index: GlyphIndex, bytesPerPixel: number): GlyphPlan {
  const fills: GlyphFill[] = [];
  const pixels: Rect[] = [];
  const copies: CopyRectSpec[] = [];
  const learn: { key: number; at: Rect; pixels: Uint32Array }[] = [];
  /** Pieces of blocks are read into this, one at a time (allocated when a block is split). */
  let scratch: Uint32Array | null = null;
  /** Reads block `b` into `buf` at `o` and looks it up; `src` only where a copy pays. */
  const sourceFor = (b: Rect, buf: Uint32Array, o: number): { key: number; known: Uint32Array | null; src: { x: number; y: number } | null } => {
    blockPixels(fb, b, buf, o);
    const key = hashPixels(buf, o, b.w, b.h);
    const known = index.pixelsOf(key, b.w, b.h, buf, o);
    // Only where a copy is cheaper than the block's pixels.
    const src = known && b.w * b.h * bytesPerPixel > COPY_BYTES ? index.positionOutside(key, overwritten) : null;
    return { key, known, src };
  };
  let sizes: ReadonlyMap<number, ReadonlySet<number>> | null = null;
  for (const r of rects) {
    const cut = findGlyphBlocks(fb, r);
    if (!cut || cut.blocks.length === 0) {
      pixels.push(r);
      continue;
    }
    const blocks = cut.blocks;
    let ink = 0;
    for (const b of blocks) ink += b.w * b.h;
    // Every block's pixels in one array (a typed array per glyph cost more than the hashing).
    const buf = new Uint32Array(ink);
    let offset = 0;
    const units: Unit[] = [];
    for (const b of blocks) {
      const area = b.w * b.h;
      const o = offset;
      offset += area;
      if (area < GLYPH_MIN_AREA || area > MAX_BLOCK_PIXELS) { units.push({ rect: b, band: b.band, src: null }); continue; }
      const { key, known, src } = sourceFor(b, buf, o);
      learn.push({ key, at: { x: b.x, y: b.y, w: b.w, h: b.h }, pixels: known ?? buf.slice(o, offset) });
      if (src) units.push({ rect: b, band: b.band, src });
      else units.push(...piecesOf(fb, b, cut.background, (sizes ??= index.sizes()), (p) => sourceFor(p, (scratch ??= new Uint32Array(MAX_BLOCK_PIXELS)), 0).src));
    }
    const found = units.reduce((n, u) => n + (u.src ? 1 : 0), 0);
    if (found === 0) {
      pixels.push(r);
      continue;
    }
    // A run of units without a source in one band goes as one pixel rectangle around them
    // (the columns between them are background in the band's rows, so no copy lands inside).
    const rest: Rect[] = [];
    let cost = FILL_BYTES + found * COPY_BYTES;
    for (let i = 0; i < units.length; i++) {
      if (units[i]!.src) continue;
      let j = i;
      while (j + 1 < units.length && !units[j + 1]!.src && units[j + 1]!.band === units[i]!.band) j++;
      const run = units.slice(i, j + 1).map((u) => u.rect).reduce(boundingRect);
      rest.push(run);
      cost += RECT_OVERHEAD_BYTES + run.w * run.h * bytesPerPixel;
      i = j;
    }
    if (cost >= RECT_OVERHEAD_BYTES + ink * bytesPerPixel) {
      pixels.push(r);
      continue;
    }
    fills.push({ rect: r, colour: cut.background });
    pixels.push(...rest);
    for (const { rect: b, src } of units) if (src) copies.push({ dest: { x: b.x, y: b.y, w: b.w, h: b.h }, srcX: src.x, srcY: src.y });
  }
  return { fills, pixels, copies, learn };
}

/** Part of a damaged rectangle: a glyph block, or a piece of one, with its source if copied. */
interface Unit {
  readonly rect: Rect;
  readonly band: number;
  readonly src: { x: number; y: number } | null;
}

/**
 * Block `b`, which the client does not show as a whole, as pieces it does show: glyphs that
 * touch (antialiased "rn", "ww") form one block, but each was usually seen alone before. From
 * the left edge, each narrower piece (its ink rows only) whose size the index holds (`sizes`:
 * width → heights) is looked up (`sourceOf`); the narrowest known one is taken and the search
 * goes on after it. Columns no known piece starts at become units without a source (whole
 * block rows). Every ink pixel of `b` ends up in exactly one unit: its columns all hold ink (it
 * is a block), and rows a piece leaves out are background in its columns.
 */
function piecesOf(fb: PixelBuffer, b: GlyphBlock, bg: number, sizes: ReadonlyMap<number, ReadonlySet<number>>, sourceOf: (piece: Rect) => { x: number; y: number } | null): Unit[] {
  // The first and last ink row of each column: a piece's ink rows without reading it again.
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
      if (!sizes.get(w)?.has(u - t) || w * (u - t) < GLYPH_MIN_AREA) continue;
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

