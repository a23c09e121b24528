/**
 * X11FrameGrabber against a real Xvfb: captured pixels equal `xwd -root` (an independent reader
 * of the X framebuffer), and the MIT-SHM and core GetImage paths give identical bytes, also when
 * GetImage is split into bands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { X11FrameGrabber } from '../../capture/x11-frame-grabber.js';
import { isVncError, ErrorCode } from '../../core/errors.js';
import { fillRoot, startXvfb, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

/** The 24 colour bits of every pixel (the X byte of a depth-24 pixel is not colour). */
function rgbOf(fb: PixelBuffer): Uint32Array {
  const out = new Uint32Array(fb.width * fb.height);
  for (let y = 0; y < fb.height; y++)
    for (let x = 0; x < fb.width; x++) out[y * fb.width + x] = fb.pixels[y * fb.stride + x]! & 0xffffff;
  return out;
}

function firstMismatch(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe('X11FrameGrabber on a private Xvfb', () => {
  let xvfb: XvfbHandle;
  let shmConn: X11Connection;
  let plainConn: X11Connection;

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 333, height: 211 }); // odd size: partial tiles, odd rows
    await fillRoot(xvfb.display, 'noise', { seed: 7 });
    shmConn = await openX11({ display: xvfb.display });
    plainConn = await openX11({ display: xvfb.display, shm: false });
  });
  afterAll(async () => {
    await shmConn?.close();
    await plainConn?.close();
    await xvfb?.close();
  });

  it('MIT-SHM grab equals xwd -root pixel for pixel', async () => {
    const g = await X11FrameGrabber.create(shmConn);
    try {
      expect(g.method).toBe('shm');
      expect([g.width, g.height]).toEqual([333, 211]);
      const fb = createPixelBuffer(g.width, g.height);
      await g.grab(fb);
      const ref = await xwdRoot(xvfb.display);
      expect(firstMismatch(rgbOf(fb), rgbOf(ref))).toBe(-1);
      // Not trivially equal: the noise pattern has many colours.
      expect(new Set(rgbOf(fb)).size).toBeGreaterThan(1000);
    } finally {
      await g.close();
    }
  });

  it('core GetImage (in small bands) gives the same bytes as MIT-SHM', async () => {
    const shm = await X11FrameGrabber.create(shmConn);
    // 64 KiB replies: 333*4 bytes per row → 49 rows per band, 5 bands.
    const core = await X11FrameGrabber.create(plainConn, { maxReplyBytes: 64 * 1024 });
    try {
      expect(shm.method).toBe('shm');
      expect(core.method).toBe('getimage');
      const a = createPixelBuffer(333, 211);
      const b = createPixelBuffer(333, 211);
      b.data.fill(0xaa); // stale content must be overwritten everywhere
      await shm.grab(a);
      await core.grab(b);
      expect(Buffer.compare(a.data, b.data)).toBe(0);
    } finally {
      await shm.close();
      await core.close();
    }
  });

  it('useShm: false forces GetImage even where SHM works', async () => {
    const g = await X11FrameGrabber.create(shmConn, { useShm: false });
    expect(g.method).toBe('getimage');
    await g.close();
  });

  it('reuses one segment across grabs and refuses a wrong destination', async () => {
    const g = await X11FrameGrabber.create(shmConn);
    try {
      const fb = createPixelBuffer(333, 211);
      for (let i = 0; i < 5; i++) await g.grab(fb);
      expect(g.method).toBe('shm');
      await expect(g.grab(createPixelBuffer(100, 100))).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Desktop));
    } finally {
      await g.close();
    }
    await expect(g.grab(createPixelBuffer(333, 211))).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Desktop));
  });

  it('does not leave SHM segments attached after close', async () => {
    const before = await countShmMaps(xvfb.process.pid);
    const grabbers = await Promise.all([1, 2, 3].map(() => X11FrameGrabber.create(shmConn)));
    expect(await countShmMaps(xvfb.process.pid)).toBeGreaterThanOrEqual(before + 3);
    await Promise.all(grabbers.map((g) => g.close()));
    await shmConn.sync();
    expect(await countShmMaps(xvfb.process.pid)).toBe(before);
  });
});

/** Our segments as the X server maps them (the unlinked /dev/shm files show as "(deleted)"). */
async function countShmMaps(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const maps = await readFile(`/proc/${pid}/maps`, 'utf8');
  return maps.split('\n').filter((l) => l.includes('/dev/shm/vnc-runner-')).length;
}
