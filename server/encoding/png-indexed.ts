/**
 * Lossless palette PNGs (colour type 3) for TightPNG's few-coloured pieces: text, UI, diagrams;
 * and greyscale PNGs (colour type 0) for such pieces whose colours are all greys.
 *
 * Why not sharp: its palette output goes through libimagequant, which may merge or dither
 * colours, and a VNC viewer must get the exact pixels. An RGB PNG would be lossless but carries
 * three bytes per pixel where the palette needs one bit to one byte, and row filters (good for
 * photos) make text worse. The container is a handful of fixed chunks (PNG spec §5: signature,
 * IHDR, PLTE, IDAT, IEND, each with a CRC-32); the compression is node's native zlib, run off
 * the main thread.
 */
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { clampZlibLevel } from './zlib-stream.js';
import type { Palette } from './palette.js';

const deflate = promisify(zlib.deflate);

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOUR_TYPE_GREY = 0;
const COLOUR_TYPE_INDEXED = 3;
/**
 * Above this many colours a grey piece goes as a greyscale PNG. Both then take a byte per pixel,
 * but the grey level *is* the pixel: no PLTE chunk, which PNG stores uncompressed (3 bytes per
 * colour, a quarter of the bytes of an antialiased terminal line), and the values need no
 * lookup. Text antialiased between two greys (terminals, black on white) is all greys. Up to 16
 * colours the palette's 1–4-bit indices are smaller than 8-bit grey levels.
 */
const GREY_MIN_COLOURS = 17;
const FILTER_NONE = 0;

/** Smallest PNG bit depth that holds `colours` palette indices (PNG allows 1, 2, 4, 8). */
export function indexBitDepth(colours: number): 1 | 2 | 4 | 8 {
  if (colours < 1 || colours > 256) throw new VncError(ErrorCode.Config, `an indexed PNG holds 1..256 colours, not ${colours}`);
  return colours <= 2 ? 1 : colours <= 4 ? 2 : colours <= 16 ? 4 : 8;
}

/**
 * The PNG scanlines of `r`: per row a filter byte (none) and the pixels' palette indices packed
 * at `depth` bits, leftmost pixel in the high bits (PNG spec §7.2). Every pixel's colour must be
 * in `palette` (as `analyseColours` leaves it).
 */
export function indexedScanlines(fb: PixelBuffer, r: Rect, palette: Palette, depth: 1 | 2 | 4 | 8): Buffer {
  const rowBytes = 1 + ((r.w * depth + 7) >> 3);
  const out = Buffer.alloc(rowBytes * r.h);
  const px = fb.pixels;
  for (let y = 0; y < r.h; y++) {
    let o = y * rowBytes;
    out[o++] = FILTER_NONE;
    let s = (r.y + y) * fb.stride + r.x;
    let prev = -1, idx = 0, shift = 8 - depth;
    for (const end = s + r.w; s < end; s++) {
      const v = px[s]!;
      if (v !== prev) { prev = v; idx = palette.lookup(v); }
      out[o] |= idx << shift;
      shift -= depth;
      if (shift < 0) { shift = 8 - depth; o++; }
    }
  }
  return out;
}

/** Per row a filter byte (none) and each pixel's grey level (its blue byte, = red = green). */
function greyScanlines(fb: PixelBuffer, r: Rect): Buffer {
  const rowBytes = 1 + r.w;
  const out = Buffer.allocUnsafe(rowBytes * r.h);
  const px = fb.pixels;
  for (let y = 0; y < r.h; y++) {
    let o = y * rowBytes;
    out[o++] = FILTER_NONE;
    let s = (r.y + y) * fb.stride + r.x;
    for (const end = s + r.w; s < end; s++) out[o++] = px[s]!;
  }
  return out;
}

/** Are all of the palette's colours greys (red = green = blue)? */
function allGrey(palette: Palette): boolean {
  for (let i = 0; i < palette.size; i++) {
    const c = palette.colours[i]!;
    const b = c & 0xff;
    if (((c >>> 8) & 0xff) !== b || ((c >>> 16) & 0xff) !== b) return false;
  }
  return true;
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** IHDR data: size, bit depth, colour type; deflate, filter method 0, no interlace (bytes 10–12 zero). */
function ihdr(r: Rect, depth: number, colourType: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(r.w, 0);
  b.writeUInt32BE(r.h, 4);
  b[8] = depth;
  b[9] = colourType;
  return b;
}

/**
 * A lossless PNG of `r`, whose colours are exactly `palette.colours[0, palette.size)` (internal
 * `0x00RRGGBB`): greyscale when they are all greys and more than 16, else a palette PNG.
 * `zlibLevel` is used as is.
 */
export async function encodeIndexedPng(fb: PixelBuffer, r: Rect, palette: Palette, zlibLevel: number): Promise<Buffer> {
  const n = palette.size;
  const level = clampZlibLevel(zlibLevel);
  const chunks: Buffer[] = [SIGNATURE];
  if (n >= GREY_MIN_COLOURS && allGrey(palette)) {
    chunks.push(chunk('IHDR', ihdr(r, 8, COLOUR_TYPE_GREY)), chunk('IDAT', await deflate(greyScanlines(fb, r), { level })));
  } else {
    const depth = indexBitDepth(n);
    const plte = Buffer.allocUnsafe(3 * n);
    for (let i = 0; i < n; i++) {
      const c = palette.colours[i]!;
      plte[3 * i] = c >>> 16;
      plte[3 * i + 1] = c >>> 8;
      plte[3 * i + 2] = c;
    }
    chunks.push(chunk('IHDR', ihdr(r, depth, COLOUR_TYPE_INDEXED)), chunk('PLTE', plte));
    chunks.push(chunk('IDAT', await deflate(indexedScanlines(fb, r, palette, depth), { level })));
  }
  chunks.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(chunks);
}
