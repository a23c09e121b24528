import { describe, expect, it } from 'vitest';
import { unpremultiplyArgb } from '../../capture/x11-cursor.js';

describe('unpremultiplyArgb', () => {
  it('keeps opaque pixels, zeroes transparent ones and divides the rest by alpha', () => {
    const src = Uint32Array.from([
      0xff102030, // opaque: unchanged
      0x00ffffff, // transparent garbage → 0
      0x80400000, // half alpha, premultiplied red 0x40 → 0x80
      0x80808080, // premultiplied white at half alpha → white
      0x40ff0000, // invalid (colour > alpha): clamped to 255
    ]);
    expect([...unpremultiplyArgb(src)].map((v) => v.toString(16))).toEqual([
      'ff102030',
      '0',
      '80800000',
      '80ffffff',
      '40ff0000',
    ]);
  });

  it('round-trips straight colours through premultiplication within rounding', () => {
    for (let a = 1; a < 255; a += 17) {
      for (const c of [0, 1, 77, 128, 200, 255]) {
        const pre = Math.round((c * a) / 255);
        const out = unpremultiplyArgb(Uint32Array.from([((a << 24) | (pre << 16) | (pre << 8) | pre) >>> 0]))[0]!;
        expect(out >>> 24).toBe(a);
        expect(Math.abs(((out >>> 16) & 0xff) - c)).toBeLessThanOrEqual(Math.ceil(255 / a / 2) + 1);
      }
    }
  });
});
