/**
 * Hextile sends a tile raw without searching for subrectangles when too many of its pixels
 * must each start one (`surelyRaw` in hextile.ts), and after a raw tile even without its palette
 * (`cornersSurelyRaw`). The shortcuts must not change the output: right at the budget, a tile
 * still gets its subrectangles; one past it, it goes raw.
 */
import { describe, it, expect } from 'vitest';
import { createHextileEncoder } from '../../server/encoding/hextile.js';
import type { EncodedRects } from '../../server/encoding/encoder.js';
import { FORMATS, ctxFor, makeFramebuffer, prng, roundTrip } from './encoding-fixtures.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

const BG = 0x000000, A = 0xff0000, B = 0x00ff00;
const tile = { x: 0, y: 0, w: 16, h: 16 };

/** Draws `dots` isolated dots (alternately A and B) on BG in raster order, in the tile at `ox`. */
function drawCheckerboard(fb: PixelBuffer, ox: number, dots: number): void {
  let placed = 0;
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const dot = (x + y) % 2 === 1 && placed < dots;
      if (dot) placed++;
      fb.pixels[y * fb.stride + ox + x] = dot ? (placed % 2 ? A : B) : BG;
    }
  }
}

function checkerboard(dots: number) {
  const fb = makeFramebuffer(16, 16, 'solid');
  drawCheckerboard(fb, 0, dots);
  return fb;
}

/** The subencoding byte of every tile of one Hextile rectangle body, in tile order. */
function tileSubencodings(body: Buffer, r: Rect, bpp: number): number[] {
  const subs: number[] = [];
  let o = 0;
  for (let ty = 0; ty < r.h; ty += 16) {
    for (let tx = 0; tx < r.w; tx += 16) {
      const sub = body[o++]!;
      subs.push(sub);
      if (sub & 1) { o += Math.min(16, r.w - tx) * Math.min(16, r.h - ty) * bpp; continue; }
      if (sub & 2) o += bpp;
      if (sub & 4) o += bpp;
      if (sub & 8) o += 1 + body[o]! * ((sub & 16 ? bpp : 0) + 2);
    }
  }
  expect(o).toBe(body.length);
  return subs;
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

  it('after a raw tile the palette-free test decides as the full analysis does', async () => {
    // Tiles 0 and 4 are noise (raw), so the tiles after them are first tried without their
    // palette. Checkerboards at and past the budget must still come out as they do on their own.
    const fb = makeFramebuffer(96, 16, 'noise');
    drawCheckerboard(fb, 16, 127);
    drawCheckerboard(fb, 32, 128);
    drawCheckerboard(fb, 48, 127);
    // Tile 5: a full two-colour checkerboard, every pixel a corner; mono subrectangles carry no
    // colour, so 128 of them fit where coloured ones would not.
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) fb.pixels[y * fb.stride + 80 + x] = (x + y) % 2 ? A : B;
    const r = { x: 0, y: 0, w: 96, h: 16 };
    const body = (createHextileEncoder().encode(fb, r, ctx) as EncodedRects).chunks[0]!.subarray(12);
    const subs = tileSubencodings(body, r, 2);
    expect(subs[0]).toBe(1);
    expect(subs[1]! & 1, 'at the budget: subrectangles').toBe(0);
    expect(subs[2]).toBe(1);
    expect(subs[3]! & 1, 'at the budget after a raw tile: subrectangles').toBe(0);
    expect(subs[4]).toBe(1);
    expect(subs[5]! & (1 | 16), 'two colours after a raw tile: mono subrectangles').toBe(0);
    await roundTrip(createHextileEncoder(), fb, [r], ctx);
  });

  it('random tiles near the budget: each tile raw exactly when it is raw on its own', async () => {
    for (const [name, format] of [['rgb565le', FORMATS.rgb565le!], ['rgbx32', FORMATS.rgbx32!]] as const) {
      const c = ctxFor(format);
      const bpp = c.converter.bytesPerPixel;
      const rnd = prng(name.length);
      const fb = makeFramebuffer(512, 64, 'noise', 7);
      // Between noise tiles, tiles of 2–30 colours where each pixel is the background with a
      // random probability and otherwise any colour, so that corner counts straddle the budget.
      const drawn = new Set<number>();
      for (let t = 0; t < 128; t++) {
        if (rnd() < 0.25) continue; // stays noise
        drawn.add(t);
        const ox = (t % 32) * 16, oy = Math.floor(t / 32) * 16;
        const colours = Array.from({ length: 2 + Math.floor(rnd() * 29) }, () => Math.floor(rnd() * 0x1000000));
        const bgShare = rnd() * 0.98;
        for (let y = 0; y < 16; y++) {
          for (let x = 0; x < 16; x++) {
            const c = rnd() < bgShare ? 0 : Math.floor(rnd() * colours.length);
            fb.pixels[(oy + y) * fb.stride + ox + x] = colours[c]!;
          }
        }
      }
      const whole = { x: 0, y: 0, w: 512, h: 64 };
      const enc = createHextileEncoder();
      const subs = tileSubencodings((enc.encode(fb, whole, c) as EncodedRects).chunks[0]!.subarray(12), whole, bpp);
      let drawnRaw = 0, notRaw = 0;
      for (let t = 0; t < 128; t++) {
        const alone = { x: (t % 32) * 16, y: Math.floor(t / 32) * 16, w: 16, h: 16 };
        const own = (enc.encode(fb, alone, c) as EncodedRects).chunks[0]![12]! & 1;
        expect(subs[t]! & 1, `${name} tile ${t}`).toBe(own);
        if (!own) notRaw++;
        else if (drawn.has(t)) drawnRaw++;
      }
      // The fixture really straddles the budget: drawn tiles of both kinds.
      expect(drawnRaw, name).toBeGreaterThanOrEqual(5);
      expect(notRaw, name).toBeGreaterThanOrEqual(10);
      await roundTrip(createHextileEncoder(), fb, [whole], c);
    }
  });
});
