import { describe, it, expect } from 'vitest';
import { createRawEncoder } from '../../server/encoding/raw.js';
import { createZlibEncoder } from '../../server/encoding/zlib.js';
import { Encoding } from '../../server/encoding/encodings.js';
import { RfbTestDecoder, BufferSource } from '../../bench/lib/rfb-decoders.js';
import { FORMATS, ODD_RECTS, ctxFor, decodeAll, expectRegionDecoded, makeFramebuffer, roundTrip, type ContentClass } from './encoding-fixtures.js';

const CLASSES: ContentClass[] = ['solid', 'twoColour', 'palette', 'noise', 'desktop'];

describe('Raw encoder', () => {
  for (const [fname, format] of Object.entries(FORMATS)) {
    it(`round-trips every content class in ${fname}`, async () => {
      const enc = createRawEncoder();
      for (const cls of CLASSES) await roundTrip(enc, makeFramebuffer(300, 220, cls), ODD_RECTS, ctxFor(format));
      enc.dispose();
    });
  }

  it('writes the rectangle header and exactly w*h*bpp bytes', () => {
    const fb = makeFramebuffer(40, 30, 'noise');
    const out = createRawEncoder().encode(fb, { x: 3, y: 4, w: 5, h: 6 }, ctxFor(FORMATS.rgb565le!));
    if (out instanceof Promise) throw new Error('raw must be synchronous');
    const b = Buffer.concat(out.chunks);
    expect(out.count).toBe(1);
    expect([b.readUInt16BE(0), b.readUInt16BE(2), b.readUInt16BE(4), b.readUInt16BE(6), b.readInt32BE(8)]).toEqual([3, 4, 5, 6, 0]);
    expect(b.length).toBe(12 + 5 * 6 * 2);
  });
});

describe('Zlib encoder', () => {
  for (const [fname, format] of Object.entries(FORMATS)) {
    it(`round-trips every content class in ${fname} on one persistent stream`, async () => {
      const enc = createZlibEncoder();
      const ctx = ctxFor(format);
      const dec = new RfbTestDecoder(format, 300, 220);
      // One decoder (one inflate stream) across all classes: the stream state must carry over.
      for (const cls of CLASSES) {
        const fb = makeFramebuffer(300, 220, cls);
        const res = await Promise.all(ODD_RECTS.map((r) => enc.encode(fb, r, ctx)));
        await decodeAll(dec, res);
        for (const r of ODD_RECTS) expectRegionDecoded(dec, fb, r, ctx.converter);
      }
      expect(dec.seen.get(Encoding.Zlib)).toBeGreaterThanOrEqual(CLASSES.length * ODD_RECTS.length);
      dec.dispose();
      enc.dispose();
    });
  }

  it('splits a large rectangle into bounded pieces that tile it exactly', async () => {
    const fb = makeFramebuffer(1000, 300, 'desktop');
    const enc = createZlibEncoder({ maxPieceArea: 65536 });
    const out = await enc.encode(fb, { x: 0, y: 0, w: 1000, h: 300 }, ctxFor(FORMATS.native32!));
    expect(out.count).toBe(Math.ceil(300 / Math.floor(65536 / 1000)));
    const dec = new RfbTestDecoder(FORMATS.native32!, 1000, 300);
    const hs = await dec.decodeRects(new BufferSource(out.chunks), out.count);
    for (const h of hs) expect(h.w * h.h).toBeLessThanOrEqual(65536);
    expect(hs.reduce((a, h) => a + h.w * h.h, 0)).toBe(300000);
    expectRegionDecoded(dec, fb, { x: 0, y: 0, w: 1000, h: 300 }, ctxFor(FORMATS.native32!).converter);
    enc.dispose();
  });

  it('keeps order when 50 encodes are issued without awaiting, while the framebuffer changes', async () => {
    const enc = createZlibEncoder();
    const ctx = ctxFor(FORMATS.rgbx32!);
    const fb = makeFramebuffer(128, 128, 'noise', 7);
    const snapshots: Uint32Array[] = [];
    const pending = [];
    for (let i = 0; i < 50; i++) {
      // The encoder must read synchronously: change the frame right after each call.
      pending.push(enc.encode(fb, { x: i % 7, y: i % 5, w: 64 + i, h: 40 }, ctx));
      snapshots.push(fb.pixels.slice());
      fb.pixels.fill(0x010203 * (i + 1), 0, 128 * 3);
    }
    const results = await Promise.all(pending);
    const dec = new RfbTestDecoder(FORMATS.rgbx32!, 128, 128);
    for (let i = 0; i < 50; i++) {
      await dec.decodeRects(new BufferSource(results[i]!.chunks), results[i]!.count);
      const frame = { ...fb, pixels: snapshots[i]! };
      expectRegionDecoded(dec, frame, { x: i % 7, y: i % 5, w: 64 + i, h: 40 }, ctx.converter);
    }
    dec.dispose();
    enc.dispose();
  });

  it('honours a compression level change mid-stream', async () => {
    const enc = createZlibEncoder();
    const fb = makeFramebuffer(200, 100, 'desktop');
    const dec = new RfbTestDecoder(FORMATS.native32!, 200, 100);
    const levels = [undefined, 1, 9, 0, 6];
    const res = await Promise.all(levels.map((l) => enc.encode(fb, { x: 0, y: 0, w: 200, h: 100 }, ctxFor(FORMATS.native32!, l === undefined ? {} : { compressLevel: l }))));
    await decodeAll(dec, res);
    expectRegionDecoded(dec, fb, { x: 0, y: 0, w: 200, h: 100 }, ctxFor(FORMATS.native32!).converter);
    dec.dispose();
    enc.dispose();
  });

  it('rejects calls after dispose', async () => {
    const enc = createZlibEncoder();
    enc.dispose();
    await expect(enc.encode(makeFramebuffer(8, 8, 'solid'), { x: 0, y: 0, w: 8, h: 8 }, ctxFor(FORMATS.native32!))).rejects.toMatchObject({ code: 'VNC_ERR_CLOSED' });
  });
});
