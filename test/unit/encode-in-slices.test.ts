/**
 * Large updates are encoded from a per-session snapshot in slices (`encode-in-slices.ts`): the
 * pixels are those of the moment the update started, however the desktop changes meanwhile,
 * and the snapshot's memory is allocated once per geometry, not once per update.
 */
import { describe, it, expect, vi } from 'vitest';
import { encodeInSlices, SnapshotBuffer, SLICE_PIXELS, SNAPSHOT_IDLE_RELEASE_MS } from '../../server/updates/encode-in-slices.js';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { Encoding } from '../../server/encoding/encodings.js';
import { RfbTestDecoder } from '../../bench/lib/rfb-decoders.js';
import { FORMATS, ctxFor, decodeAll, expectRegionDecoded, makeFramebuffer } from './encoding-fixtures.js';

describe('SnapshotBuffer', () => {
  it('reuses one buffer while the geometry stays, copies only the given rectangles', () => {
    const snap = new SnapshotBuffer();
    const fb = makeFramebuffer(64, 32, 'noise');
    const a = snap.copy(fb, [{ x: 2, y: 3, w: 10, h: 4 }]);
    expect(a.pixels[3 * fb.stride + 2]).toBe(fb.pixels[3 * fb.stride + 2]);
    expect(fb.pixels[3 * fb.stride + 2]).not.toBe(0);
    expect(a.pixels[0]).toBe(0); // outside the rectangles: not copied
    expect(snap.copy(fb, [{ x: 0, y: 0, w: 1, h: 1 }])).toBe(a);
    const resized = snap.copy(makeFramebuffer(32, 32, 'noise'), []);
    expect(resized).not.toBe(a);
    expect(resized.width).toBe(32);
    snap.release();
    expect(snap.copy(makeFramebuffer(32, 32, 'noise'), [])).not.toBe(resized);
  });
});

describe('encodeInSlices', () => {
  it('sends the pixels of the moment the update started, slice after slice', async () => {
    const fb = makeFramebuffer(640, 480, 'desktop');
    const before = Uint32Array.from(fb.pixels);
    expect(640 * 480).toBeGreaterThan(2 * SLICE_PIXELS);
    const m = new EncodeManager();
    m.setEncodings([Encoding.ZRLE]);
    const ctx = ctxFor(FORMATS.rgbx32!);
    const snapshot = new SnapshotBuffer();
    const whole = { x: 0, y: 0, w: 640, h: 480 };
    const pending = encodeInSlices(m, fb, [whole], ctx, () => false, snapshot);
    fb.pixels.fill(0x123456); // the desktop changes while slices are still being encoded
    const out = await pending;
    const dec = new RfbTestDecoder(FORMATS.rgbx32!, 640, 480);
    const { area } = await decodeAll(dec, [out]);
    expect(area).toBe(640 * 480);
    fb.pixels.set(before);
    expectRegionDecoded(dec, fb, whole, ctx.converter);
    dec.dispose();
    m.dispose();
  });
});

/**
 * Specks on a background, black and white swapping every tile row (black on even ones): a band
 * starting on an even tile row opens with a black background after a white one, so a band that
 * assumed any background from before it would decode wrongly. No solid area is large enough to
 * be cut out.
 */
function swappedSpecks(w: number, h: number) {
  const fb = makeFramebuffer(w, h, 'solid');
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const dark = (y >> 4) % 2 === 0;
    const speck = x % 8 === 0 && y % 8 === 0;
    fb.pixels[y * fb.stride + x] = speck !== dark ? 0x000000 : 0xffffff;
  }
  return fb;
}

describe('encodeInSlices with Raw and Hextile: one rectangle, written in bands', () => {
  const cases = [
    { name: 'Hextile', encoding: Encoding.Hextile },
    { name: 'Raw', encoding: Encoding.Raw },
  ];
  for (const { name, encoding } of cases) {
    it(`${name}: a large area without solid parts is one rectangle, exact, with event-loop turns between bands`, async () => {
      for (const format of [FORMATS.rgbx32!, FORMATS.rgb565le!]) {
        for (const [cls, w, h, r] of [
          ['noise', 1000, 600, { x: 3, y: 5, w: 990, h: 587 }],
          ['twoColour', 1000, 600, { x: 0, y: 1, w: 1000, h: 599 }],
          ['palette', 1000, 600, { x: 7, y: 0, w: 600, h: 500 }],
          // So wide that one band is the minimum of 16 (Hextile) or 14 (Raw) rows.
          ['noise', 9000, 40, { x: 0, y: 0, w: 9000, h: 40 }],
          ['swapped', 1000, 600, { x: 0, y: 0, w: 1000, h: 600 }],
        ] as const) {
          const fb = cls === 'swapped' ? swappedSpecks(w, h) : makeFramebuffer(w, h, cls, 7);
          const m = new EncodeManager();
          m.setEncodings([encoding, Encoding.CopyRect]);
          const ctx = ctxFor(format);
          let turns = 0;
          let done = false;
          const tick = (): void => { turns++; if (!done) setImmediate(tick); };
          setImmediate(tick);
          const out = await encodeInSlices(m, fb, [r], ctx, () => false, new SnapshotBuffer());
          done = true;
          expect(out.count, `${cls} ${w}x${h}`).toBe(1);
          expect(turns, 'the event loop ran between bands').toBeGreaterThanOrEqual(Math.floor((r.w * r.h) / SLICE_PIXELS));
          const dec = new RfbTestDecoder(format, w, h);
          expect((await decodeAll(dec, [out])).area).toBe(r.w * r.h);
          expectRegionDecoded(dec, fb, r, ctx.converter);
          const stats = m.stats().find((s) => s.encoding === encoding)!;
          expect(stats.rects).toBe(1);
          expect(stats.pixels).toBe(r.w * r.h);
          expect(stats.bytes).toBe(out.chunks.reduce((a, c) => a + c.length, 0));
          dec.dispose();
          m.dispose();
        }
      }
    });
  }

  it('solid areas still get their own rectangles (Hextile), and ZRLE keeps its bounded pieces', async () => {
    const fb = makeFramebuffer(800, 500, 'desktop');
    const whole = { x: 0, y: 0, w: 800, h: 500 };
    for (const encoding of [Encoding.Hextile, Encoding.ZRLE]) {
      const m = new EncodeManager();
      m.setEncodings([encoding]);
      expect(m.rowWriter(fb, whole, ctxFor(FORMATS.rgbx32!))).toBeNull();
      const out = await encodeInSlices(m, fb, [whole], ctxFor(FORMATS.rgbx32!), () => false, new SnapshotBuffer());
      expect(out.count).toBeGreaterThan(1);
      const dec = new RfbTestDecoder(FORMATS.rgbx32!, 800, 500);
      await decodeAll(dec, [out]);
      expectRegionDecoded(dec, fb, whole, ctxFor(FORMATS.rgbx32!).converter);
      dec.dispose();
      m.dispose();
    }
  });

  it('a row writer refuses bands that do not continue its rectangle', () => {
    const fb = makeFramebuffer(100, 100, 'noise');
    const m = new EncodeManager();
    m.setEncodings([Encoding.Hextile]);
    const writer = m.rowWriter(fb, { x: 0, y: 0, w: 100, h: 100 }, ctxFor(FORMATS.rgbx32!))!;
    expect(writer.rowAlign).toBe(16);
    expect(() => writer.write(fb, 16, 16)).toThrow(/does not continue/); // skips the first band
    expect(() => writer.write(fb, 0, 20)).toThrow(/does not continue/); // not whole tile rows
    expect(writer.write(fb, 0, 96).count).toBe(1);
    expect(writer.write(fb, 96, 4).count).toBe(0); // the last band may be shorter
    expect(() => writer.write(fb, 100, 1)).toThrow(/does not continue/); // past the end
    m.dispose();
  });
});

describe('SnapshotBuffer release', () => {
  it('frees the copy once no update used it for SNAPSHOT_IDLE_RELEASE_MS, keeps it while in use', () => {
    vi.useFakeTimers();
    try {
      const snap = new SnapshotBuffer();
      const fb = makeFramebuffer(64, 32, 'noise');
      const a = snap.copy(fb, []);
      snap.idle();
      vi.advanceTimersByTime(SNAPSHOT_IDLE_RELEASE_MS - 1);
      expect(snap.copy(fb, []), 'used again before the delay: same buffer').toBe(a);
      snap.idle();
      vi.advanceTimersByTime(SNAPSHOT_IDLE_RELEASE_MS);
      expect(snap.copy(fb, []), 'idle for the delay: freed, a new one').not.toBe(a);
      snap.release();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
