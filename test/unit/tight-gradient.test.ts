/**
 * Tight's gradient filter against values worked out by hand from the spec's predictor
 * (left + upper − upper-left, clamped to 0–255, zero outside the rectangle, residual mod 256),
 * and against a byte-by-byte reference on TPIXELs for random pixels and rectangles.
 */
import { describe, expect, it } from 'vitest';
import { gradientFilter } from '../../server/encoding/tight-gradient.js';
import { prng } from './encoding-fixtures.js';

const rgb = (r: number, g: number, b: number) => (r << 16) | (g << 8) | b;

/** The spec's filter on packed R, G, B bytes, one byte at a time. */
function reference(tpixels: number[], w: number, h: number): number[] {
  const rb = w * 3;
  const at = (x: number, y: number, c: number) => (x < 0 || y < 0 ? 0 : tpixels[y * rb + x * 3 + c]!);
  const out: number[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const p = Math.min(255, Math.max(0, at(x - 1, y, c) + at(x, y - 1, c) - at(x - 1, y - 1, c)));
        out.push((at(x, y, c) - p) & 255);
      }
    }
  }
  return out;
}

describe('gradientFilter', () => {
  it('predicts from the left on the first row, from above at the left edge, clamped elsewhere', () => {
    //   a = (10, 200, 0)    b = (12, 190, 255)
    //   c = (11, 250, 3)    d = (20, 0, 250)
    // The padding byte is set on some pixels: it must not leak into the residuals.
    const px = Uint32Array.from([rgb(10, 200, 0), (rgb(12, 190, 255) | 0xff000000) >>> 0, rgb(11, 250, 3), (rgb(20, 0, 250) | 0x5a000000) >>> 0]);
    const out = gradientFilter(px, 2, { x: 0, y: 0, w: 2, h: 2 }, Buffer.alloc(12));
    expect([...out]).toEqual([
      // a: no neighbours, prediction 0
      10, 200, 0,
      // b: prediction = a
      2, (190 - 200) & 255, 255,
      // c: prediction = a (above)
      1, 50, 3,
      // d: left c + upper b − upper-left a = (13, 240, 258→255); residual d − p mod 256
      7, (0 - 240) & 255, (250 - 255) & 255,
    ]);
  });

  it('turns a smooth ramp into zero residuals inside the rectangle', () => {
    const w = 16;
    const h = 4;
    const px = new Uint32Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) px[y * w + x] = rgb(x * 4, y * 8, 100);
    const out = gradientFilter(px, w, { x: 0, y: 0, w, h }, Buffer.alloc(w * h * 3));
    for (let y = 1; y < h; y++) for (let x = 1; x < w; x++) expect([...out.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)]).toEqual([0, 0, 0]);
  });

  it('matches the byte-by-byte reference for random pixels, sizes and positions in a larger buffer', () => {
    const rand = prng(7);
    const stride = 50;
    const px = new Uint32Array(stride * 30);
    for (let i = 0; i < px.length; i++) px[i] = Math.floor(rand() * 2 ** 32) >>> 0;
    for (const r of [{ x: 0, y: 0, w: 1, h: 1 }, { x: 3, y: 2, w: 1, h: 9 }, { x: 5, y: 7, w: 17, h: 1 }, { x: 11, y: 4, w: 39, h: 26 }]) {
      const tpixels: number[] = [];
      for (let y = r.y; y < r.y + r.h; y++) {
        for (let x = r.x; x < r.x + r.w; x++) {
          const v = px[y * stride + x]!;
          tpixels.push((v >>> 16) & 255, (v >>> 8) & 255, v & 255);
        }
      }
      expect([...gradientFilter(px, stride, r, Buffer.alloc(r.w * r.h * 3))], JSON.stringify(r)).toEqual(reference(tpixels, r.w, r.h));
    }
  });

  it('rejects an output whose length does not match the rectangle', () => {
    expect(() => gradientFilter(new Uint32Array(4), 2, { x: 0, y: 0, w: 2, h: 2 }, Buffer.alloc(11))).toThrow(RangeError);
  });
});
