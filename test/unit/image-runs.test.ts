/**
 * Joining adjacent full-colour pieces into one image (`image-runs.ts`, `imageRunRects`), and the
 * Tight and TightPNG encoders using it: a 640×360 photo-like area goes as one image, not four.
 */
import { describe, it, expect } from 'vitest';
import { ImageRunBuilder } from '../../server/encoding/image-runs.js';
import { imageRunRects, TIGHT_MAX_LENGTH } from '../../server/encoding/tight-common.js';
import { createTightEncoder } from '../../server/encoding/tight.js';
import { createTightPngEncoder } from '../../server/encoding/tight-png.js';
import { joinColumns, splitRect } from '../../server/encoding/split.js';
import { Encoding, PseudoEncoding } from '../../server/encoding/encodings.js';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { BufferSource, RfbTestDecoder } from '../../bench/lib/rfb-decoders.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { FORMATS, ctxFor, decodeAll, expectRegionDecoded, makeFramebuffer, prng, roundTrip } from './encoding-fixtures.js';

const band = (y: number, h: number, x = 0, w = 640) => ({ x, y, w, h });

describe('ImageRunBuilder', () => {
  it('joins pieces directly below each other of one kind, up to the area limit', () => {
    const b = new ImageRunBuilder<string>(640 * 250);
    expect(b.add(band(0, 100), 'jpeg')).toBeNull();
    expect(b.add(band(100, 100), 'jpeg')).toBeNull();
    // A third band would make 640×300 > the limit: the run so far comes back.
    const first = b.add(band(200, 100), 'jpeg');
    expect(first?.rect).toEqual(band(0, 200));
    expect(first?.pieces).toEqual([band(0, 100), band(100, 100)]);
    // Another kind, a gap, or another column each start a new run.
    expect(b.add(band(300, 50), 'png')?.rect).toEqual(band(200, 100));
    expect(b.add(band(360, 50), 'png')?.rect).toEqual(band(300, 50));
    expect(b.add(band(410, 50, 640, 100), 'png')?.rect).toEqual(band(360, 50));
    expect(b.take()?.rect).toEqual(band(410, 50, 640, 100));
    expect(b.take()).toBeNull();
  });
});

describe('imageRunRects', () => {
  const run = { kind: 'jpeg', rect: band(0, 30, 0, 4), pieces: [band(0, 10, 0, 4), band(10, 20, 0, 4)] };
  const rgb = Buffer.alloc(4 * 30 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = i & 0xff;

  it('sends the run as one rectangle when its image fits Tight\'s compact length', async () => {
    const rects = await imageRunRects(run, rgb, Encoding.Tight, 0x90, async (data, w, h) => Buffer.from([w, h, data[0]!]));
    expect(rects).toHaveLength(1);
    const wire = Buffer.concat(rects[0]!);
    expect([wire.readUInt16BE(4), wire.readUInt16BE(6), wire.readInt32BE(8), wire[12]]).toEqual([4, 30, Encoding.Tight, 0x90]);
    expect([...wire.subarray(13)]).toEqual([3, 4, 30, 0]);
  });

  it('falls back to one rectangle per piece, each from its own band of the RGB, when it does not', async () => {
    const calls: number[][] = [];
    const rects = await imageRunRects(run, rgb, Encoding.TightPNG, 0xa0, async (data, w, h) => {
      calls.push([w, h, data.length, data[0]!]);
      return h === 30 ? Buffer.alloc(TIGHT_MAX_LENGTH + 1) : Buffer.from([h]);
    });
    expect(calls).toEqual([[4, 30, 360, 0], [4, 10, 120, 0], [4, 20, 240, 120]]);
    expect(rects.map((r) => { const w = Buffer.concat(r); return [w.readUInt16BE(2), w.readUInt16BE(6), w.readInt32BE(8), w[12], w[14]]; }))
      .toEqual([[0, 10, Encoding.TightPNG, 0xa0, 10], [10, 20, Encoding.TightPNG, 0xa0, 20]]);
  });
});

/** A 640×360 smooth gradient with ±3 grain: thousands of colours, no hard edges (photo-like). */
function photoLike(seed = 1): PixelBuffer {
  const fb = makeFramebuffer(640, 360, 'solid');
  const rnd = prng(seed);
  for (let y = 0; y < 360; y++) for (let x = 0; x < 640; x++) {
    const g = () => Math.floor(rnd() * 7) - 3;
    const r = (x * 200) / 640 + 20 + g(), gr = (y * 200) / 360 + 20 + g(), b = 120 + g();
    fb.pixels[y * fb.stride + x] = (r << 16) | (gr << 8) | b;
  }
  return fb;
}

describe('Tight and TightPNG send a photo-like area as one image', () => {
  const all = band(0, 360);

  it('is more than one bounded piece, so the join is what makes it one image', () => {
    expect(splitRect(all).length).toBe(4);
  });

  for (const [name, make, enc] of [['Tight', createTightEncoder, Encoding.Tight], ['TightPNG', createTightPngEncoder, Encoding.TightPNG]] as const) {
    it(`${name}: one JPEG rectangle at quality 6, decoded within tolerance, reported lossy once`, async () => {
      const fb = photoLike();
      const lossy: unknown[] = [];
      const ctx = ctxFor(FORMATS.rgbx32!, { qualityLevel: 6, compressLevel: 2, onLossy: (r) => lossy.push(r) });
      const e = make();
      const res = await e.encode(fb, all, ctx);
      expect(res.count).toBe(1);
      expect(Buffer.concat(res.chunks)[12]).toBe(0x90);
      expect(lossy).toEqual([all]);
      const dec = new RfbTestDecoder(FORMATS.rgbx32!, 640, 360);
      await decodeAll(dec, [res]);
      expect(dec.seen.get(enc)).toBe(1);
      expectRegionDecoded(dec, fb, all, ctx.converter, 40);
      dec.dispose();
      e.dispose();
    });

    it(`${name}: a flat band in the middle splits the JPEG into two runs around a lossless piece`, async () => {
      const fb = photoLike(2);
      for (let y = 102; y < 204; y++) for (let x = 0; x < 640; x++) fb.pixels[y * fb.stride + x] = x < 320 ? 0x202020 : 0xe0e0e0;
      const e = make();
      const res = await e.encode(fb, all, ctxFor(FORMATS.rgbx32!, { qualityLevel: 6, compressLevel: 2 }));
      // Pieces: [0,102) photo, [102,204) two colours, [204,306) + [306,360) photo, joined.
      expect(res.count).toBe(3);
      const dec = new RfbTestDecoder(FORMATS.rgbx32!, 640, 360);
      const headers = await dec.decodeRects(new BufferSource(res.chunks), res.count);
      expect(headers.map((h) => [h.y, h.h]).sort((a, b) => a[0]! - b[0]!)).toEqual([[0, 102], [102, 102], [204, 156]]);
      expect(dec.seen.get(enc)).toBe(3);
      expectRegionDecoded(dec, fb, band(102, 102), ctxFor(FORMATS.rgbx32!).converter);
      expectRegionDecoded(dec, fb, all, ctxFor(FORMATS.rgbx32!).converter, 40);
      dec.dispose();
      e.dispose();
    });
  }

  it('TightPNG without a quality level: one exact RGB PNG for the whole area', async () => {
    const e = createTightPngEncoder();
    const fb = photoLike(3);
    const res = await e.encode(fb, all, ctxFor(FORMATS.rgbx32!, { compressLevel: 2 }));
    expect(res.count).toBe(1);
    expect(Buffer.concat(res.chunks)[12]).toBe(0xa0);
    e.dispose();
    await roundTrip(createTightPngEncoder(), fb, [all], ctxFor(FORMATS.rgbx32!, { compressLevel: 2 }));
  });
});

describe('joinColumns', () => {
  it('joins chains of equal-column rectangles, keeps the rest, returns reading order', () => {
    const rects = [band(192, 168, 520, 640), band(0, 10, 0, 100), band(0, 192, 520, 640), band(10, 5, 0, 90), band(400, 8, 520, 640)];
    expect(joinColumns(rects)).toEqual([band(0, 10, 0, 100), band(0, 360, 520, 640), band(10, 5, 0, 90), band(400, 8, 520, 640)]);
  });
});

describe('EncodeManager with Tight: a frame damaged as two bands goes as one JPEG', () => {
  it('joins the bands before Tight splits and joins its pieces', async () => {
    const m = new EncodeManager();
    m.setEncodings([Encoding.Tight, PseudoEncoding.QualityLevel0 + 6]);
    const fb = photoLike(4);
    const out = await m.encodeRegion(fb, [band(0, 192), band(192, 168)], ctxFor(FORMATS.rgbx32!));
    expect(out.count).toBe(1);
    expect(Buffer.concat(out.chunks)[12]).toBe(0x90);
    m.dispose();
  });
});
