/**
 * ZRLE encoding (16): the rectangle as 64×64 tiles, each raw, solid, packed palette (2–16
 * colours), plain RLE or palette RLE (the format allows up to 127 colours; we use it up to
 * PALETTE_MODE_MAX_COLOURS), whichever is smallest before compression; all tiles of a rectangle
 * go through one persistent zlib stream per session, sync-flushed per rectangle, behind a U32
 * length (rfbproto "ZRLE Encoding"). Pixels are CPIXELs. Repetitive pieces (text, UI) are
 * compressed at least at REPETITIVE_MIN_ZLIB_LEVEL (`zlibLevelFor`).
 *
 * One pass per tile does the analysis: runs are counted and the palette is updated only where
 * the colour changes, which is what makes desktop content (long runs) cheap.
 */
import type { Encoder, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache, type PixelPacker } from './pixel-pack.js';
import { Palette } from './palette.js';
import { splitRect } from './split.js';
import { ZlibStream } from './zlib-stream.js';
import { BufferPool } from './buffer-pool.js';
import { isRepetitive, zlibLevelFor } from './content-class.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

const TILE = 64;
const MAX_PACKED_PALETTE = 16;
/**
 * Tiles with more colours than this never use a palette subencoding, even when it is smallest
 * before compression. Palette indices mean something different in every tile, so zlib cannot
 * match a glyph or an icon against the same pixels in another tile, and the palette itself
 * (3 bytes per colour per tile) compresses poorly; CPIXEL runs are the same bytes wherever they
 * occur. Measured on the bench scenes' captured updates (antialiased text has 50–230 colours
 * per tile): the terminal 31 % fewer bytes after zlib, the web page 2 % fewer, window drag the
 * same, typing 2 % more (48 was the best of 16–64; photo tiles have far more colours).
 */
const PALETTE_MODE_MAX_COLOURS = 48;
export const DEFAULT_ZRLE_LEVEL = 6;

export interface ZrleEncoderOptions {
  /** Pixels per emitted rectangle at most; pieces are whole 64-row bands (default 2048×64). */
  maxPieceArea?: number;
}

/** Bytes a run of `n` takes in the RLE length encoding: 255s then the remainder. */
function runLengthBytes(n: number): number {
  return ((n - 1) / 255 | 0) + 1;
}

/** `buffers` lends the tile data (back once compressed) and the compressed output. */
export function createZrleEncoder(options: ZrleEncoderOptions = {}, buffers = new BufferPool()): Encoder {
  const maxArea = options.maxPieceArea ?? 2048 * TILE;
  const packerFor = packerCache('cpixel');
  const stream = new ZlibStream(DEFAULT_ZRLE_LEVEL, buffers);
  // Colours beyond PALETTE_MODE_MAX_COLOURS would never be used, so the analysis stops
  // recording them there (same output; no measurable speed difference on photos).
  const palette = new Palette(PALETTE_MODE_MAX_COLOURS);

  function encodePiece(fb: PixelBuffer, p: Rect, packer: PixelPacker): Buffer {
    const cp = packer.bytesPerPixel;
    const tiles = Math.ceil(p.w / TILE) * Math.ceil(p.h / TILE);
    // Every tile is at most 1 + raw size, since raw is always a candidate.
    const out = buffers.take(tiles + p.w * p.h * cp);
    let o = 0;
    for (let ty = p.y; ty < p.y + p.h; ty += TILE) {
      for (let tx = p.x; tx < p.x + p.w; tx += TILE) {
        const tw = Math.min(TILE, p.x + p.w - tx), th = Math.min(TILE, p.y + p.h - ty);
        o = encodeTile(fb, tx, ty, tw, th, packer, out, o);
      }
    }
    return out.subarray(0, o);
  }

  function encodeTile(fb: PixelBuffer, x: number, y: number, w: number, h: number, packer: PixelPacker, out: Buffer, o: number): number {
    const px = fb.pixels, stride = fb.stride, cp = packer.bytesPerPixel;
    // Analysis: runs in raster order (they may cross rows), palette at colour changes.
    palette.clear();
    let overflow = false;
    let plainRle = 0, paletteRle = 0;
    const raw = w * h * cp;
    let prev = px[y * stride + x]!, run = 0;
    for (let j = 0; j < h; j++) {
      let s = (y + j) * stride + x;
      const end = s + w;
      for (; s < end; s++) {
        const v = px[s]!;
        if (v === prev) { run++; continue; }
        plainRle += cp + runLengthBytes(run);
        paletteRle += run === 1 ? 1 : 1 + runLengthBytes(run);
        if (!overflow && palette.add(prev, run) < 0) overflow = true;
        prev = v;
        run = 1;
      }
      // Too many colours for a palette and plain RLE already over raw (it only grows): the tile
      // is raw whatever the rest holds, so photo and video tiles skip the rest of the analysis.
      if (overflow && plainRle > raw) return writeRaw(px, stride, x, y, w, h, packer, out, o);
    }
    plainRle += cp + runLengthBytes(run);
    paletteRle += run === 1 ? 1 : 1 + runLengthBytes(run);
    if (!overflow && palette.add(prev, run) < 0) overflow = true;

    const n = palette.size;
    if (!overflow && n === 1) {
      out[o++] = 1;
      return packer.pack(palette.colours[0]!, out, o);
    }
    const bits = n <= 2 ? 1 : n <= 4 ? 2 : 4;
    // The palette holds at most PALETTE_MODE_MAX_COLOURS: past that it overflowed.
    const palettes = !overflow;
    const packed = palettes && n <= MAX_PACKED_PALETTE ? n * cp + ((w * bits + 7) >> 3) * h : Infinity;
    const palRle = palettes ? n * cp + paletteRle : Infinity;
    const best = Math.min(raw, plainRle, packed, palRle);
    // Sorted, the same colours get the same indices in every tile that has them: 2.4 % fewer
    // bytes after zlib on the web page, 0.6 % on window drag.
    if (best === packed || best === palRle) palette.sortByColour();
    if (best === packed) return writePacked(px, stride, x, y, w, h, bits, packer, out, o);
    if (best === palRle) return writePaletteRle(px, stride, x, y, w, h, packer, out, o);
    if (best === plainRle) return writePlainRle(px, stride, x, y, w, h, packer, out, o);
    return writeRaw(px, stride, x, y, w, h, packer, out, o);
  }

  function writeRaw(px: Uint32Array, stride: number, x: number, y: number, w: number, h: number, packer: PixelPacker, out: Buffer, o: number): number {
    out[o++] = 0;
    for (let j = 0; j < h; j++) o = packer.packRun(px, (y + j) * stride + x, w, out, o);
    return o;
  }

  function writePalette(packer: PixelPacker, out: Buffer, o: number): number {
    for (let i = 0; i < palette.size; i++) o = packer.pack(palette.colours[i]!, out, o);
    return o;
  }

  function writePacked(px: Uint32Array, stride: number, x: number, y: number, w: number, h: number, bits: number, packer: PixelPacker, out: Buffer, o: number): number {
    out[o++] = palette.size;
    o = writePalette(packer, out, o);
    for (let j = 0; j < h; j++) {
      let s = (y + j) * stride + x;
      let acc = 0, nbits = 0, prev = -1, idx = 0;
      for (let i = 0; i < w; i++, s++) {
        const v = px[s]!;
        if (v !== prev) { prev = v; idx = palette.lookup(v); }
        acc = (acc << bits) | idx;
        nbits += bits;
        if (nbits === 8) { out[o++] = acc; acc = 0; nbits = 0; }
      }
      // Rows are padded to whole bytes, leftmost pixel in the most significant bits.
      if (nbits > 0) out[o++] = acc << (8 - nbits);
    }
    return o;
  }

  function writeRuns(px: Uint32Array, stride: number, x: number, y: number, w: number, h: number, emit: (colour: number, run: number, o: number) => number, o: number): number {
    let prev = px[y * stride + x]!, run = 0;
    for (let j = 0; j < h; j++) {
      let s = (y + j) * stride + x;
      const end = s + w;
      for (; s < end; s++) {
        const v = px[s]!;
        if (v === prev) { run++; continue; }
        o = emit(prev, run, o);
        prev = v;
        run = 1;
      }
    }
    return emit(prev, run, o);
  }

  function writeLength(run: number, out: Buffer, o: number): number {
    let rest = run - 1;
    while (rest >= 255) { out[o++] = 255; rest -= 255; }
    out[o++] = rest;
    return o;
  }

  function writePlainRle(px: Uint32Array, stride: number, x: number, y: number, w: number, h: number, packer: PixelPacker, out: Buffer, o: number): number {
    out[o++] = 128;
    return writeRuns(px, stride, x, y, w, h, (c, run, p) => writeLength(run, out, packer.pack(c, out, p)), o);
  }

  function writePaletteRle(px: Uint32Array, stride: number, x: number, y: number, w: number, h: number, packer: PixelPacker, out: Buffer, o: number): number {
    out[o++] = 128 + palette.size;
    o = writePalette(packer, out, o);
    return writeRuns(px, stride, x, y, w, h, (c, run, p) => {
      const idx = palette.lookup(c);
      if (run === 1) { out[p] = idx; return p + 1; }
      out[p] = idx | 128;
      return writeLength(run, out, p + 1);
    }, o);
  }

  return {
    encoding: Encoding.ZRLE,
    encode(fb, r, ctx): Promise<EncodedRects> {
      const packer = packerFor(ctx.converter);
      const clientLevel = ctx.compressLevel ?? DEFAULT_ZRLE_LEVEL;
      const parts = splitRect(r, maxArea, 65535, TILE).map(async (p) => {
        const level = zlibLevelFor(isRepetitive(fb.pixels, fb.stride, p), clientLevel);
        const z = stream.compress(encodePiece(fb, p, packer), level);
        const head = Buffer.allocUnsafe(16);
        rectHeader(p.x, p.y, p.w, p.h, Encoding.ZRLE).copy(head, 0);
        const data = await z;
        head.writeUInt32BE(data.length, 12);
        return [head, data];
      });
      return Promise.all(parts).then((list) => ({ count: list.length, chunks: list.flat() }));
    },
    dispose() {
      stream.dispose();
    },
  };
}
