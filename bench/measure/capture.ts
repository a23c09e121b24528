/**
 * Capture-side costs per 1920×1080 frame, in-process: a full grab through MIT-SHM and through
 * core GetImage (the fallback), the 16×16 tile diff with nothing and with 10 % of the tiles
 * changed, and an idle X11ScreenSource poll (DAMAGE says nothing changed: one round trip).
 */
import { openX11 } from '../../core/x11-connection.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { X11FrameGrabber } from '../../capture/x11-frame-grabber.js';
import { X11ScreenSource } from '../../capture/x11-screen-source.js';
import { createTileMap, diffTiles, TILE_SIZE } from '../../capture/tile-diff.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import type { MetricCollector } from '../lib/results.js';

export interface CaptureSamples {
  readonly shmGrab: number;
  readonly getImageGrab: number;
  readonly diff: number;
  readonly idlePoll: number;
}

async function time(n: number, fn: () => unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Changes one pixel (the last) in every 10th tile of `fb`, so 10 % of the tiles differ. */
export function touchTenPercent(fb: PixelBuffer): number {
  const map = createTileMap(fb.width, fb.height);
  let touched = 0;
  for (let t = 0; t < map.bits.length; t += 10) {
    const tx = t % map.cols;
    const ty = Math.floor(t / map.cols);
    const x = Math.min(fb.width - 1, tx * TILE_SIZE + TILE_SIZE - 1);
    const y = Math.min(fb.height - 1, ty * TILE_SIZE + TILE_SIZE - 1);
    fb.pixels[y * fb.stride + x] = (fb.pixels[y * fb.stride + x]! ^ 0xffffff) >>> 0;
    touched++;
  }
  return touched;
}

/**
 * Measures capture and diff on `display` and records them in `out`. Returns the last SHM
 * frame, which the encoding benchmark reuses as its realistic input.
 */
export async function measureCapture(display: string, n: CaptureSamples, out: MetricCollector): Promise<PixelBuffer> {
  const shmConn = await openX11({ display });
  const coreConn = await openX11({ display, shm: false });
  try {
    const shm = await X11FrameGrabber.create(shmConn);
    const core = await X11FrameGrabber.create(coreConn, { useShm: false });
    try {
      if (shm.method !== 'shm') throw new VncError(ErrorCode.Desktop, 'MIT-SHM is not usable on the benchmark display');
      const a = createPixelBuffer(shm.width, shm.height);
      const b = createPixelBuffer(shm.width, shm.height);
      await shm.grab(a); // warm-up: first grab maps the segment
      out.add({ id: 'capture.grab.shm', group: 'capture', label: 'grab full frame, MIT-SHM', unit: 'ms' }, await time(n.shmGrab, () => shm.grab(a)));
      await core.grab(b);
      out.add(
        { id: 'capture.grab.getimage', group: 'capture', label: 'grab full frame, core GetImage', unit: 'ms' },
        await time(n.getImageGrab, () => core.grab(b)),
      );
      if (!a.data.equals(b.data)) throw new VncError(ErrorCode.Desktop, 'SHM and GetImage frames differ: the screen was not static');

      const map = createTileMap(a.width, a.height);
      out.add({ id: 'capture.diff.none', group: 'capture', label: 'tile diff, no change', unit: 'ms' }, await time(n.diff, () => diffTiles(a, b, map)));
      const touched = touchTenPercent(b);
      let dirty = 0;
      const diffTen = await time(n.diff, () => (dirty = diffTiles(a, b, map)));
      if (dirty !== touched) throw new VncError(ErrorCode.Desktop, `tile diff found ${dirty} dirty tiles, expected ${touched}`);
      out.add({ id: 'capture.diff.10pct', group: 'capture', label: 'tile diff, 10 % of tiles changed', unit: 'ms' }, diffTen);

      const src = await X11ScreenSource.open({ display });
      try {
        await src.poll(); // the first poll reports the whole screen
        out.add({ id: 'capture.poll.idle', group: 'capture', label: 'X11ScreenSource poll, idle (DAMAGE)', unit: 'ms' }, await time(n.idlePoll, () => src.poll()));
      } finally {
        await src.close();
      }
      return a;
    } finally {
      await shm.close();
      await core.close();
    }
  } finally {
    await shmConn.close();
    await coreConn.close();
  }
}
