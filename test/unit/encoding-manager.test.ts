import { describe, it, expect } from 'vitest';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { findSolidRects } from '../../server/encoding/solid.js';
import { Encoding } from '../../server/encoding/encodings.js';
import { Region } from '../../core/region.js';
import { RfbTestDecoder, BufferSource } from '../../bench/lib/rfb-decoders.js';
import { FORMATS, ctxFor, decodeAll, expectRegionDecoded, makeFramebuffer } from './encoding-fixtures.js';

/** SetEncodings lists as real clients send them (testing-notes.md, client sources). */
const CLIENTS: Record<string, number[]> = {
  noVNC: [1, 7, -260, 16, 5, 2, 0, -23 - 3, -256 + 2, -239, -223, -308, -312, -313, -224, -258],
  tigervnc: [16, 7, 5, 2, 0, 1, -224, -223, -308, -312, -313, -239, -247 - 7],
  xtightvnc: [7, 5, 6, 2, 0, 1, -224, -239, -240, -256 + 6],
  asyncvnc: [6],
  rawOnly: [0],
  nothing: [],
  rreFirst: [2, 0],
  hextileOnly: [5],
  tightpngLossless: [-260],
};

const W = 640, H = 400;

describe('EncodeManager.setEncodings', () => {
  it('remembers preference, pseudo-encodings and levels', () => {
    const m = new EncodeManager();
    m.setEncodings(CLIENTS.noVNC!);
    expect(m.preferredEncoding).toBe(Encoding.Tight);
    expect(m.qualityLevel).toBe(6);
    expect(m.compressLevel).toBe(2);
    expect(m.clientSupports(-224)).toBe(true);
    expect(m.clientSupports(Encoding.CopyRect)).toBe(true);
    expect(m.clientSupports(-314)).toBe(false);
    m.setEncodings([16, 99, -1000]);
    expect(m.preferredEncoding).toBe(Encoding.ZRLE);
    expect(m.qualityLevel).toBeUndefined();
    expect(m.clientSupports(-224)).toBe(false);
    expect(m.clientSupports(Encoding.Raw)).toBe(true);
    m.setEncodings([1, 12345]);
    expect(m.preferredEncoding).toBe(Encoding.Raw); // CopyRect is not a pixel encoding
    m.dispose();
  });
});

describe('EncodeManager.encodeRegion', () => {
  for (const [name, list] of Object.entries(CLIENTS)) {
    it(`${name}: sends only listed encodings (+Raw) and decodes to the frame`, async () => {
      const m = new EncodeManager();
      m.setEncodings(list);
      const format = name === 'noVNC' ? FORMATS.rgbx32! : name === 'tigervnc' ? FORMATS.rgb565le! : FORMATS.native32!;
      const ctx = ctxFor(format);
      const fb = makeFramebuffer(W, H, 'desktop');
      const dec = new RfbTestDecoder(format, W, H);
      const damage = [{ x: 0, y: 0, w: W, h: H }];
      const out = await m.encodeRegion(fb, damage, ctx);
      const { area } = await decodeAll(dec, [out]);
      expect(area).toBe(W * H);
      const allowed = new Set([...list, Encoding.Raw]);
      for (const enc of dec.seen.keys()) expect(allowed.has(enc), `encoding ${enc} not listed by ${name}`).toBe(true);
      // JPEG (noVNC sends quality 6) is lossy: compare with a tolerance there.
      expectRegionDecoded(dec, fb, damage[0]!, ctx.converter, m.qualityLevel === undefined ? 0 : 96);
      // Counters add up to what was produced.
      const stats = m.stats();
      expect(stats.reduce((a, s) => a + s.bytes, 0)).toBe(out.chunks.reduce((a, c) => a + c.length, 0));
      expect(stats.reduce((a, s) => a + s.rects, 0)).toBe(out.count);
      expect(stats.reduce((a, s) => a + s.pixels, 0)).toBe(W * H);
      dec.dispose();
      m.dispose();
    });
  }

  it('lossless Tight (no quality level) is exact, and compresses a desktop frame well', async () => {
    const m = new EncodeManager();
    m.setEncodings([7, -256 + 6]);
    const fb = makeFramebuffer(W, H, 'desktop');
    const ctx = ctxFor(FORMATS.native32!);
    const dec = new RfbTestDecoder(FORMATS.native32!, W, H);
    const out = await m.encodeRegion(fb, [{ x: 0, y: 0, w: W, h: H }], ctx);
    await decodeAll(dec, [out]);
    expectRegionDecoded(dec, fb, { x: 0, y: 0, w: W, h: H }, ctx.converter);
    const s = m.stats().find((x) => x.encoding === Encoding.Tight)!;
    expect(s.bytes).toBeLessThan(s.rawBytes / 3);
    dec.dispose();
    m.dispose();
  });

  it('cuts big solid areas out as single rectangles', async () => {
    const m = new EncodeManager();
    m.setEncodings([7]);
    const fb = makeFramebuffer(W, H, 'solid');
    for (let y = 100; y < 140; y++) for (let x = 50; x < 600; x++) fb.pixels[y * fb.stride + x] = (x * 7919 + y * 104729) & 0xffffff;
    const out = await m.encodeRegion(fb, [{ x: 0, y: 0, w: W, h: H }], ctxFor(FORMATS.native32!));
    const dec = new RfbTestDecoder(FORMATS.native32!, W, H);
    const hs = await dec.decodeRects(new BufferSource(out.chunks), out.count);
    // The solid area above the noise band is one rectangle spanning the full width.
    expect(hs.some((h) => h.w === W && h.h >= 100)).toBe(true);
    expectRegionDecoded(dec, fb, { x: 0, y: 0, w: W, h: H }, ctxFor(FORMATS.native32!).converter);
    dec.dispose();
    m.dispose();
  });

  it('RRE preferred: noise goes to the listed full-colour encoding or Raw, flat content to RRE', async () => {
    for (const [list, fallback] of [[[2, 0], Encoding.Raw], [[2, 5, 0], Encoding.Hextile]] as const) {
      const m = new EncodeManager();
      m.setEncodings([...list]);
      const noise = makeFramebuffer(128, 128, 'noise');
      const ctx = ctxFor(FORMATS.native32!);
      const dec = new RfbTestDecoder(FORMATS.native32!, 128, 128);
      await decodeAll(dec, [await m.encodeRegion(noise, [{ x: 0, y: 0, w: 128, h: 128 }], ctx)]);
      expect([...dec.seen.keys()]).toEqual([fallback]);
      expectRegionDecoded(dec, noise, { x: 0, y: 0, w: 128, h: 128 }, ctx.converter);
      const flat = makeFramebuffer(128, 128, 'palette');
      await decodeAll(dec, [await m.encodeRegion(flat, [{ x: 0, y: 0, w: 128, h: 128 }], ctx)]);
      expect(dec.seen.get(Encoding.RRE)).toBeGreaterThan(0);
      expectRegionDecoded(dec, flat, { x: 0, y: 0, w: 128, h: 128 }, ctx.converter);
      dec.dispose();
      m.dispose();
    }
  });

  it('clips rectangles to the framebuffer and skips empty ones', async () => {
    const m = new EncodeManager();
    m.setEncodings([0]);
    const fb = makeFramebuffer(50, 40, 'noise');
    const out = await m.encodeRegion(fb, [{ x: 40, y: 30, w: 100, h: 100 }, { x: 60, y: 0, w: 5, h: 5 }, { x: 1, y: 1, w: 0, h: 9 }], ctxFor(FORMATS.native32!));
    const dec = new RfbTestDecoder(FORMATS.native32!, 50, 40);
    const hs = await dec.decodeRects(new BufferSource(out.chunks), out.count);
    expect(hs.map((h) => [h.x, h.y, h.w, h.h])).toEqual([[40, 30, 10, 10]]);
    m.dispose();
  });

  it('pipelines 50 updates without awaiting while the frame changes, decoding in order', async () => {
    for (const list of [CLIENTS.tigervnc!, [7], [6], [-260], [5]]) {
      const m = new EncodeManager();
      m.setEncodings(list);
      const ctx = ctxFor(FORMATS.native32!);
      const fb = makeFramebuffer(320, 200, 'desktop', 11);
      const pending = [];
      const snaps: Uint32Array[] = [];
      const regions = [];
      for (let i = 0; i < 50; i++) {
        const region = new Region([{ x: (i * 17) % 200, y: (i * 11) % 120, w: 40 + i, h: 30 + (i % 50) }, { x: 0, y: 190, w: 320, h: 10 }]);
        regions.push(region.rects());
        pending.push(m.encodeRegion(fb, region.rects(), ctx));
        snaps.push(fb.pixels.slice());
        for (let k = i; k < fb.pixels.length; k += 61) fb.pixels[k] = (fb.pixels[k]! * 31 + i) & 0xffffff;
      }
      const results = await Promise.all(pending);
      const dec = new RfbTestDecoder(FORMATS.native32!, 320, 200);
      for (let i = 0; i < 50; i++) {
        await decodeAll(dec, [results[i]!]);
        for (const r of regions[i]!) expectRegionDecoded(dec, { ...fb, pixels: snaps[i]! }, r, ctx.converter);
      }
      dec.dispose();
      m.dispose();
    }
  });

  it('encodeCopies needs CopyRect in the list, and decodes as a copy', async () => {
    const m = new EncodeManager();
    m.setEncodings([0]);
    expect(() => m.encodeCopies([{ dest: { x: 0, y: 0, w: 4, h: 4 }, srcX: 8, srcY: 8 }])).toThrow(expect.objectContaining({ code: 'VNC_ERR_UNSUPPORTED' }));
    m.setEncodings([1, 0]);
    const fb = makeFramebuffer(32, 32, 'noise');
    const ctx = ctxFor(FORMATS.native32!);
    const dec = new RfbTestDecoder(FORMATS.native32!, 32, 32);
    await decodeAll(dec, [await m.encodeRegion(fb, [{ x: 0, y: 0, w: 32, h: 32 }], ctx), m.encodeCopies([{ dest: { x: 0, y: 0, w: 10, h: 10 }, srcX: 20, srcY: 20 }])]);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) expect(dec.pixels[y * 32 + x]).toBe(fb.pixels[(y + 20) * fb.stride + x + 20]);
    expect(m.stats().find((s) => s.encoding === Encoding.CopyRect)?.bytes).toBe(16);
    m.dispose();
  });

  it('rejects after dispose', async () => {
    const m = new EncodeManager();
    m.dispose();
    await expect(m.encodeRegion(makeFramebuffer(8, 8, 'solid'), [{ x: 0, y: 0, w: 8, h: 8 }], ctxFor(FORMATS.native32!))).rejects.toMatchObject({ code: 'VNC_ERR_CLOSED' });
  });
});

describe('findSolidRects', () => {
  it('partitions the rectangle into solid areas and the rest, exactly', () => {
    const fb = makeFramebuffer(400, 300, 'desktop');
    const r = { x: 7, y: 5, w: 380, h: 290 };
    const { solids, rest } = findSolidRects(fb, r, 2048);
    expect(solids.length).toBeGreaterThan(0);
    const all = new Region();
    let area = 0;
    for (const s of solids) {
      expect(s.rect.w * s.rect.h).toBeGreaterThanOrEqual(2048);
      for (let y = s.rect.y; y < s.rect.y + s.rect.h; y++) for (let x = s.rect.x; x < s.rect.x + s.rect.w; x++) {
        expect(fb.pixels[y * fb.stride + x]).toBe(s.colour);
      }
      all.add(s.rect);
      area += s.rect.w * s.rect.h;
    }
    for (const q of rest) { all.add(q); area += q.w * q.h; }
    expect(area).toBe(r.w * r.h); // no overlap
    expect(all.equals(new Region([r]))).toBe(true); // full coverage
  });

  it('finds nothing in noise', () => {
    const fb = makeFramebuffer(200, 200, 'noise');
    expect(findSolidRects(fb, { x: 0, y: 0, w: 200, h: 200 }).solids).toEqual([]);
  });
});
