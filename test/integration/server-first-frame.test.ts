/**
 * Full frames are sent once, against a real Xvfb: a new client's first frame, and the new
 * screen after a RANDR resize, are each followed by nothing while the screen stays unchanged
 * (the first poll after open or a resize compares the screen with the frame clients were sent;
 * when it reported the whole screen instead, about one resize in four sent the client the new
 * screen a second time: 300 KB of Raw here, 8 MB at 1080p).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientShows } from '../helpers/image-compare.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { fillRoot, startXvfb, xEnv, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';
import { ProcessScope, runOk, sleep } from '../helpers/processes.js';

const W = 640;
const H = 480;
const ENC_RAW = 0;
const ENC_DESKTOP_SIZE = -223;
/** Longer than the frame clock's idle poll and a verify slice, so the first poll has run. */
const QUIET_WINDOW_MS = 1200;

async function rawClient(port: number, encodings = [ENC_RAW]): Promise<{ client: RfbClient; bytes: () => number }> {
  const client = await new RfbClient({ port, timeoutMs: 15_000 }).connect();
  let bytes = 0;
  client.socket.on('data', (d: Buffer) => (bytes += d.length));
  client.setPixelFormat({
    bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
    redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0,
  });
  client.serverFormat = { ...client.serverFormat, bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redShift: 16, greenShift: 8, blueShift: 0 };
  client.setEncodings(encodings);
  return { client, bytes: () => bytes };
}

describe('full frames are sent once', () => {
  const scope = new ProcessScope();
  let xvfb: XvfbHandle;
  let rig: ServerRig;

  beforeAll(async () => {
    xvfb = await startXvfb({ width: W, height: H, scope });
    await fillRoot(xvfb.display, 'desktop');
    rig = await startServerRig({ display: xvfb.display, scope });
  });
  afterAll(() => scope.dispose());

  it("a client's first frame: an unchanged screen brings no second full update", async () => {
    const { client, bytes } = await rawClient(rig.port);
    try {
      client.requestUpdate(false);
      await client.readUpdate();
      expect(clientShows(client.fb, await xwdRoot(xvfb.display))).toBe(true);
      const after = bytes();
      client.requestUpdate(true);
      await sleep(QUIET_WINDOW_MS);
      // Nothing changed: at most a small update (none is expected), never the 1.2 MB screen.
      expect(bytes() - after).toBeLessThan(W * H);
    } finally {
      client.close();
    }
  });

  it('a screen changed between the start capture and the first client: the client ends exact', async () => {
    // A fresh rig captures the screen at start; the repaint after it is only found by the
    // first poll, which must send it (the client's first frame is the start capture's).
    const second = await startServerRig({ display: xvfb.display, scope });
    await fillRoot(xvfb.display, 'noise', { seed: 5 });
    const { client } = await rawClient(second.port);
    try {
      client.requestUpdate(false);
      await client.readUpdate();
      const truth = await xwdRoot(xvfb.display);
      const deadline = Date.now() + 10_000;
      while (!clientShows(client.fb, truth)) {
        expect(Date.now(), 'client never matched xwd -root').toBeLessThan(deadline);
        client.requestUpdate(true);
        await client.readUpdate({ timeoutMs: 5000 });
      }
    } finally {
      client.close();
      await second.close();
    }
  });

  it('after a RANDR resize: the new screen once, then nothing while it is unchanged', async () => {
    const { client, bytes } = await rawClient(rig.port, [ENC_RAW, ENC_DESKTOP_SIZE]);
    const xr = (args: string[]) => runOk('xrandr', args, { timeoutMs: 10_000, env: xEnv(xvfb.display) });
    try {
      client.requestUpdate(false);
      await client.readUpdate();
      client.requestUpdate(true);
      await xr(['--newmode', '320x240', '0', '320', '0', '0', '0', '240', '0', '0', '0']);
      await xr(['--addmode', 'screen', '320x240']);
      await xr(['--output', 'screen', '--mode', '320x240']);
      // DesktopSize and the new screen (possibly in two updates), until the client is exact.
      const deadline = Date.now() + 10_000;
      while (client.width !== 320 || !clientShows(client.fb, await xwdRoot(xvfb.display))) {
        expect(Date.now(), 'client never showed the resized screen').toBeLessThan(deadline);
        await client.readUpdate({ timeoutMs: 5000 });
        client.requestUpdate(true);
      }
      const after = bytes();
      await sleep(QUIET_WINDOW_MS);
      expect(bytes() - after, 'bytes after the resized screen was complete').toBeLessThan(320 * 240);
    } finally {
      client.close();
      await xr(['--output', 'screen', '--mode', `${W}x${H}`]).catch(() => {});
    }
  });
});
