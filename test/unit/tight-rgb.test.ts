/**
 * The RGB that JPEG and PNG images are made from: `toRgb`'s word-at-a-time path must produce the
 * same bytes as the byte-per-channel one.
 */
import { describe, expect, it } from 'vitest';
import { toRgb } from '../../server/encoding/tight-common.js';
import { makeFramebuffer } from './encoding-fixtures.js';

/** The reference: R, G, B of each pixel, one byte at a time. */
function rgbBytes(px: Uint32Array, stride: number, r: { x: number; y: number; w: number; h: number }): number[] {
  const out: number[] = [];
  for (let y = r.y; y < r.y + r.h; y++) {
    for (let x = r.x; x < r.x + r.w; x++) {
      const v = px[y * stride + x]!;
      out.push((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    }
  }
  return out;
}

describe('toRgb', () => {
  it('matches the per-pixel reference for every width residue, stride and output alignment', () => {
    // Noise with the padding byte set too: it must not leak into the RGB.
    const fb = makeFramebuffer(67, 9, 'noise', 3);
    for (let i = 0; i < fb.pixels.length; i++) fb.pixels[i] = (fb.pixels[i]! | 0xa5000000) >>> 0;
    for (const w of [1, 2, 3, 4, 5, 8, 12, 13, 64]) {
      for (const x of [0, 3]) {
        const r = { x, y: 1, w, h: 7 };
        const want = rgbBytes(fb.pixels, fb.stride, r);
        expect([...toRgb(fb, r, Buffer.alloc(w * 7 * 3))], `w=${w} x=${x}`).toEqual(want);
        // An output that does not start on a 4-byte boundary takes the byte path.
        const odd = Buffer.alloc(w * 7 * 3 + 1).subarray(1);
        expect([...toRgb(fb, r, odd)], `w=${w} x=${x}, unaligned`).toEqual(want);
      }
    }
  });
});
