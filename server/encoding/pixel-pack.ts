/**
 * Wire packing of internal BGRX pixels (`0x00RRGGBB`) for the encoders.
 *
 * RFB has three pixel wire forms:
 * - `PIXEL`: the client's pixel format, `bitsPerPixel/8` bytes in the client's byte order;
 * - `CPIXEL` (ZRLE): 3 bytes when the format is 32 bpp true colour, depth ≤ 24 and every channel
 *   bit lies in the least (preferred) or the most significant 3 bytes; otherwise a PIXEL;
 * - `TPIXEL` (Tight): R, G, B bytes when the format is 32 bpp, depth 24, 8 bits per channel;
 *   otherwise a PIXEL.
 *
 * A packer is specialised once per (format, form) so the per-pixel work in hot loops is a value
 * conversion plus a fixed number of byte stores, with no Buffer method calls.
 */
import { endianness } from 'node:os';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import type { PixelConverter } from '../pixel-format.js';

export type PixelForm = 'pixel' | 'cpixel' | 'tpixel';

export interface PixelPacker {
  /** Bytes one packed pixel takes on the wire. */
  readonly bytesPerPixel: number;
  /** Writes one internal pixel at `out[o]`; returns the offset after it. */
  pack(bgrx: number, out: Uint8Array, o: number): number;
  /** Writes `n` consecutive pixels `src[s…s+n)`; returns the offset after them. */
  packRun(src: Uint32Array, s: number, n: number, out: Uint8Array, o: number): number;
  /** Writes the pixels of `r` (inside `fb`) row after row, no padding; returns the end offset. */
  packRect(fb: PixelBuffer, r: Rect, out: Uint8Array, o: number): number;
}

/** Is the client format eligible for 3-byte Tight TPIXELs? */
export function usesTightTpixel(converter: PixelConverter): boolean {
  const f = converter.format;
  return f.trueColour && f.bitsPerPixel === 32 && f.depth === 24 &&
    f.redMax === 255 && f.greenMax === 255 && f.blueMax === 255;
}

/**
 * For ZRLE CPIXELs: which byte shifts of the client pixel value go on the wire, in wire order.
 * `null` means a CPIXEL is a full PIXEL for this format.
 */
function cpixelShifts(converter: PixelConverter): number[] | null {
  const f = converter.format;
  if (!f.trueColour || f.bitsPerPixel !== 32 || f.depth > 24) return null;
  const mask = (f.redMax * 2 ** f.redShift + f.greenMax * 2 ** f.greenShift + f.blueMax * 2 ** f.blueShift);
  const fitsLow = mask < 2 ** 24;
  const fitsHigh = mask % 256 === 0;
  // By convention the least significant bytes win when both would do (rfbproto, ZRLE).
  const keep = fitsLow ? [0, 8, 16] : fitsHigh ? [8, 16, 24] : null;
  if (!keep) return null;
  const order = f.bigEndian ? [24, 16, 8, 0] : [0, 8, 16, 24];
  return order.filter((s) => keep.includes(s));
}

/** Byte shifts of a full PIXEL in wire order. */
function pixelShifts(converter: PixelConverter): number[] {
  const f = converter.format;
  switch (f.bitsPerPixel) {
    case 32: return f.bigEndian ? [24, 16, 8, 0] : [0, 8, 16, 24];
    case 16: return f.bigEndian ? [8, 0] : [0, 8];
    default: return [0];
  }
}

/** Bytes per ZRLE CPIXEL for this client format. */
export function cpixelSize(converter: PixelConverter): number {
  return cpixelShifts(converter)?.length ?? converter.bytesPerPixel;
}

export function createPixelPacker(converter: PixelConverter, form: PixelForm): PixelPacker {
  if (form === 'tpixel' && usesTightTpixel(converter)) {
    // TPIXEL is R,G,B whatever the shifts: taken straight from the internal value.
    return makePacker(null, [16, 8, 0], false);
  }
  const shifts = (form === 'cpixel' ? cpixelShifts(converter) : null) ?? pixelShifts(converter);
  const f = converter.format;
  const tables = converter.isNative ? null : [
    channelTable(f.redMax, f.redShift), channelTable(f.greenMax, f.greenShift), channelTable(f.blueMax, f.blueShift),
  ] as const;
  return makePacker(tables, shifts, converter.isNative && form === 'pixel');
}

/** Same scaling as PixelConverter (round(v·max/255) << shift), kept here for inlined lookups. */
function channelTable(max: number, shift: number): Uint32Array {
  const t = new Uint32Array(256);
  for (let v = 0; v < 256; v++) t[v] = (Math.round((v * max) / 255) * 2 ** shift) >>> 0;
  return t;
}

type Tables = readonly [Uint32Array, Uint32Array, Uint32Array] | null;

/** Runs up to this many pixels are copied in a loop rather than through a typed-array view. */
const SHORT_RUN = 64;
export const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Builds the packer. `tables` null means the client value equals the internal value. The loops
 * are written out per byte count with the conversion inlined: this is the hottest code of every
 * encoder, and a call per pixel would cost more than the conversion itself.
 */
function makePacker(tables: Tables, shifts: number[], nativeCopy: boolean): PixelPacker {
  const n = shifts.length;
  const s0 = shifts[0]!, s1 = shifts[1] ?? 0, s2 = shifts[2] ?? 0, s3 = shifts[3] ?? 0;
  const rT = tables?.[0], gT = tables?.[1], bT = tables?.[2];
  const conv = rT && gT && bT
    ? (v: number) => (rT[(v >>> 16) & 0xff]! | gT[(v >>> 8) & 0xff]! | bT[v & 0xff]!) >>> 0
    : (v: number) => v;
  const pack = (v: number, out: Uint8Array, o: number): number => {
    const c = conv(v);
    out[o] = c >>> s0;
    if (n > 1) out[o + 1] = c >>> s1;
    if (n > 2) out[o + 2] = c >>> s2;
    if (n > 3) out[o + 3] = c >>> s3;
    return o + n;
  };
  let packRun: (src: Uint32Array, s: number, count: number, out: Uint8Array, o: number) => number;
  if (nativeCopy) {
    // Native format: the bytes already are the wire bytes. Short runs (a Hextile or ZRLE tile
    // row) are written pixel by pixel (little-endian hosts, where native means v's bytes low
    // first): a typed-array view per call cost more than the copy (measured: a third of
    // Hextile's time on photos).
    packRun = (src, s, count, out, o) => {
      if (count > SHORT_RUN || !LITTLE_ENDIAN_HOST) {
        out.set(new Uint8Array(src.buffer, src.byteOffset + s * 4, count * 4), o);
        return o + count * 4;
      }
      for (const end = s + count; s < end; s++, o += 4) {
        const v = src[s]!;
        out[o] = v; out[o + 1] = v >>> 8; out[o + 2] = v >>> 16; out[o + 3] = v >>> 24;
      }
      return o;
    };
  } else if (rT && gT && bT) {
    packRun = (src, s, count, out, o) => {
      const end = s + count;
      switch (n) {
        case 4:
          for (let i = s; i < end; i++, o += 4) {
            const v = src[i]!;
            const c = rT[(v >>> 16) & 0xff]! | gT[(v >>> 8) & 0xff]! | bT[v & 0xff]!;
            out[o] = c >>> s0; out[o + 1] = c >>> s1; out[o + 2] = c >>> s2; out[o + 3] = c >>> s3;
          }
          return o;
        case 3:
          for (let i = s; i < end; i++, o += 3) {
            const v = src[i]!;
            const c = rT[(v >>> 16) & 0xff]! | gT[(v >>> 8) & 0xff]! | bT[v & 0xff]!;
            out[o] = c >>> s0; out[o + 1] = c >>> s1; out[o + 2] = c >>> s2;
          }
          return o;
        case 2:
          for (let i = s; i < end; i++, o += 2) {
            const v = src[i]!;
            const c = rT[(v >>> 16) & 0xff]! | gT[(v >>> 8) & 0xff]! | bT[v & 0xff]!;
            out[o] = c >>> s0; out[o + 1] = c >>> s1;
          }
          return o;
        default:
          for (let i = s; i < end; i++, o++) {
            const v = src[i]!;
            out[o] = (rT[(v >>> 16) & 0xff]! | gT[(v >>> 8) & 0xff]! | bT[v & 0xff]!) >>> s0;
          }
          return o;
      }
    };
  } else {
    packRun = (src, s, count, out, o) => {
      const end = s + count;
      if (n === 3) {
        for (let i = s; i < end; i++, o += 3) {
          const c = src[i]!;
          out[o] = c >>> s0; out[o + 1] = c >>> s1; out[o + 2] = c >>> s2;
        }
        return o;
      }
      for (let i = s; i < end; i++) o = pack(src[i]!, out, o);
      return o;
    };
  }
  return {
    bytesPerPixel: n,
    pack,
    packRun,
    packRect(fb, r, out, o) {
      const px = fb.pixels;
      for (let y = 0; y < r.h; y++) o = packRun(px, (r.y + y) * fb.stride + r.x, r.w, out, o);
      return o;
    },
  };
}

/**
 * A per-encoder memo: the packer for the converter of the latest call (converters change only on
 * SetPixelFormat, so one entry is enough).
 */
export function packerCache(form: PixelForm): (converter: PixelConverter) => PixelPacker {
  let cachedFor: PixelConverter | null = null;
  let packer: PixelPacker | null = null;
  return (converter) => {
    if (cachedFor !== converter || !packer) {
      cachedFor = converter;
      packer = createPixelPacker(converter, form);
    }
    return packer;
  };
}
