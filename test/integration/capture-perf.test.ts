/**
 * Capture costs at 1920×1080 on a private Xvfb: grab (MIT-SHM, core GetImage), tile diff and
 * an idle poll. Printed for the logs; the bounds are loose (a shared 2-core machine is noisy)
 * and only catch order-of-magnitude regressions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { createPixelBuffer } from '../../core/pixel-buffer.js';
import { X11FrameGrabber } from '../../capture/x11-frame-grabber.js';
import { createTileMap, diffTiles } from '../../capture/tile-diff.js';
import { coalesceTiles } from '../../capture/tile-coalesce.js';
import { X11ScreenSource } from '../../capture/x11-screen-source.js';
import { fillRoot, startXvfb, type XvfbHandle } from '../helpers/x-env.js';

async function median(n: number, fn: () => unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(n / 2)]!;
}

describe('capture performance at 1920x1080', () => {
  let xvfb: XvfbHandle;
  let conn: X11Connection;
  let plain: X11Connection;

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 1920, height: 1080 });
    await fillRoot(xvfb.display, 'desktop');
    conn = await openX11({ display: xvfb.display });
    plain = await openX11({ display: xvfb.display, shm: false });
  });
  afterAll(async () => {
    await conn?.close();
    await plain?.close();
    await xvfb?.close();
  });

  it('at 1080p, SHM and GetImage agree and the tile diff counts exactly (timings logged; npm run bench judges speed)', async () => {
    const shm = await X11FrameGrabber.create(conn);
    const core = await X11FrameGrabber.create(plain);
    const a = createPixelBuffer(1920, 1080);
    const b = createPixelBuffer(1920, 1080);
    try {
      expect(shm.method).toBe('shm');
      const shmMs = await median(30, () => shm.grab(a));
      const coreMs = await median(15, () => core.grab(b));
      expect(Buffer.compare(a.data, b.data)).toBe(0);

      const map = createTileMap(1920, 1080);
      const sameMs = await median(30, () => diffTiles(a, b, map));
      // 10 % of tiles changed (every 10th tile, one pixel each, at the tile's last pixel).
      for (let t = 0; t < map.bits.length; t += 10) {
        const tx = t % map.cols;
        const ty = Math.floor(t / map.cols);
        const y = Math.min(1079, ty * 16 + 15);
        const x = tx * 16 + 15;
        b.pixels[y * 1920 + x] ^= 0xffffff;
      }
      let dirty = 0;
      const diffMs = await median(30, () => (dirty = diffTiles(a, b, map)));
      expect(dirty).toBe(Math.ceil(map.bits.length / 10));
      const coalesceMs = await median(30, () => coalesceTiles(map));
      // Worst case: every pixel differs (a full-screen change).
      for (let i = 0; i < b.pixels.length; i++) b.pixels[i] = ~a.pixels[i]! >>> 0;
      const allMs = await median(30, () => (dirty = diffTiles(a, b, map)));
      expect(dirty).toBe(map.bits.length);

      const src = await X11ScreenSource.open({ display: xvfb.display });
      await src.poll();
      const idleMs = await median(30, () => src.poll());
      await src.close();

      const report = {
        shmGrabMs: shmMs,
        getImageGrabMs: coreMs,
        diffUnchangedMs: sameMs,
        diff10pctMs: diffMs,
        coalesce10pctMs: coalesceMs,
        diffAllChangedMs: allMs,
        idlePollWithDamageMs: idleMs,
      };
      console.log('capture perf 1920x1080 (median ms):', JSON.stringify(report, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v)));
    } finally {
      await shm.close();
      await core.close();
    }
  });
});
