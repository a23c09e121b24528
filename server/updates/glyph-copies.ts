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
 *    a copy can never produce a wrong pixel;
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
import type { Rect } from '../../core/geometry.js';
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
  for (const r of rects) {
    const cut = findGlyphBlocks(fb, r);
    if (!cut || cut.blocks.length === 0) {
      pixels.push(r);
      continue;
    }
    const blocks = cut.blocks;
    const sources: ({ x: number; y: number } | null)[] = [];
    let ink = 0;
    for (const b of blocks) ink += b.w * b.h;
    // Every block's pixels in one array (a typed array per glyph cost more than the hashing).
    const buf = new Uint32Array(ink);
    let offset = 0;
    let found = 0;
    for (const b of blocks) {
      const area = b.w * b.h;
      const o = offset;
      offset += area;
      if (area < GLYPH_MIN_AREA || area > MAX_BLOCK_PIXELS) { sources.push(null); continue; }
      blockPixels(fb, b, buf, o);
      const key = hashPixels(buf, o, b.w, b.h);
      const known = index.pixelsOf(key, b.w, b.h, buf, o);
      learn.push({ key, at: { x: b.x, y: b.y, w: b.w, h: b.h }, pixels: known ?? buf.slice(o, offset) });
      // Only where a copy is cheaper than the block's pixels.
      const src = known && area * bytesPerPixel > COPY_BYTES ? index.positionOutside(key, overwritten) : null;
      sources.push(src);
      if (src) found++;
    }
    if (found === 0) {
      pixels.push(r);
      continue;
    }
    // A run of blocks without a source in one band goes as one pixel rectangle around them
    // (the columns between them are background in the band's rows, so no copy lands inside).
    const rest: Rect[] = [];
    let cost = FILL_BYTES + found * COPY_BYTES;
    for (let i = 0; i < blocks.length; i++) {
      if (sources[i]) continue;
      let j = i;
      while (j + 1 < blocks.length && !sources[j + 1] && blocks[j + 1]!.band === blocks[i]!.band) j++;
      const run = boundsOf(blocks, i, j);
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
    blocks.forEach((b, i) => {
      const src = sources[i];
      if (src) copies.push({ dest: { x: b.x, y: b.y, w: b.w, h: b.h }, srcX: src.x, srcY: src.y });
    });
  }
  return { fills, pixels, copies, learn };
}

function boundsOf(blocks: readonly GlyphBlock[], from: number, to: number): Rect {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (let k = from; k <= to; k++) {
    const b = blocks[k]!;
    x1 = Math.min(x1, b.x); y1 = Math.min(y1, b.y);
    x2 = Math.max(x2, b.x + b.w); y2 = Math.max(y2, b.y + b.h);
  }
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}
