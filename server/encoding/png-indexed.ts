/**
 * Lossless palette PNGs (colour type 3) for TightPNG's few-coloured pieces: text, UI, diagrams.
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
const COLOUR_TYPE_INDEXED = 3;
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

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(zlib.crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * A palette PNG of `r`, whose colours are exactly `palette.colours[0, palette.size)` (internal
 * `0x00RRGGBB`). `compressLevel` is the client's 0–9 level, used as the zlib level.
 */
export async function encodeIndexedPng(fb: PixelBuffer, r: Rect, palette: Palette, compressLevel: number): Promise<Buffer> {
  const n = palette.size;
  const depth = indexBitDepth(n);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(r.w, 0);
  ihdr.writeUInt32BE(r.h, 4);
  ihdr[8] = depth;
  ihdr[9] = COLOUR_TYPE_INDEXED;
  // Bytes 10–12 stay 0: deflate compression, adaptive filtering method 0, no interlace.
  const plte = Buffer.allocUnsafe(3 * n);
  for (let i = 0; i < n; i++) {
    const c = palette.colours[i]!;
    plte[3 * i] = c >>> 16;
    plte[3 * i + 1] = c >>> 8;
    plte[3 * i + 2] = c;
  }
  const idat = await deflate(indexedScanlines(fb, r, palette, depth), { level: clampZlibLevel(compressLevel) });
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('PLTE', plte), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
