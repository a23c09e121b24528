/**
 * The palette PNG writer used by TightPNG: every bit depth, row widths that end mid-byte, and
 * decoding by an independent PNG reader (sharp/libspng) back to the exact pixels.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createPixelBuffer } from '../../core/pixel-buffer.js';
import { Palette, analyseColours } from '../../server/encoding/palette.js';
import { encodeIndexedPng, indexBitDepth } from '../../server/encoding/png-indexed.js';
import { prng } from './encoding-fixtures.js';

describe('indexed PNG', () => {
  it('picks the smallest bit depth for the colour count', () => {
    expect([1, 2, 3, 4, 5, 16, 17, 256].map(indexBitDepth)).toEqual([1, 1, 2, 2, 4, 4, 8, 8]);
    expect(() => indexBitDepth(257)).toThrow();
  });

  for (const colours of [2, 3, 4, 5, 16, 17, 200, 256]) {
    it(`${colours} colours at odd widths decode to the exact pixels`, async () => {
      const rnd = prng(colours);
      const fb = createPixelBuffer(61, 23, 64);
      // Every colour appears (first pixels), the rest at random; a sub-rectangle at an odd x.
      for (let i = 0; i < fb.pixels.length; i++) {
        const k = i < colours ? i : Math.floor(rnd() * colours);
        fb.pixels[i] = (Math.imul(k + 1, 0x9e3779b1) >>> 8) & 0xffffff;
      }
      const r = { x: 3, y: 2, w: 57, h: 19 };
      const palette = new Palette(256);
      const n = analyseColours(fb.pixels, fb.stride, r.x, r.y, r.w, r.h, 256, palette);
      expect(n).toBeGreaterThan(0);
      const png = await encodeIndexedPng(fb, r, palette, 6);
      expect(png[25], 'IHDR colour type 3 (indexed)').toBe(3);
      expect(png[24], 'IHDR bit depth').toBe(indexBitDepth(n));
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([r.w, r.h, 3]);
      for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) {
        const o = (y * r.w + x) * 3;
        const got = (data[o]! << 16) | (data[o + 1]! << 8) | data[o + 2]!;
        if (got !== fb.pixels[(r.y + y) * fb.stride + r.x + x]) expect.fail(`pixel ${x},${y}: ${got.toString(16)}`);
      }
    });
  }
});
