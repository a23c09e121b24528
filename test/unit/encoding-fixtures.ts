/**
 * Shared fixtures for the encoding round-trip tests: synthetic framebuffers per content class,
 * the client pixel formats real clients use, and an encode → independent decode → compare loop.
 */
import { expect } from 'vitest';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { PixelConverter, NATIVE_PIXEL_FORMAT, type PixelFormat } from '../../server/pixel-format.js';
import type { EncodeContext, EncodedRects, Encoder } from '../../server/encoding/encoder.js';
import { BufferSource, RfbTestDecoder, clientPixelToRgb } from '../../bench/lib/rfb-decoders.js';

export const FORMATS: Record<string, PixelFormat> = {
  native32: NATIVE_PIXEL_FORMAT,
  rgbx32: { ...NATIVE_PIXEL_FORMAT, redShift: 0, greenShift: 8, blueShift: 16 },
  bgr32be: { ...NATIVE_PIXEL_FORMAT, bigEndian: true },
  high24: { ...NATIVE_PIXEL_FORMAT, redShift: 24, greenShift: 16, blueShift: 8 },
  rgb565le: { bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 },
  rgb565be: { bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 },
  bgr233: { bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6 },
};

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type ContentClass = 'solid' | 'twoColour' | 'palette' | 'noise' | 'desktop';

/** A framebuffer whose every pixel belongs to `cls` (stride wider than width on purpose). */
export function makeFramebuffer(width: number, height: number, cls: ContentClass, seed = 1): PixelBuffer {
  const fb = createPixelBuffer(width, height, width + 3);
  const rnd = prng(seed);
  const pal = [0x102030, 0xf0e0d0, 0x00ff00, 0xff0000, 0x0000ff, 0x808080, 0x123456, 0xfedcba, 0xabcdef];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v: number;
      switch (cls) {
        case 'solid': v = 0x3366cc; break;
        case 'twoColour': v = ((x * 7 + y * 3) % 11 < 4 || rnd() < 0.1) ? 0x000000 : 0xffffff; break;
        case 'palette': v = pal[Math.floor(x / 5 + y / 3 + (rnd() < 0.05 ? 1 : 0)) % 6]!; break;
        case 'noise': v = Math.floor(rnd() * 0x1000000); break;
        case 'desktop': v = desktopPixel(x, y, width, height, rnd); break;
      }
      fb.pixels[y * fb.stride + x] = v;
    }
  }
  return fb;
}

/** Background, window frames, text-like glyph runs and a photo-like area. */
export function desktopPixel(x: number, y: number, w: number, h: number, rnd: () => number): number {
  if (y < 24) return 0x2d2d2d; // panel
  const inWin = (wx: number, wy: number, ww: number, wh: number) => x >= wx * w && x < (wx + ww) * w && y >= wy * h && y < (wy + wh) * h;
  if (inWin(0.05, 0.1, 0.45, 0.6)) {
    // terminal: text glyph-like pattern on white
    const cx = x % 8, cy = y % 16;
    const glyph = cy > 2 && cy < 13 && ((x >> 3) * 31 + (y >> 4) * 17) % 5 !== 0 && ((cx + cy * 3 + (x >> 3)) % 4 === 0);
    return glyph ? 0x101010 : 0xffffff;
  }
  if (inWin(0.55, 0.15, 0.4, 0.5)) {
    // photo-like: smooth plasma plus a little noise
    const r = 128 + 127 * Math.sin(x / 37 + y / 53);
    const g = 128 + 127 * Math.sin(x / 23 - y / 41);
    const b = 128 + 127 * Math.cos((x + y) / 61);
    const n = () => Math.floor(rnd() * 8);
    return ((Math.min(255, r + n()) << 16) | (Math.min(255, g + n()) << 8) | Math.min(255, b + n())) >>> 0;
  }
  if (inWin(0.1, 0.75, 0.8, 0.2)) return ((x >> 4) + (y >> 4)) % 2 ? 0xdddddd : 0xcccccc; // toolbar
  return 0x3a6ea5; // wallpaper
}

export function ctxFor(format: PixelFormat, extra: Partial<Omit<EncodeContext, 'converter'>> = {}): EncodeContext {
  return { converter: new PixelConverter(format), ...extra };
}

/** Expected client pixel values of `r` from the source framebuffer. */
export function expectRegionDecoded(dec: RfbTestDecoder, fb: PixelBuffer, r: Rect, converter: PixelConverter, tolerance = 0): void {
  let bad = 0;
  let first = '';
  let maxDiff = 0;
  for (let y = r.y; y < r.y + r.h; y++) {
    for (let x = r.x; x < r.x + r.w; x++) {
      const want = converter.pixel(fb.pixels[y * fb.stride + x]!);
      const got = dec.pixels[y * dec.width + x]!;
      if (tolerance === 0) {
        if (want !== got) { if (!bad++) first = `(${x},${y}) want ${want.toString(16)} got ${got.toString(16)}`; }
      } else {
        const a = clientPixelToRgb(dec.format, want), b = clientPixelToRgb(dec.format, got);
        const d = Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));
        maxDiff = Math.max(maxDiff, d);
        if (d > tolerance) { if (!bad++) first = `(${x},${y}) want ${a} got ${b}`; }
      }
    }
  }
  expect(bad, `${bad} pixels differ in ${JSON.stringify(r)}, first ${first}`).toBe(0);
}

/** Sum of the pixel areas the rectangle headers of `enc` cover (to check full coverage). */
export async function decodeAll(dec: RfbTestDecoder, encoded: EncodedRects[]): Promise<{ rects: number; area: number }> {
  let rects = 0, area = 0;
  for (const e of encoded) {
    const src = new BufferSource(e.chunks);
    const hs = await dec.decodeRects(src, e.count);
    expect(src.remaining, 'bytes left after the announced rectangles').toBe(0);
    rects += hs.length;
    for (const h of hs) area += h.w * h.h;
  }
  return { rects, area };
}

/** Encode each rect with `enc`, decode in order with a fresh decoder, compare. */
export async function roundTrip(enc: Encoder, fb: PixelBuffer, rects: Rect[], ctx: EncodeContext, tolerance = 0): Promise<RfbTestDecoder> {
  const dec = new RfbTestDecoder(ctx.converter.format, fb.width, fb.height);
  const results = await Promise.all(rects.map((r) => enc.encode(fb, r, ctx)));
  const { area } = await decodeAll(dec, results);
  expect(area).toBe(rects.reduce((a, r) => a + r.w * r.h, 0));
  for (const r of rects) expectRegionDecoded(dec, fb, r, ctx.converter, tolerance);
  dec.dispose();
  return dec;
}

export const ODD_RECTS: Rect[] = [
  { x: 0, y: 0, w: 1, h: 1 },
  { x: 5, y: 7, w: 17, h: 3 },
  { x: 3, y: 2, w: 65, h: 130 },
  { x: 70, y: 140, w: 64, h: 64 },
  { x: 131, y: 1, w: 129, h: 67 },
];
