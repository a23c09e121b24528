/**
 * Parser for the XWD dump format written by `xwd` (x11-apps), the ground truth for "what is on
 * the X screen" in integration tests. Produces the project's BGRX {@link PixelBuffer}.
 *
 * Format (X11/XWDFile.h): a 100-byte header of big-endian CARD32 fields, the NUL-terminated
 * window name (the header's `header_size` covers both), `ncolors` 12-byte XWDColor entries,
 * then ZPixmap rows of `bytes_per_line` bytes in the header's `byte_order`.
 */
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { ErrorCode, VncError } from '../../core/errors.js';

const XWD_FILE_VERSION = 7;
const HEADER_FIELDS = 25;
const HEADER_BYTES = HEADER_FIELDS * 4;
const COLOR_BYTES = 12;
const Z_PIXMAP = 2;
const LSB_FIRST = 0;
/** Bounds on header fields: a corrupt file must not make us allocate gigabytes. */
const MAX_SIDE = 32_767;
const MAX_HEADER = HEADER_BYTES + 4_096;
const MAX_COLORS = 65_536;

/** The XWD header fields tests care about. */
export interface XwdHeader {
  width: number;
  height: number;
  depth: number;
  bitsPerPixel: number;
  bytesPerLine: number;
  byteOrder: 'lsb' | 'msb';
  visualClass: number;
  redMask: number;
  greenMask: number;
  blueMask: number;
  ncolors: number;
  windowName: string;
}

/** A decoded XWD image: header plus BGRX pixels. */
export interface XwdImage {
  header: XwdHeader;
  pixels: PixelBuffer;
}

function bad(msg: string): never {
  throw new VncError(ErrorCode.Protocol, `xwd: ${msg}`);
}

/** Position of the lowest set bit and the width of a contiguous channel mask. */
function maskShape(mask: number): { shift: number; bits: number } {
  if (mask === 0) return { shift: 0, bits: 0 };
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  let bits = 0;
  while (((mask >>> (shift + bits)) & 1) === 1) bits++;
  return { shift, bits };
}

/** Scales a `bits`-wide channel value to 0..255. */
function to8(v: number, bits: number): number {
  if (bits === 8) return v;
  if (bits === 0) return 0;
  return bits > 8 ? v >>> (bits - 8) : Math.round((v * 255) / ((1 << bits) - 1));
}

/** Parses an XWD file (ZPixmap, 8/16/24/32 bits per pixel, TrueColor/DirectColor or colormapped). */
export function parseXwd(file: Buffer): XwdImage {
  if (file.length < HEADER_BYTES) bad(`file too short (${file.length} bytes)`);
  const f = (i: number): number => file.readUInt32BE(i * 4);
  const headerSize = f(0);
  if (f(1) !== XWD_FILE_VERSION) bad(`unsupported file version ${f(1)}`);
  if (headerSize < HEADER_BYTES || headerSize > MAX_HEADER || headerSize > file.length) bad(`bad header size ${headerSize}`);
  if (f(2) !== Z_PIXMAP) bad(`only ZPixmap is supported (format ${f(2)})`);
  const width = f(4);
  const height = f(5);
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) bad(`bad size ${width}x${height}`);
  const bitsPerPixel = f(11);
  if (![8, 16, 24, 32].includes(bitsPerPixel)) bad(`unsupported bits per pixel ${bitsPerPixel}`);
  const bytesPerLine = f(12);
  if (bytesPerLine < (width * bitsPerPixel) / 8) bad(`bytes_per_line ${bytesPerLine} too small for width ${width}`);
  const ncolors = f(19);
  if (ncolors > MAX_COLORS) bad(`too many colours ${ncolors}`);
  const nameEnd = file.indexOf(0, HEADER_BYTES);
  const header: XwdHeader = {
    width,
    height,
    depth: f(3),
    bitsPerPixel,
    bytesPerLine,
    byteOrder: f(7) === LSB_FIRST ? 'lsb' : 'msb',
    visualClass: f(13),
    redMask: f(14),
    greenMask: f(15),
    blueMask: f(16),
    ncolors,
    windowName: file.toString('latin1', HEADER_BYTES, nameEnd >= 0 && nameEnd < headerSize ? nameEnd : headerSize),
  };
  const colorsAt = headerSize;
  const dataAt = colorsAt + ncolors * COLOR_BYTES;
  const need = dataAt + bytesPerLine * (height - 1) + Math.ceil((width * bitsPerPixel) / 8);
  if (file.length < need) bad(`truncated: ${file.length} bytes, need ${need}`);

  const out = createPixelBuffer(width, height);
  const trueColor = header.visualClass >= 4; // TrueColor (4) or DirectColor (5)
  if (
    trueColor &&
    bitsPerPixel === 32 &&
    header.byteOrder === 'lsb' &&
    header.redMask === 0xff0000 &&
    header.greenMask === 0x00ff00 &&
    header.blueMask === 0x0000ff
  ) {
    // The common case (depth 24 on little-endian): rows are already B,G,R,X.
    for (let y = 0; y < height; y++) {
      const src = dataAt + y * bytesPerLine;
      file.copy(out.data, y * width * 4, src, src + width * 4);
    }
    return { header, pixels: out };
  }

  const readPixel = pixelReader(file, bitsPerPixel, header.byteOrder);
  let toRgb: (v: number) => number;
  if (trueColor) {
    const r = maskShape(header.redMask);
    const g = maskShape(header.greenMask);
    const b = maskShape(header.blueMask);
    toRgb = (v) =>
      (to8((v & header.redMask) >>> r.shift, r.bits) << 16) |
      (to8((v & header.greenMask) >>> g.shift, g.bits) << 8) |
      to8((v & header.blueMask) >>> b.shift, b.bits);
  } else {
    const map = new Map<number, number>();
    for (let i = 0; i < ncolors; i++) {
      const at = colorsAt + i * COLOR_BYTES;
      map.set(
        file.readUInt32BE(at),
        ((file.readUInt16BE(at + 4) >>> 8) << 16) | ((file.readUInt16BE(at + 6) >>> 8) << 8) | (file.readUInt16BE(at + 8) >>> 8),
      );
    }
    toRgb = (v) => map.get(v) ?? 0;
  }
  const bytesPP = bitsPerPixel / 8;
  for (let y = 0; y < height; y++) {
    const row = dataAt + y * bytesPerLine;
    for (let x = 0; x < width; x++) out.pixels[y * width + x] = toRgb(readPixel(row + x * bytesPP));
  }
  return { header, pixels: out };
}

function pixelReader(file: Buffer, bpp: number, order: 'lsb' | 'msb'): (at: number) => number {
  const lsb = order === 'lsb';
  switch (bpp) {
    case 8:
      return (at) => file[at]!;
    case 16:
      return lsb ? (at) => file.readUInt16LE(at) : (at) => file.readUInt16BE(at);
    case 24:
      return lsb ? (at) => file.readUIntLE(at, 3) : (at) => file.readUIntBE(at, 3);
    default:
      return lsb ? (at) => file.readUInt32LE(at) : (at) => file.readUInt32BE(at);
  }
}
