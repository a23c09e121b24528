/**
 * Every encoder × content class × client pixel format, encoded and decoded by the independent
 * test decoder (bench/lib/rfb-decoders.ts), compared pixel for pixel.
 */
import { deflateSync } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import type { Encoder } from '../../server/encoding/encoder.js';
import { createZrleEncoder } from '../../server/encoding/zrle.js';
import { createZlibEncoder } from '../../server/encoding/zlib.js';
import { createHextileEncoder } from '../../server/encoding/hextile.js';
import { createRreEncoder } from '../../server/encoding/rre.js';
import { createTightEncoder } from '../../server/encoding/tight.js';
import { createTightPngEncoder } from '../../server/encoding/tight-png.js';
import { gradientFilter } from '../../server/encoding/tight-gradient.js';
import { Encoding } from '../../server/encoding/encodings.js';
import { Palette, analyseColours } from '../../server/encoding/palette.js';
import { RfbTestDecoder } from '../../bench/lib/rfb-decoders.js';
import { FORMATS, ODD_RECTS, ctxFor, decodeAll, expectRegionDecoded, makeFramebuffer, prng, roundTrip, type ContentClass } from './encoding-fixtures.js';

const CLASSES: ContentClass[] = ['solid', 'twoColour', 'palette', 'noise', 'desktop'];
const ENCODERS: Record<string, () => Encoder> = {
  ZRLE: createZrleEncoder,
  Hextile: createHextileEncoder,
  RRE: createRreEncoder,
  Tight: createTightEncoder,
  TightPNG: createTightPngEncoder,
};

for (const [name, make] of Object.entries(ENCODERS)) {
  describe(`${name} encoder`, () => {
    for (const [fname, format] of Object.entries(FORMATS)) {
      it(`round-trips all content classes and odd rects in ${fname}, one persistent decoder`, async () => {
        const enc = make();
        const ctx = ctxFor(format);
        const dec = new RfbTestDecoder(format, 300, 220);
        for (const cls of CLASSES) {
          const fb = makeFramebuffer(300, 220, cls, cls.length);
          const res = await Promise.all(ODD_RECTS.map((r) => enc.encode(fb, r, ctx)));
          await decodeAll(dec, res);
          for (const r of ODD_RECTS) expectRegionDecoded(dec, fb, r, ctx.converter);
        }
        expect(dec.seen.get(enc.encoding)).toBeGreaterThan(0);
        dec.dispose();
        enc.dispose();
      });
    }

    it('handles a full 1280x720 desktop-like frame', async () => {
      const enc = make();
      const fb = makeFramebuffer(1280, 720, 'desktop');
      await roundTrip(enc, fb, [{ x: 0, y: 0, w: 1280, h: 720 }], ctxFor(FORMATS.rgbx32!));
      enc.dispose();
    });

    it('keeps order when 50 encodes are issued without awaiting', async () => {
      const enc = make();
      const ctx = ctxFor(FORMATS.native32!, { compressLevel: 2 });
      const fb = makeFramebuffer(160, 100, 'desktop', 3);
      const snaps: Uint32Array[] = [];
      const pending = [];
      const rects = Array.from({ length: 50 }, (_, i) => ({ x: (i * 13) % 90, y: (i * 7) % 50, w: 20 + i, h: 10 + (i % 40) }));
      for (const r of rects) {
        pending.push(enc.encode(fb, r, ctx));
        snaps.push(fb.pixels.slice());
        // Change the frame right after the call: encoders must have read it synchronously.
        for (let k = 0; k < fb.pixels.length; k += 97) fb.pixels[k] = (fb.pixels[k]! + 0x10203) & 0xffffff;
      }
      const results = await Promise.all(pending);
      const dec = new RfbTestDecoder(FORMATS.native32!, 160, 100);
      for (let i = 0; i < rects.length; i++) {
        await decodeAll(dec, [results[i]!]);
        expectRegionDecoded(dec, { ...fb, pixels: snaps[i]! }, rects[i]!, ctx.converter);
      }
      dec.dispose();
      enc.dispose();
    });
  });
}

describe('Tight specifics', () => {
  it('uses fill for solid, palette filters for 2 and few colours, gradient filter for noise', async () => {
    const enc = createTightEncoder();
    const ctx = ctxFor(FORMATS.native32!);
    const control = async (cls: ContentClass, w: number, h: number) => {
      const res = await enc.encode(makeFramebuffer(w, h, cls), { x: 0, y: 0, w, h }, ctx);
      return Buffer.concat(res.chunks)[12]!;
    };
    expect(await control('solid', 64, 64)).toBe(0x80);
    expect(await control('twoColour', 64, 64)).toBe(0x50); // filter id follows, stream 1
    expect(await control('palette', 64, 64)).toBe(0x60); // stream 2
    const noise = await enc.encode(makeFramebuffer(64, 64, 'noise'), { x: 0, y: 0, w: 64, h: 64 }, ctx);
    expect([...Buffer.concat(noise.chunks).subarray(12, 14)]).toEqual([0x40, 0x02]); // gradient filter, stream 0
    enc.dispose();
  });

  it('keeps the copy filter for full colour when TPIXELs are not 3 bytes (16 bpp)', async () => {
    const enc = createTightEncoder();
    const fb = makeFramebuffer(64, 64, 'noise');
    const res = await enc.encode(fb, { x: 0, y: 0, w: 64, h: 64 }, ctxFor(FORMATS.rgb565le!));
    expect(Buffer.concat(res.chunks)[12]).toBe(0x00); // copy filter, stream 0
    enc.dispose();
  });

  it('sends photo-like content with the gradient filter smaller than with the copy filter, and exact', async () => {
    // The same pieces through both filters: the gradient's residuals must compress better on
    // smooth content (the reason it is used) and decode to the same pixels.
    const fb = makeFramebuffer(300, 220, 'desktop');
    const r = { x: 170, y: 40, w: 110, h: 100 }; // the fixture's photo-like window
    const ctx = ctxFor(FORMATS.native32!);
    const enc = createTightEncoder();
    const res = await enc.encode(fb, r, ctx);
    const wire = Buffer.concat(res.chunks);
    expect(wire[13]).toBe(0x02);
    const dec = new RfbTestDecoder(FORMATS.native32!, 300, 220);
    await decodeAll(dec, [res]);
    expectRegionDecoded(dec, fb, r, ctx.converter, 0);
    dec.dispose();
    enc.dispose();
    // The copy filter's size for the same TPIXELs, even at a higher zlib level than stream 0 uses.
    const tpixels = Buffer.alloc(r.w * r.h * 3);
    for (let j = 0; j < r.h; j++)
      for (let i = 0; i < r.w; i++) {
        const v = fb.pixels[(r.y + j) * fb.stride + r.x + i]!;
        tpixels.writeUIntBE(v & 0xffffff, (j * r.w + i) * 3, 3);
      }
    const plain = deflateSync(tpixels, { level: 3 }).length;
    const filtered = deflateSync(gradientFilter(fb.pixels, fb.stride, r, Buffer.alloc(tpixels.length)), { level: 3 }).length;
    expect(filtered).toBeLessThan(plain);
    expect(wire.length).toBeLessThan(plain);
  });

  it('sends JPEG for noise when a quality level is set, within tolerance at level 9', async () => {
    const enc = createTightEncoder();
    const fb = makeFramebuffer(300, 220, 'desktop');
    // The photo-like window of the desktop fixture.
    const r = { x: 170, y: 40, w: 110, h: 100 };
    const ctx = ctxFor(FORMATS.rgbx32!, { qualityLevel: 9 });
    const res = await enc.encode(fb, r, ctx);
    expect(Buffer.concat(res.chunks)[12]).toBe(0x90);
    const dec = new RfbTestDecoder(FORMATS.rgbx32!, 300, 220);
    await decodeAll(dec, [res]);
    expectRegionDecoded(dec, fb, r, ctx.converter, 24);
    dec.dispose();
    enc.dispose();
  });

  it('with a quality level: antialiased text (hundreds of colours, hard edges) lossless, a gradient JPEG', async () => {
    const fb = antialiasedText(400, 40);
    const r = { x: 0, y: 0, w: 400, h: 40 };
    const ctx = ctxFor(FORMATS.rgbx32!, { qualityLevel: 6, compressLevel: 2 });
    expect(analyseColours(fb.pixels, fb.stride, 0, 0, 400, 40, 256, new Palette(256)), 'fixture has > 256 colours').toBe(-1);
    for (const make of [createTightEncoder, createTightPngEncoder]) {
      const enc = make();
      const res = await enc.encode(fb, r, ctx);
      // 0x90 would be JPEG; the piece must go losslessly (basic/palette for Tight, PNG for TightPNG).
      expect(Buffer.concat(res.chunks)[12]).not.toBe(0x90);
      enc.dispose();
      const fresh = make(); // the decoder's zlib streams start where a new encoder's do
      await roundTrip(fresh, fb, [r], ctx);
      fresh.dispose();
    }
    // A smooth gradient (a wallpaper) has as many colours and long runs, but no hard edges: JPEG.
    const gradient = makeFramebuffer(400, 40, 'solid');
    for (let y = 0; y < 40; y++) for (let x = 0; x < 400; x++) gradient.pixels[y * gradient.stride + x] = (Math.floor((x + y) / 3) << 8) | 0x40;
    for (const make of [createTightEncoder, createTightPngEncoder]) {
      const enc = make();
      expect(Buffer.concat((await enc.encode(gradient, r, ctx)).chunks)[12]).toBe(0x90);
      enc.dispose();
    }
  });

  it('lossless: repetitive full colour (a gradient) on zlib stream 3, noisy full colour (a photo) on stream 0', async () => {
    const gradient = makeFramebuffer(400, 40, 'solid');
    for (let y = 0; y < 40; y++) for (let x = 0; x < 400; x++) gradient.pixels[y * gradient.stride + x] = (Math.floor((x + y) / 3) << 8) | ((x >> 1) & 0xff);
    const photo = makeFramebuffer(300, 220, 'desktop');
    const ctx = ctxFor(FORMATS.native32!, { compressLevel: 2 });
    const enc = createTightEncoder();
    const control = async (fb: typeof photo, rect: { x: number; y: number; w: number; h: number }) => Buffer.concat((await enc.encode(fb, rect, ctx)).chunks)[12]!;
    expect(await control(gradient, { x: 0, y: 0, w: 400, h: 40 })).toBe(0x40 | (3 << 4));
    expect(await control(photo, { x: 170, y: 40, w: 110, h: 100 })).toBe(0x40);
    enc.dispose();
    await roundTrip(createTightEncoder(), gradient, [{ x: 0, y: 0, w: 400, h: 40 }, { x: 3, y: 5, w: 200, h: 30 }], ctx);
  });

  it('never uses JPEG at 8 bpp, even with a quality level', async () => {
    const enc = createTightEncoder();
    await roundTrip(enc, makeFramebuffer(300, 220, 'noise'), ODD_RECTS, ctxFor(FORMATS.bgr233!, { qualityLevel: 5 }));
    enc.dispose();
  });

  it('splits rectangles wider than 2048 pixels', async () => {
    const enc = createTightEncoder();
    const fb = makeFramebuffer(2600, 40, 'desktop');
    const dec = await roundTrip(enc, fb, [{ x: 0, y: 0, w: 2600, h: 40 }], ctxFor(FORMATS.native32!));
    expect(dec.seen.get(Encoding.Tight)).toBeGreaterThan(1);
    enc.dispose();
  });
});

describe('TightPNG specifics', () => {
  it('uses PNG (lossless) without a quality level and JPEG only for photo-like pieces with one', async () => {
    const enc = createTightPngEncoder();
    const fb = makeFramebuffer(300, 220, 'desktop');
    const photo = { x: 170, y: 40, w: 110, h: 100 };
    const text = { x: 20, y: 30, w: 100, h: 100 };
    const first = async (r: typeof photo, q?: number) => Buffer.concat((await enc.encode(fb, r, ctxFor(FORMATS.rgbx32!, q === undefined ? {} : { qualityLevel: q }))).chunks)[12];
    expect(await first(photo)).toBe(0xa0);
    expect(await first(photo, 9)).toBe(0x90);
    expect(await first(text, 9)).toBe(0xa0);
    await roundTrip(enc, fb, [photo], ctxFor(FORMATS.rgbx32!, { qualityLevel: 9 }), 24);
    enc.dispose();
  });

  it('grey pieces of more than 16 colours go as greyscale PNGs (no PLTE); others keep a palette', async () => {
    /** Antialiased strokes between two greys with `levels` intermediate greys; `tint` makes one pixel not grey. */
    const greyText = (levels: number, tint: boolean) => {
      const fb = makeFramebuffer(120, 30, 'solid');
      const rnd = prng(3);
      for (let y = 0; y < 30; y++) for (let x = 0; x < 120; x++) {
        const g = y === 0 && x < levels ? x : (x % 7 < 2 ? Math.floor(rnd() * levels) : levels - 1);
        fb.pixels[y * fb.stride + x] = 0x1e1e1e + g * 0x010101;
      }
      if (tint) fb.pixels[5 * fb.stride + 5] = 0x1e1e1f;
      return fb;
    };
    const r = { x: 0, y: 0, w: 120, h: 30 };
    const png = async (fb: ReturnType<typeof makeFramebuffer>) => {
      const enc = createTightPngEncoder();
      const out = Buffer.concat((await enc.encode(fb, r, ctxFor(FORMATS.rgbx32!, { compressLevel: 2 }))).chunks);
      await roundTrip(enc, fb, [r], ctxFor(FORMATS.rgbx32!, { compressLevel: 2 }));
      enc.dispose();
      expect(out[12]).toBe(0xa0); // PngCompression
      const data = out.subarray(out.indexOf('\x89PNG', 0, 'latin1'));
      return { colourType: data[25], depth: data[24], plte: data.includes('PLTE', 0, 'latin1') };
    };
    expect(await png(greyText(40, false))).toEqual({ colourType: 0, depth: 8, plte: false });
    expect(await png(greyText(40, true))).toEqual({ colourType: 3, depth: 8, plte: true });
    expect(await png(greyText(16, false))).toEqual({ colourType: 3, depth: 4, plte: true });
  });
});

/** Glyph-like strokes on white whose edge pixels take ~600 different greys-with-tint (> 256 colours). */
function antialiasedText(w: number, h: number) {
  const fb = makeFramebuffer(w, h, 'solid');
  const rnd = prng(11);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const cx = x % 9, cy = y % 20;
    const stroke = cy > 3 && cy < 16 && (cx === 2 || cx === 3 || (cy === 9 && cx < 7));
    const edge = cy > 3 && cy < 16 && (cx === 1 || cx === 4);
    const v = stroke ? 0x101010 : edge ? Math.floor(rnd() * 600) * 0x10101 % 0x1000000 ^ Math.floor(rnd() * 4) : 0xffffff;
    fb.pixels[y * fb.stride + x] = v;
  }
  return fb;
}

describe('zlib level by content (Zlib, ZRLE)', () => {
  it('repetitive pieces (text) go at level 6 or more whatever the client asked, noisy ones (photos) at its level', async () => {
    const text = antialiasedText(400, 40);
    const photo = makeFramebuffer(300, 220, 'desktop');
    const textRect = { x: 0, y: 0, w: 400, h: 40 };
    const photoRect = { x: 170, y: 40, w: 110, h: 100 }; // the desktop fixture's photo-like window
    const size = async (make: () => Encoder, fb: ReturnType<typeof makeFramebuffer>, r: typeof textRect, compressLevel: number) => {
      const enc = make();
      const res = await enc.encode(fb, r, ctxFor(FORMATS.native32!, { compressLevel }));
      enc.dispose();
      return Buffer.concat(res.chunks).length;
    };
    for (const make of [createZlibEncoder, createZrleEncoder]) {
      expect(await size(make, text, textRect, 1)).toBe(await size(make, text, textRect, 6));
      expect(await size(make, photo, photoRect, 1)).not.toBe(await size(make, photo, photoRect, 6));
      await roundTrip(make(), text, [textRect], ctxFor(FORMATS.native32!, { compressLevel: 1 }));
    }
  });
});

describe('Hextile specifics', () => {
  it('the background is the colour with the most subrectangles, not the most pixels', async () => {
    // Top half one black block (128 pixels, 1 subrectangle); bottom half a white/grey checkerboard
    // (64 one-pixel subrectangles each). Black as background would leave 128 coloured
    // subrectangles (774 bytes); white or grey leaves 65 (396 bytes).
    const fb = makeFramebuffer(16, 16, 'solid');
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
      fb.pixels[y * fb.stride + x] = y < 8 ? 0x000000 : (x + y) % 2 ? 0xffffff : 0x808080;
    }
    const r = { x: 0, y: 0, w: 16, h: 16 };
    const enc = createHextileEncoder();
    const out = Buffer.concat((await enc.encode(fb, r, ctxFor(FORMATS.rgbx32!))).chunks);
    expect(out.length).toBe(12 + 1 + 4 + 1 + 65 * 6);
    await roundTrip(enc, fb, [r], ctxFor(FORMATS.rgbx32!));
    enc.dispose();
  });
});

describe('boundary cases', () => {
  it('ZRLE: tiles with exactly 1…20 colours in noise order round-trip (packed ≤16, RLE above)', async () => {
    const fb = makeFramebuffer(64 * 20, 64, 'solid');
    let seed = 5;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let k = 1; k <= 20; k++) {
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
        // Every colour present at least once, then random picks.
        const i = y * 64 + x;
        fb.pixels[y * fb.stride + (k - 1) * 64 + x] = 0x010101 * (i < k ? i : next() % k) + 0x203040;
      }
    }
    for (const format of [FORMATS.native32!, FORMATS.rgb565be!]) {
      const enc = createZrleEncoder();
      await roundTrip(enc, fb, [{ x: 0, y: 0, w: 64 * 20, h: 64 }], ctxFor(format));
      enc.dispose();
    }
  });

  it('Tight: every small size around the 12-byte uncompressed threshold round-trips', async () => {
    for (const cls of ['twoColour', 'palette', 'noise'] as ContentClass[]) {
      const fb = makeFramebuffer(40, 40, cls, 9);
      const rects = [];
      for (let w = 1; w <= 9; w++) for (let h = 1; h <= 13; h++) rects.push({ x: w, y: h, w, h });
      for (const format of [FORMATS.native32!, FORMATS.rgb565le!, FORMATS.bgr233!]) {
        // One encoder per decoder: their zlib streams are paired.
        const enc = createTightEncoder();
        const dec = new RfbTestDecoder(format, 40, 40);
        const ctx = ctxFor(format);
        for (const r of rects) {
          await decodeAll(dec, [await enc.encode(fb, r, ctx)]);
          expectRegionDecoded(dec, fb, r, ctx.converter);
        }
        dec.dispose();
        enc.dispose();
      }
    }
  });

  it('RRE: one block on a background is one subrectangle, Hextile: one subrect per tile', async () => {
    const fb = makeFramebuffer(64, 64, 'solid');
    for (let y = 20; y < 30; y++) for (let x = 5; x < 15; x++) fb.pixels[y * fb.stride + x] = 0xff0000;
    const ctx = ctxFor(FORMATS.native32!);
    const rre = createRreEncoder().encode(fb, { x: 0, y: 0, w: 64, h: 64 }, ctx);
    if (rre instanceof Promise) throw new Error('RRE is synchronous');
    expect(Buffer.concat(rre.chunks).readUInt32BE(12)).toBe(1);
    // Hextile: the block lies in tiles (0,1) → mask BG|FG|ANY + 1 subrect of 10×10 at (5,4).
    const hx = createHextileEncoder().encode(fb, { x: 0, y: 16, w: 16, h: 16 }, ctx);
    if (hx instanceof Promise) throw new Error('Hextile is synchronous');
    const b = Buffer.concat(hx.chunks);
    expect(b[12]).toBe(2 | 4 | 8);
    expect([...b.subarray(21, 24)]).toEqual([1, (5 << 4) | 4, (9 << 4) | 9]);
  });
});
