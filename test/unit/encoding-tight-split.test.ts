/**
 * Tight's cut of palette-overflowing pieces (tight-split.ts): the parts tile the piece exactly,
 * full-colour neighbours are merged, flat content stays one rectangle, and gradient + noise
 * frames round-trip pixel-exact through the independent decoder in every client format.
 */
import { describe, it, expect } from 'vitest';
import { createPixelBuffer, wrapPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { TightCutter, SLAB_AREA } from '../../server/encoding/tight-split.js';
import { createTightEncoder } from '../../server/encoding/tight.js';
import { Encoding } from '../../server/encoding/encodings.js';
import { deflateSync } from 'node:zlib';
import { wallpaperImage } from '../../bench/lib/wallpaper.js';
import { FORMATS, ctxFor, makeFramebuffer, prng, roundTrip } from './encoding-fixtures.js';

/** A smooth diagonal gradient (thousands of colours overall, a few per small area), with a noisy band. */
function gradientWithNoise(w: number, h: number, noise: Rect | null): PixelBuffer {
  const fb = createPixelBuffer(w, h, w + 5);
  const rnd = prng(9);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = (x / w + y / h) / 2;
      let v = ((Math.round(24 + 80 * t) << 16) | (Math.round(48 + 140 * t) << 8) | Math.round(200 - 150 * t)) >>> 0;
      if (noise && x >= noise.x && x < noise.x + noise.w && y >= noise.y && y < noise.y + noise.h) v = Math.floor(rnd() * 0x1000000);
      fb.pixels[y * fb.stride + x] = v;
    }
  }
  return fb;
}

function cut(fb: PixelBuffer, r: Rect, max: (a: number) => number = (a) => Math.min(256, Math.floor(a / 16))) {
  const parts: { rect: Rect; palette: number }[] = [];
  new TightCutter().cutPiece(fb.pixels, fb.stride, r, max, {
    palette: (rect, pal) => {
      expect(pal.size).toBeGreaterThan(0);
      expect(pal.size).toBeLessThanOrEqual(max(rect.w * rect.h));
      parts.push({ rect, palette: pal.size });
    },
    fullColour: (rect) => parts.push({ rect, palette: 0 }),
  });
  return parts;
}

function expectTiles(parts: { rect: Rect }[], r: Rect): void {
  const cover = new Uint8Array(r.w * r.h);
  for (const { rect: p } of parts) {
    expect(p.w).toBeGreaterThan(0);
    expect(p.h).toBeGreaterThan(0);
    for (let y = p.y; y < p.y + p.h; y++) for (let x = p.x; x < p.x + p.w; x++) cover[(y - r.y) * r.w + (x - r.x)]!++;
  }
  expect(cover.every((c) => c === 1), 'parts cover the piece exactly once').toBe(true);
}

describe('TightCutter', () => {
  it('keeps flat content as one palette part', () => {
    const fb = makeFramebuffer(256, 256, 'palette');
    const r = { x: 0, y: 0, w: 256, h: 256 };
    const parts = cut(fb, r);
    expect(parts).toEqual([{ rect: r, palette: 6 }]);
  });

  it('keeps noise as one full-colour part', () => {
    const fb = makeFramebuffer(256, 256, 'noise');
    expect(cut(fb, { x: 3, y: 5, w: 250, h: 200 })).toEqual([{ rect: { x: 3, y: 5, w: 250, h: 200 }, palette: 0 }]);
  });

  for (const r of [{ x: 0, y: 0, w: 1920, h: 34 }, { x: 7, y: 3, w: 11, h: 1000 }, { x: 100, y: 20, w: 256, h: 256 }, { x: 1, y: 1, w: 1, h: 1 }]) {
    it(`cuts a gradient with a noisy band into exact tiles (${r.w}x${r.h}), never two full-colour parts in a row`, () => {
      const fb = gradientWithNoise(2048, 1100, { x: 300, y: 0, w: 200, h: 1100 });
      const parts = cut(fb, r);
      expectTiles(parts, r);
      for (let i = 1; i < parts.length; i++) expect(parts[i - 1]!.palette === 0 && parts[i]!.palette === 0).toBe(false);
      if (r.w * r.h > 4 * SLAB_AREA) expect(parts.some((p) => p.palette > 2)).toBe(true);
    });
  }
});

describe('Tight encoder on continuous-tone content', () => {
  for (const [fname, format] of Object.entries(FORMATS)) {
    it(`round-trips a gradient with noise exactly in ${fname}, with palette parts`, async () => {
      const enc = createTightEncoder();
      const fb = gradientWithNoise(700, 300, { x: 250, y: 40, w: 90, h: 200 });
      const rects = [{ x: 0, y: 0, w: 700, h: 300 }, { x: 5, y: 9, w: 13, h: 290 }, { x: 100, y: 250, w: 600, h: 7 }];
      const dec = await roundTrip(enc, fb, rects, ctxFor(format, { compressLevel: 2 }));
      // More rectangles than pieces: the cut happened.
      expect(dec.seen.get(Encoding.Tight)).toBeGreaterThan(rects.length + 3);
      enc.dispose();
    });
  }

  it('makes the benchmark wallpaper (gradient with soft discs) smaller than the copy filter would', async () => {
    const W = 1920, H = 136;
    const fb = wrapPixelBuffer(wallpaperImage(W, 1080).subarray(400 * W * 4, (400 + H) * W * 4), W, H);
    const enc = createTightEncoder();
    const res = await enc.encode(fb, { x: 0, y: 0, w: W, h: H }, ctxFor(FORMATS.native32!, { compressLevel: 2 }));
    const bytes = res.chunks.reduce((a, c) => a + c.length, 0);
    enc.dispose();
    // What the copy filter would cost: the same pieces' TPIXELs on one level-2 zlib stream.
    const raw = Buffer.alloc(W * H * 3);
    for (let i = 0, o = 0; i < W * H; i++) { const v = fb.pixels[i]!; raw[o++] = v >>> 16; raw[o++] = v >>> 8; raw[o++] = v; }
    const copyFilter = deflateSync(raw, { level: 2 }).length;
    expect(bytes).toBeLessThan(copyFilter * 0.9);
  });
});
