/**
 * vncsnapshot (a real, third-party libvncclient-era client) against our server on Xvfb: the
 * snapshot equals `xwd -root` of the served display within the JPEG q100 tolerance, for Raw and
 * for Hextile/Zlib, on a desktop-like screen and on per-pixel noise; VNC authentication accepts
 * the right password and refuses a wrong one.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { isVncError } from '../../core/errors.js';
import { cropToRgb, expectImagesMatch } from '../helpers/image-compare.js';
import { suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { makeVncPasswdFile, vncsnapshot } from '../helpers/vnc-clients.js';
import { fillRoot, startXvfb, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;
/** vncsnapshot always writes JPEG q100 (4:4:4): ±2 per channel on flat content. */
const JPEG_TOLERANCE = 2;

describe('vncsnapshot against vnc-runner', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let open: ServerRig;
  let locked: ServerRig;
  const PASSWORD = 's3cret!x';

  beforeAll(async () => {
    x = await startXvfb({ width: W, height: H, scope });
    await fillRoot(x.display, 'desktop');
    // Two servers on the same display: one without authentication, one with a password.
    open = await startServerRig({ display: x.display, scope });
    locked = await startServerRig({ display: x.display, password: PASSWORD, scope });
  });

  test.each(['raw', 'hextile', 'zlib', 'hextile zlib'])('desktop screen, encodings "%s", equals xwd -root', async (encodings) => {
    const truth = await xwdRoot(x.display);
    const snap = await vncsnapshot({ port: open.port, encodings });
    expect([snap.width, snap.height]).toEqual([W, H]);
    await expectImagesMatch(truth, snap, { tolerance: JPEG_TOLERANCE, label: `vncsnapshot ${encodings}` });
  });

  test('noise screen (incompressible, every pixel distinct): hextile and raw', async () => {
    await fillRoot(x.display, 'noise', { seed: 42 });
    try {
      const truth = await xwdRoot(x.display);
      for (const encodings of ['raw', 'hextile']) {
        const snap = await vncsnapshot({ port: open.port, encodings });
        // JPEG q100 on noise: per-pixel error grows well beyond the flat-content ±2, so this
        // compares with a looser bound but still catches any misplaced/wrong-colour pixel
        // (a wrong pixel of random noise is off by ~85 per channel on average).
        const r = await expectImagesMatch(truth, snap, { tolerance: 24, label: `vncsnapshot noise ${encodings}` });
        expect(r.maxDelta).toBeLessThanOrEqual(24);
      }
    } finally {
      await fillRoot(x.display, 'desktop');
    }
  });

  test('a sub-rectangle request returns exactly that area', async () => {
    const truth = await xwdRoot(x.display);
    const rect = { x: 100, y: 50, w: 200, h: 120 };
    const snap = await vncsnapshot({ port: open.port, encodings: 'hextile', rect });
    expect([snap.width, snap.height]).toEqual([rect.w, rect.h]);
    // Compare the snapshot against the same area of the truth.
    await expectImagesMatch(cropToRgb(truth, rect), snap, { tolerance: JPEG_TOLERANCE, label: 'vncsnapshot -rect' });
  });

  test('the first client after an idle start sees the screen as it is now, not as it was at start', async () => {
    // Regression: the frame grabbed when the desktop opened used to be sent as the first
    // "fresh" frame, however old it was (nothing polls while no client is connected).
    const fresh = await startServerRig({ display: x.display, scope });
    await fillRoot(x.display, 'gradient');
    try {
      const truth = await xwdRoot(x.display);
      const snap = await vncsnapshot({ port: fresh.port, encodings: 'raw' });
      await expectImagesMatch(truth, snap, { tolerance: JPEG_TOLERANCE, label: 'first snapshot after idle start' });
    } finally {
      await fresh.close();
      await fillRoot(x.display, 'desktop');
    }
  });

  test('VNC authentication: right password accepted, wrong one refused', async () => {
    const good = await makeVncPasswdFile(PASSWORD, { scope });
    const truth = await xwdRoot(x.display);
    const snap = await vncsnapshot({ port: locked.port, passwordFile: good, encodings: 'hextile zlib' });
    await expectImagesMatch(truth, snap, { tolerance: JPEG_TOLERANCE, label: 'vncsnapshot with password' });

    const wrong = await makeVncPasswdFile('wrongpw', { scope });
    const err = await vncsnapshot({ port: locked.port, passwordFile: wrong, timeoutMs: 15_000 }).catch((e: unknown) => e);
    expect(isVncError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/vncsnapshot failed/);
    expect(locked.logs().join('\n')).toMatch(/handshake failed/);
    // The server goes on serving the right password after a failure.
    const again = await vncsnapshot({ port: locked.port, passwordFile: good, encodings: 'raw' });
    await expectImagesMatch(truth, again, { tolerance: JPEG_TOLERANCE, label: 'vncsnapshot after a failure' });
  });

  // Runs last: every vncsnapshot above has exited by now.
  test('no session is left behind once the clients exited', async () => {
    await expect.poll(() => open.server.sessionCount, { timeout: 5_000 }).toBe(0);
    await expect.poll(() => locked.server.sessionCount, { timeout: 5_000 }).toBe(0);
  });
});
