import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/errors.js';
import { createPixelBuffer } from '../../core/pixel-buffer.js';
import {
  decodePixelFormat,
  encodePixelFormat,
  NATIVE_PIXEL_FORMAT,
  PixelConverter,
  pixelFormatsEqual,
  validatePixelFormat,
  type PixelFormat,
} from '../../server/pixel-format.js';
import { seededRandom } from '../helpers/chunked-feeder.js';

const pf = (bpp: number, depth: number, be: boolean, rm: number, gm: number, bm: number, rs: number, gs: number, bs: number): PixelFormat => ({
  bitsPerPixel: bpp, depth, bigEndian: be, trueColour: true, redMax: rm, greenMax: gm, blueMax: bm, redShift: rs, greenShift: gs, blueShift: bs,
});

const FORMATS: Record<string, PixelFormat> = {
  'native BGRX 32 LE': NATIVE_PIXEL_FORMAT,
  'noVNC RGBX 32 LE': pf(32, 24, false, 255, 255, 255, 0, 8, 16),
  'XRGB 32 BE': pf(32, 24, true, 255, 255, 255, 16, 8, 0),
  'RGBX 32 BE (shift 24)': pf(32, 24, true, 255, 255, 255, 24, 16, 8),
  '32 LE, 10-bit channels': pf(32, 30, false, 1023, 1023, 1023, 20, 10, 0),
  '5/6/5 16 LE': pf(16, 16, false, 31, 63, 31, 11, 5, 0),
  '5/6/5 16 BE': pf(16, 16, true, 31, 63, 31, 11, 5, 0),
  '5/5/5 16 BE, BGR': pf(16, 15, true, 31, 31, 31, 0, 5, 10),
  '4/4/4 16 LE, odd shifts': pf(16, 12, false, 15, 15, 15, 1, 6, 11),
  '3/3/2 8 (bgr233)': pf(8, 8, false, 7, 7, 3, 0, 3, 6),
  '3/3/2 8 (rgb332), BE flag ignored': pf(8, 8, true, 7, 7, 3, 5, 2, 0),
  '2/2/2 8 (depth 6)': pf(8, 6, false, 3, 3, 3, 4, 2, 0),
  '1/1/1 8': pf(8, 3, false, 1, 1, 1, 2, 1, 0),
};

/** The spec's definition, written independently: scale each 8-bit channel to max, shift, OR. */
function reference(f: PixelFormat, rgb: number): number {
  const scale = (v: number, max: number) => Math.floor((v * max + 127) / 255); // round half up
  const r = (rgb >>> 16) & 0xff, g = (rgb >>> 8) & 0xff, b = rgb & 0xff;
  return (scale(r, f.redMax) * 2 ** f.redShift + scale(g, f.greenMax) * 2 ** f.greenShift + scale(b, f.blueMax) * 2 ** f.blueShift);
}

function referenceBytes(f: PixelFormat, value: number): number[] {
  const n = f.bitsPerPixel / 8;
  const bytes: number[] = [];
  for (let i = 0; i < n; i++) bytes.push(Math.floor(value / 2 ** (8 * i)) & 0xff); // little-endian
  return f.bigEndian ? bytes.reverse() : bytes;
}

/** A framebuffer with stride > width and random pixels, plus the primaries and extremes at known places. */
function randomFramebuffer(seed: number) {
  const fb = createPixelBuffer(13, 7, 16);
  const rnd = seededRandom(seed);
  for (let i = 0; i < fb.pixels.length; i++) fb.pixels[i] = Math.floor(rnd() * 0x1000000) | (Math.floor(rnd() * 256) << 24);
  [0x000000, 0xffffff, 0xff0000, 0x00ff00, 0x0000ff, 0x808080, 0x7f7f7f, 0x010203].forEach((v, i) => (fb.pixels[i] = v));
  return fb;
}

describe('PixelConverter', () => {
  it.each(Object.entries(FORMATS))('%s: pixel() follows the spec for every channel value', (_n, f) => {
    const c = new PixelConverter(f);
    for (let v = 0; v < 256; v++) {
      for (const rgb of [v << 16, v << 8, v, (v << 16) | ((255 - v) << 8) | (v ^ 0x5a)]) {
        expect(c.pixel(rgb)).toBe(reference(f, rgb));
      }
    }
    // The X byte of BGRX is ignored.
    expect(c.pixel(0xab123456)).toBe(reference(f, 0x123456));
    expect(c.pixel(0xffffff)).toBe(reference(f, 0xffffff));
  });

  it.each(Object.entries(FORMATS))('%s: convertRect matches the reference bytes (sub-rect, stride, offsets)', (_n, f) => {
    const c = new PixelConverter(f);
    const bpp = f.bitsPerPixel / 8;
    for (const seed of [1, 2, 3]) {
      const fb = randomFramebuffer(seed);
      for (const r of [{ x: 0, y: 0, w: 13, h: 7 }, { x: 2, y: 3, w: 5, h: 2 }, { x: 12, y: 6, w: 1, h: 1 }]) {
        const want: number[] = [];
        for (let y = r.y; y < r.y + r.h; y++) {
          for (let x = r.x; x < r.x + r.w; x++) want.push(...referenceBytes(f, reference(f, fb.pixels[y * fb.stride + x]! & 0xffffff)));
        }
        const got = c.convertRect(fb, r);
        expect(got.length).toBe(r.w * r.h * bpp);
        if (c.isNative) {
          // The native path copies BGRX verbatim, padding byte included; compare colour bytes only.
          const strip = (b: number[]) => b.filter((_, i) => i % 4 !== 3);
          expect(strip([...got])).toEqual(strip(want));
        } else {
          expect([...got]).toEqual(want);
        }
        // Into a larger buffer at aligned and unaligned offsets (the fast paths need alignment).
        for (const off of [0, 1, 3, 4, 8]) {
          const out = Buffer.alloc(off + got.length + 5, 0xee);
          c.convertRect(fb, r, out, off);
          expect(out.subarray(off, off + got.length).equals(got)).toBe(true);
          expect(out.subarray(0, off).every((b) => b === 0xee)).toBe(true);
          expect(out.subarray(off + got.length).every((b) => b === 0xee)).toBe(true);
        }
      }
    }
  });

  it('writePixel puts the value in the client byte order', () => {
    const out = Buffer.alloc(4);
    new PixelConverter(FORMATS['5/6/5 16 BE']!).writePixel(out, 1, 0xf800);
    expect([...out]).toEqual([0, 0xf8, 0x00, 0]);
    new PixelConverter(FORMATS['5/6/5 16 LE']!).writePixel(out, 0, 0xf800);
    expect([...out.subarray(0, 2)]).toEqual([0x00, 0xf8]);
    new PixelConverter(FORMATS['XRGB 32 BE']!).writePixel(out, 0, 0x00ff8001);
    expect([...out]).toEqual([0x00, 0xff, 0x80, 0x01]);
    new PixelConverter(FORMATS['3/3/2 8 (bgr233)']!).writePixel(out, 3, 0xc7);
    expect(out[3]).toBe(0xc7);
  });

  it('recognises the native and noVNC layouts (fast paths)', () => {
    expect(new PixelConverter(NATIVE_PIXEL_FORMAT).isNative).toBe(true);
    expect(new PixelConverter(FORMATS['noVNC RGBX 32 LE']!).isNative).toBe(false);
    expect(new PixelConverter(FORMATS['XRGB 32 BE']!).isNative).toBe(false);
  });
});

describe('PIXEL_FORMAT structure', () => {
  it.each(Object.entries(FORMATS))('%s round-trips through encode/decode', (_n, f) => {
    const b = encodePixelFormat(f);
    expect(b.length).toBe(16);
    expect(decodePixelFormat(b)).toEqual(f);
    // At an offset inside a bigger buffer, as in SetPixelFormat.
    expect(decodePixelFormat(Buffer.concat([Buffer.from([0, 0, 0, 0]), b]), 4)).toEqual(f);
  });

  it('native format bytes are what ServerInit announces', () => {
    expect(encodePixelFormat(NATIVE_PIXEL_FORMAT).toString('hex')).toBe('2018000100ff00ff00ff100800000000');
  });

  it('non-zero flag bytes other than 1 still mean true', () => {
    const b = encodePixelFormat(NATIVE_PIXEL_FORMAT);
    b[2] = 7;
    b[3] = 2;
    expect(decodePixelFormat(b)).toMatchObject({ bigEndian: true, trueColour: true });
  });
});

describe('validatePixelFormat', () => {
  it('accepts every format above', () => {
    for (const f of Object.values(FORMATS)) expect(() => validatePixelFormat(f)).not.toThrow();
  });

  it.each([
    ['colour map', { ...NATIVE_PIXEL_FORMAT, trueColour: false }],
    ['24 bpp', { ...NATIVE_PIXEL_FORMAT, bitsPerPixel: 24 }],
    ['4 bpp', pf(4, 3, false, 1, 1, 1, 0, 1, 2)],
    ['max not 2^n-1', pf(16, 16, false, 30, 63, 31, 11, 5, 0)],
    ['max 0', pf(16, 16, false, 0, 63, 31, 11, 5, 0)],
    ['channel past 16 bits', pf(16, 16, false, 31, 63, 31, 12, 5, 0)],
    ['shift ≥ bpp', pf(8, 8, false, 7, 7, 3, 8, 3, 6)],
    ['channel past 8 bits', pf(8, 8, false, 7, 7, 7, 0, 3, 6)],
  ])('refuses %s with VNC_ERR_UNSUPPORTED', (_n, f) => {
    expect(() => validatePixelFormat(f as PixelFormat)).toThrow(expect.objectContaining({ code: ErrorCode.Unsupported }));
    expect(() => new PixelConverter(f as PixelFormat)).toThrow();
  });
});

describe('pixelFormatsEqual', () => {
  it('compares every field, except byte order at 8 bpp', () => {
    expect(pixelFormatsEqual(NATIVE_PIXEL_FORMAT, { ...NATIVE_PIXEL_FORMAT })).toBe(true);
    expect(pixelFormatsEqual(NATIVE_PIXEL_FORMAT, FORMATS['XRGB 32 BE']!)).toBe(false);
    expect(pixelFormatsEqual(NATIVE_PIXEL_FORMAT, FORMATS['noVNC RGBX 32 LE']!)).toBe(false);
    const a = FORMATS['3/3/2 8 (bgr233)']!;
    expect(pixelFormatsEqual(a, { ...a, bigEndian: !a.bigEndian })).toBe(true);
    const c = FORMATS['5/6/5 16 LE']!;
    expect(pixelFormatsEqual(c, FORMATS['5/6/5 16 BE']!)).toBe(false);
  });
});
