/**
 * Real viewers with Tight + JPEG on a photo-like screen. The whole 640×480 gradient is
 * photographic, so the first update sends it as one JPEG rectangle of 307,200 pixels (joined
 * from five 65,536-pixel pieces, `image-runs.ts`): larger than any Tight rectangle TigerVNC's or
 * libvncserver's servers send. TigerVNC's `vncviewer` and `xtightvncviewer` must decode it (a
 * decoding error ends their connection), and once the screen is quiet the lossless refresh must
 * leave them pixel-exact.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { Encoding } from '../../server/encoding/encodings.js';
import { suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { startTightViewer, startTigerViewer } from '../helpers/vnc-clients.js';
import { fillRoot, startXvfb, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;

describe('large JPEG rectangles in real viewers', () => {
  const scope = suiteScope();
  let server: XvfbHandle;
  let viewerX: XvfbHandle;
  let rig: ServerRig;

  /**
   * Tight pieces are at most 65,536 pixels, so an average above that over the session's Tight
   * rectangles means at least one was a joined JPEG.
   */
  function expectJoinedJpegSent(): void {
    // The newest session is this test's viewer (an earlier viewer's may still be closing).
    const session = rig.server.liveSessions().at(-1);
    expect(session, 'a session').toBeDefined();
    const tight = session!.encodingStats().find((s) => s.encoding === Encoding.Tight);
    expect(tight, 'Tight rectangles sent').toBeDefined();
    expect(tight!.pixels / tight!.rects).toBeGreaterThan(65_536);
  }

  beforeAll(async () => {
    server = await startXvfb({ width: W, height: H, scope });
    viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    await fillRoot(server.display, 'gradient');
    rig = await startServerRig({ display: server.display, scope });
  });

  test('TigerVNC vncviewer, Tight with JPEG quality 6: connected, then pixel-exact', async () => {
    const truth = await xwdRoot(server.display);
    const viewer = await startTigerViewer({ port: rig.port, display: viewerX.display, encoding: 'Tight', jpeg: true, qualityLevel: 6, scope });
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: 'tiger Tight+JPEG after the lossless refresh' });
    expectJoinedJpegSent();
    await viewer.close();
  });

  test('xtightvncviewer, Tight with JPEG quality 6: connected, then exact outside its own cursor', async () => {
    const truth = await xwdRoot(server.display);
    const viewer = await startTightViewer({ port: rig.port, display: viewerX.display, encodings: 'tight', jpeg: true, quality: 6, scope });
    // It paints the cursor shape into its window at the top-left corner (see server-robustness).
    const CURSOR = 32;
    await viewer.waitForImage(truth, { timeoutMs: 15_000, region: { x: 0, y: CURSOR, w: W, h: H - CURSOR }, label: 'xtightvncviewer Tight+JPEG' });
    expectJoinedJpegSent();
    await viewer.close();
  });
});
