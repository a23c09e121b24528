/**
 * Glyph copies: a character the client already shows somewhere is sent as a CopyRect from
 * there (16 bytes) instead of as pixels. A terminal writes the same few dozen glyphs over and
 * over; Hextile spends ~150 bytes on each, zlib ~35, and even ZRLE ~20.
 *
 * For each damaged rectangle small enough to be text being written (`findGlyphBlocks`):
 * 1. cut it into glyph blocks over its background colour;
 * 2. look each word (glyphs closer than a space, `findWords`) and each block up in the
 *    client's `GlyphIndex`, which records where the client shows which pixels (not what our
 *    framebuffer holds there now): a source is used only where the client holds exactly the
 *    pixels and this update does not write over it first, so a copy can never produce a wrong
 *    pixel. A word shown whole is one copy; otherwise its blocks are copied one by one, and a
 *    block of touching glyphs not known whole is cut into character cells (`cellsOf`, in
 *    monospace text) or looked up piece by piece (`piecesOf`);
 * 3. when that is estimated to cost fewer bytes than the rectangle's pixels (`bytesPerPixel`,
 *    what the client's encoding spends per pixel of text), the rectangle goes out as one fill
 *    of its background, then the blocks without a source as pixel rectangles (consecutive ones
 *    joined), then the copies; otherwise as pixels, as before. A copy of a small block costs
 *    more than ZRLE's or Tight's pixels for it (a web page scrolled by a few rows exposes slices
 *    of glyphs, 3×4 pixels each: copying them made the web scroll 12 % dearer with Tight).
 * Every word, block and cell sent is then recorded as a source for later updates (`learn`, with
 * its pixels as read now: the framebuffer may change before the update is out).
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { boundingRect, type Rect } from '../../core/geometry.js';
import { findGlyphBlocks, findWords, hashPixels, type GlyphBlock, type GlyphBlocks } from './glyph-blocks.js';
import { cellsOf, piecesOf, textPitch, type Source, type Unit } from './glyph-pieces.js';
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
  const lookup = new GlyphLookup(fb, index, overwritten, bytesPerPixel);
  for (const r of rects) {
    const cut = findGlyphBlocks(fb, r);
    if (!cut || cut.blocks.length === 0) {
      pixels.push(r);
      continue;
    }
    const units = lookup.unitsOf(cut);
    let ink = 0;
    for (const b of cut.blocks) ink += b.w * b.h;
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
  return { fills, pixels, copies, learn: lookup.learn };
}

/**
 * Looks up the blocks of one update's rectangles in the client's index and collects what the
 * update will teach it (`learn`).
 */
class GlyphLookup {
  readonly learn: { key: number; at: Rect; pixels: Uint32Array }[] = [];
  /** Pieces of blocks are read into this, one at a time (allocated when a block is split). */
  private scratch: Uint32Array | null = null;
  private sizes: ReadonlyMap<number, ReadonlySet<number>> | null = null;

  constructor(
    private readonly fb: PixelBuffer,
    private readonly index: GlyphIndex,
    private readonly overwritten: Region,
    private readonly bytesPerPixel: number,
  ) {}

  /**
   * `cut` as units: a word the client shows whole is one copy; otherwise each block is copied
   * whole, as cells or as pieces where the client shows them, and sent as pixels where not.
   */
  unitsOf(cut: GlyphBlocks): Unit[] {
    const { blocks, background } = cut;
    const words = findWords(cut).filter((w) => w.rect.w * w.rect.h <= MAX_BLOCK_PIXELS);
    // Every block's pixels, then every word's, in one array (a typed array per glyph cost more
    // than the hashing). Blocks too small or too large to copy have no key (-1).
    const offsets = new Int32Array(blocks.length);
    const keys = new Float64Array(blocks.length).fill(-1);
    let end = 0;
    for (let i = 0; i < blocks.length; i++) { offsets[i] = end; end += blocks[i]!.w * blocks[i]!.h; }
    let wordArea = 0;
    for (const w of words) wordArea += w.rect.w * w.rect.h;
    const buf = new Uint32Array(end + wordArea);
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      if (b.w * b.h < GLYPH_MIN_AREA || b.w * b.h > MAX_BLOCK_PIXELS) continue;
      blockPixels(this.fb, b, buf, offsets[i]);
      keys[i] = hashPixels(buf, offsets[i]!, b.w, b.h);
    }
    const pitch = textPitch(blocks, keys) || this.index.pitchHint;
    this.index.pitchHint = pitch;
    let wordOffset = end;
    let nextWord = 0;
    const units: Unit[] = [];
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i]!;
      const word = words[nextWord];
      if (word?.first === i) {
        nextWord++;
        const wo = wordOffset;
        wordOffset += word.rect.w * word.rect.h;
        blockPixels(this.fb, word.rect, buf, wo);
        const src = this.visit(word.rect, buf, wo, hashPixels(buf, wo, word.rect.w, word.rect.h));
        if (src) {
          // One copy for the word; its glyphs are still recorded, as sources for other words.
          units.push({ rect: word.rect, band: b.band, src });
          for (let k = i; k < word.end; k++) if (keys[k]! >= 0) this.visit(blocks[k]!, buf, offsets[k]!, keys[k]!);
          i = word.end - 1;
          continue;
        }
      }
      if (keys[i]! < 0) { units.push({ rect: b, band: b.band, src: null }); continue; }
      const src = this.visit(b, buf, offsets[i]!, keys[i]!);
      if (src) units.push({ rect: b, band: b.band, src });
      else units.push(...this.split(b, background, pitch));
    }
    return units;
  }

  /**
   * Block `b`, not shown whole, in parts: character cells where the text has a pitch that
   * divides it (each recorded), else the pieces the client shows.
   */
  private split(b: GlyphBlock, background: number, pitch: number): Unit[] {
    return (
      cellsOf(this.fb, b, background, pitch, GLYPH_MIN_AREA, (cell) => this.visitPiece(cell, true)) ??
      piecesOf(this.fb, b, background, (this.sizes ??= this.index.sizes()), GLYPH_MIN_AREA, (piece) => this.visitPiece(piece, false))
    );
  }

  /** Looks up block `b` (its pixels at `o` of `buf`, hashed `key`), records it to learn, and returns its source. */
  private visit(b: Rect, buf: Uint32Array, o: number, key: number): Source {
    const known = this.index.pixelsOf(key, b.w, b.h, buf, o);
    this.learn.push({ key, at: { x: b.x, y: b.y, w: b.w, h: b.h }, pixels: known ?? buf.slice(o, o + b.w * b.h) });
    return this.sourceOf(b, key, known);
  }

  /** Reads and looks up a piece of a block; `record`: learn it too. */
  private visitPiece(piece: Rect, record: boolean): Source {
    const sc = (this.scratch ??= new Uint32Array(MAX_BLOCK_PIXELS));
    blockPixels(this.fb, piece, sc, 0);
    const key = hashPixels(sc, 0, piece.w, piece.h);
    if (record) return this.visit(piece, sc, 0, key);
    return this.sourceOf(piece, key, this.index.pixelsOf(key, piece.w, piece.h, sc, 0));
  }

  /** Where the client shows `b` (`known`: its pixels are in the index), only where a copy is cheaper than its pixels. */
  private sourceOf(b: Rect, key: number, known: Uint32Array | null): Source {
    return known && b.w * b.h * this.bytesPerPixel > COPY_BYTES ? this.index.positionOutside(key, this.overwritten) : null;
  }
}
