/**
 * RFB pixel formats (RFB 3.8 §7.4 "Pixel Format Data Structure") and conversion from the
 * internal BGRX framebuffer to whatever true-colour format a client asked for.
 *
 * Conversion is table driven: for each channel a 256-entry table maps the 8-bit source value to
 * the scaled, shifted client value, so one pixel costs three lookups and two ORs whatever the
 * format. Fast paths cover the two formats real clients use (the native one, and noVNC's
 * R0/G8/B16).
 */
import type { PixelBuffer } from '../core/pixel-buffer.js';
import type { Rect } from '../core/geometry.js';
import { ErrorCode, VncError } from '../core/errors.js';

export interface PixelFormat {
  readonly bitsPerPixel: number;
  readonly depth: number;
  readonly bigEndian: boolean;
  readonly trueColour: boolean;
  readonly redMax: number;
  readonly greenMax: number;
  readonly blueMax: number;
  readonly redShift: number;
  readonly greenShift: number;
  readonly blueShift: number;
}

/** What ServerInit announces: exactly the layout X capture gives (BGRX little-endian). */
export const NATIVE_PIXEL_FORMAT: PixelFormat = Object.freeze({
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
});

/** Serialises the 16-byte PIXEL_FORMAT structure. */
export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b[0] = pf.bitsPerPixel;
  b[1] = pf.depth;
  b[2] = pf.bigEndian ? 1 : 0;
  b[3] = pf.trueColour ? 1 : 0;
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b[10] = pf.redShift;
  b[11] = pf.greenShift;
  b[12] = pf.blueShift;
  return b;
}

/** Parses the 16-byte PIXEL_FORMAT structure at `offset` (no validation; see validatePixelFormat). */
export function decodePixelFormat(b: Uint8Array, offset = 0): PixelFormat {
  const v = new DataView(b.buffer, b.byteOffset + offset, 16);
  return {
    bitsPerPixel: b[offset]!,
    depth: b[offset + 1]!,
    bigEndian: b[offset + 2] !== 0,
    trueColour: b[offset + 3] !== 0,
    redMax: v.getUint16(4),
    greenMax: v.getUint16(6),
    blueMax: v.getUint16(8),
    redShift: b[offset + 10]!,
    greenShift: b[offset + 11]!,
    blueShift: b[offset + 12]!,
  };
}

/**
 * Throws VNC_ERR_UNSUPPORTED for formats we cannot produce: colour maps, bpp other than
 * 8/16/32, or channel masks that do not fit in the pixel.
 */
export function validatePixelFormat(pf: PixelFormat): void {
  if (!pf.trueColour) {
    throw new VncError(ErrorCode.Unsupported, 'colour-map pixel formats are not supported; use true colour');
  }
  if (pf.bitsPerPixel !== 8 && pf.bitsPerPixel !== 16 && pf.bitsPerPixel !== 32) {
    throw new VncError(ErrorCode.Unsupported, `bits-per-pixel ${pf.bitsPerPixel} is not 8, 16 or 32`);
  }
  for (const [max, shift, name] of [
    [pf.redMax, pf.redShift, 'red'],
    [pf.greenMax, pf.greenShift, 'green'],
    [pf.blueMax, pf.blueShift, 'blue'],
  ] as const) {
    if (max === 0 || shift >= pf.bitsPerPixel || (max & (max + 1)) !== 0) {
      throw new VncError(ErrorCode.Unsupported, `${name} max ${max} / shift ${shift} is not a valid channel`);
    }
    if (max * 2 ** shift >= 2 ** pf.bitsPerPixel) {
      throw new VncError(ErrorCode.Unsupported, `${name} channel does not fit in ${pf.bitsPerPixel} bits`);
    }
  }
}

export function pixelFormatsEqual(a: PixelFormat, b: PixelFormat): boolean {
  // Byte order is irrelevant at 8 bpp.
  return (
    a.bitsPerPixel === b.bitsPerPixel &&
    a.depth === b.depth &&
    (a.bigEndian === b.bigEndian || a.bitsPerPixel === 8) &&
    a.trueColour === b.trueColour &&
    a.redMax === b.redMax &&
    a.greenMax === b.greenMax &&
    a.blueMax === b.blueMax &&
    a.redShift === b.redShift &&
    a.greenShift === b.greenShift &&
    a.blueShift === b.blueShift
  );
}

function channelTable(max: number, shift: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let v = 0; v < 256; v++) t[v] = (Math.round((v * max) / 255) * 2 ** shift) >>> 0;
  return t;
}

/**
 * Converts internal BGRX pixels to one client pixel format. Create one per SetPixelFormat and
 * reuse it: construction builds the lookup tables.
 */
export class PixelConverter {
  readonly format: PixelFormat;
  readonly bytesPerPixel: number;
  private readonly rT: Uint32Array;
  private readonly gT: Uint32Array;
  private readonly bT: Uint32Array;
  /** Internal layout is identical to the client's: rows can be copied as they are. */
  readonly isNative: boolean;
  /** 32-bit little-endian R0/G8/B16 (noVNC): a red/blue swap per pixel. */
  private readonly isRgbx: boolean;

  constructor(format: PixelFormat) {
    validatePixelFormat(format);
    this.format = format;
    this.bytesPerPixel = format.bitsPerPixel / 8;
    this.rT = channelTable(format.redMax, format.redShift);
    this.gT = channelTable(format.greenMax, format.greenShift);
    this.bT = channelTable(format.blueMax, format.blueShift);
    const full = format.redMax === 255 && format.greenMax === 255 && format.blueMax === 255;
    this.isNative = format.bitsPerPixel === 32 && !format.bigEndian && full &&
      format.redShift === 16 && format.greenShift === 8 && format.blueShift === 0;
    this.isRgbx = format.bitsPerPixel === 32 && !format.bigEndian && full &&
      format.redShift === 0 && format.greenShift === 8 && format.blueShift === 16;
  }

  /** The client pixel value for one internal `0x00RRGGBB` pixel. */
  pixel(bgrx: number): number {
    return (this.rT[(bgrx >>> 16) & 0xff]! | this.gT[(bgrx >>> 8) & 0xff]! | this.bT[bgrx & 0xff]!) >>> 0;
  }

  /** Writes a client pixel value (from `pixel()`) at `offset` in the client's byte order. */
  writePixel(out: Buffer, offset: number, value: number): void {
    switch (this.bytesPerPixel) {
      case 4:
        if (this.format.bigEndian) out.writeUInt32BE(value, offset);
        else out.writeUInt32LE(value, offset);
        break;
      case 2:
        if (this.format.bigEndian) out.writeUInt16BE(value, offset);
        else out.writeUInt16LE(value, offset);
        break;
      default:
        out[offset] = value;
    }
  }

  /**
   * The pixels of `r` (which must lie inside `fb`) in client format, rows packed with no
   * padding: exactly `r.w * r.h * bytesPerPixel` bytes. Reads `fb` synchronously.
   */
  convertRect(fb: PixelBuffer, r: Rect, out?: Buffer, outOffset = 0): Buffer {
    const bpp = this.bytesPerPixel;
    const size = r.w * r.h * bpp;
    const dst = out ?? Buffer.allocUnsafe(size);
    if (this.isNative) {
      const rowBytes = r.w * 4;
      for (let y = 0; y < r.h; y++) {
        const src = ((r.y + y) * fb.stride + r.x) * 4;
        fb.data.copy(dst, outOffset + y * rowBytes, src, src + rowBytes);
      }
      return dst;
    }
    const px = fb.pixels;
    if (this.isRgbx && (dst.byteOffset + outOffset) % 4 === 0) {
      const d32 = new Uint32Array(dst.buffer, dst.byteOffset + outOffset, r.w * r.h);
      let o = 0;
      for (let y = 0; y < r.h; y++) {
        let s = (r.y + y) * fb.stride + r.x;
        for (let x = 0; x < r.w; x++, s++) {
          const v = px[s]!;
          d32[o++] = ((v >>> 16) & 0xff) | (v & 0xff00) | ((v & 0xff) << 16);
        }
      }
      return dst;
    }
    let o = outOffset;
    const { rT, gT, bT } = this;
    const be = this.format.bigEndian;
    for (let y = 0; y < r.h; y++) {
      let s = (r.y + y) * fb.stride + r.x;
      for (let x = 0; x < r.w; x++, s++) {
        const v = px[s]!;
        const c = (rT[(v >>> 16) & 0xff]! | gT[(v >>> 8) & 0xff]! | bT[v & 0xff]!) >>> 0;
        if (bpp === 4) {
          if (be) dst.writeUInt32BE(c, o);
          else dst.writeUInt32LE(c, o);
        } else if (bpp === 2) {
          if (be) { dst[o] = c >>> 8; dst[o + 1] = c & 0xff; }
          else { dst[o] = c & 0xff; dst[o + 1] = c >>> 8; }
        } else dst[o] = c;
        o += bpp;
      }
    }
    return dst;
  }
}
