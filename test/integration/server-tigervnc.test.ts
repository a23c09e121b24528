/**
 * TigerVNC's `vncviewer` (on its own Xvfb) against our server: for ZRLE, lossless Tight,
 * Hextile and Raw the viewer window shows the served screen pixel for pixel (xwd of the window
 * vs `xwd -root` of the server display), a click in the viewer puts the server's X pointer on
 * that framebuffer pixel, later screen changes reach the viewer, and VNC authentication works
 * with the viewer's password file (and refuses a wrong one).
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { makeVncPasswdFile, startTigerViewer, type TigerEncoding } from '../helpers/vnc-clients.js';
import { fillRoot, getMouseLocation, startXvfb, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;

describe('TigerVNC vncviewer against vnc-runner', () => {
  const scope = suiteScope();
  const PASSWORD = 'tig3r!pw';
  let server: XvfbHandle;
  let viewerX: XvfbHandle;
  let open: ServerRig;
  let locked: ServerRig;

  beforeAll(async () => {
    server = await startXvfb({ width: W, height: H, scope });
    // The viewer window (framebuffer plus decorations-free frame) must fit on its display.
    viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    await fillRoot(server.display, 'desktop');
    open = await startServerRig({ display: server.display, scope });
    locked = await startServerRig({ display: server.display, password: PASSWORD, scope });
  });

  const encodings: TigerEncoding[] = ['ZRLE', 'Tight', 'Hextile', 'Raw'];
  test.each(encodings.map((e, i) => [e, i] as const))('%s: pixel-exact screen, click lands on the X pointer, changes follow', async (encoding, i) => {
    const truth = await xwdRoot(server.display);
    const viewer = await startTigerViewer({ port: open.port, display: viewerX.display, encoding, scope });
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: `tiger ${encoding}` });

    // A different spot per encoding, so a stale pointer position from an earlier case cannot pass.
    const target = { x: 101 + 37 * i, y: 77 + 53 * i };
    await viewer.clickAt(target.x, target.y);
    await expect.poll(() => getMouseLocation(server.display), { timeout: 5_000 }).toEqual(target);

    // A change made after connecting is sent as an incremental update.
    const pattern = i % 2 === 0 ? 'gradient' : 'noise';
    await fillRoot(server.display, pattern, { seed: 3 + i });
    try {
      const changed = await xwdRoot(server.display);
      await viewer.waitForImage(changed, { timeoutMs: 15_000, label: `tiger ${encoding} after ${pattern}` });
    } finally {
      await fillRoot(server.display, 'desktop');
    }
    // And back again.
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: `tiger ${encoding} restored` });
    await viewer.close();
  });

  test('VNC authentication: right password shows the screen, wrong password is refused', async () => {
    const good = await makeVncPasswdFile(PASSWORD, { scope });
    const truth = await xwdRoot(server.display);
    const viewer = await startTigerViewer({ port: locked.port, display: viewerX.display, encoding: 'Tight', passwordFile: good, scope });
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: 'tiger with password' });
    await viewer.clickAt(333, 222);
    await expect.poll(() => getMouseLocation(server.display), { timeout: 5_000 }).toEqual({ x: 333, y: 222 });
    await viewer.close();

    const wrong = await makeVncPasswdFile('nottheone', { scope });
    await expect(
      startTigerViewer({ port: locked.port, display: viewerX.display, encoding: 'ZRLE', passwordFile: wrong, scope, timeoutMs: 15_000 }),
    ).rejects.toThrow(/exited .*before showing a window/s);
    expect(locked.logs().join('\n')).toMatch(/handshake failed/);
  });
});
