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
