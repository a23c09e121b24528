/**
 * Hextile sends a tile raw without searching for subrectangles when too many of its pixels
 * must each start one (`surelyRaw` in hextile.ts). The shortcut must not change the output:
 * right at the budget, a tile still gets its subrectangles; one past it, it goes raw.
 */
import { describe, it, expect } from 'vitest';
import { createHextileEncoder } from '../../server/encoding/hextile.js';
import type { EncodedRects } from '../../server/encoding/encoder.js';
import { FORMATS, ctxFor, makeFramebuffer, roundTrip } from './encoding-fixtures.js';

const BG = 0x000000, A = 0xff0000, B = 0x00ff00;
const tile = { x: 0, y: 0, w: 16, h: 16 };

/** A checkerboard of `dots` isolated dots (alternately A and B) on BG, in raster order. */
function checkerboard(dots: number) {
  const fb = makeFramebuffer(16, 16, 'solid');
  let placed = 0;
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const dot = (x + y) % 2 === 1 && placed < dots;
      if (dot) placed++;
      fb.pixels[y * fb.stride + x] = dot ? (placed % 2 ? A : B) : BG;
    }
  }
  return fb;
}

const subencoding = (e: EncodedRects | Promise<EncodedRects>) => (e as EncodedRects).chunks[0]![12]!;

describe('Hextile raw-tile bound', () => {
  // 16 bpp: raw costs 512 bytes; coloured subrectangles 4 bytes each after a 4-byte base
  // (mask, background), so 127 fit the budget (508 bytes) and 128 do not.
  const ctx = ctxFor(FORMATS.rgb565le!);

  it('127 isolated dots: subrectangles (exactly at the budget)', async () => {
    const fb = checkerboard(127);
    const sub = subencoding(createHextileEncoder().encode(fb, tile, ctx));
    expect(sub & 1, 'raw bit').toBe(0);
    expect(sub & 16, 'coloured subrectangles').toBe(16);
    await roundTrip(createHextileEncoder(), fb, [tile], ctx);
  });

  it('128 isolated dots: raw (one subrectangle past the budget)', async () => {
    const fb = checkerboard(128);
    expect(subencoding(createHextileEncoder().encode(fb, tile, ctx))).toBe(1);
    await roundTrip(createHextileEncoder(), fb, [tile], ctx);
  });

  it('noise round-trips raw at 32 bpp', async () => {
    const noise = makeFramebuffer(64, 48, 'noise');
    const c32 = ctxFor(FORMATS.rgbx32!);
    expect(subencoding(createHextileEncoder().encode(noise, tile, c32))).toBe(1);
    await roundTrip(createHextileEncoder(), noise, [{ x: 0, y: 0, w: 64, h: 48 }, { x: 5, y: 3, w: 37, h: 29 }], c32);
  });
});
