/**
 * Hostile and broken peers do not hurt the server or other clients:
 * - while a good client streams updates of a changing screen, other connections send garbage
 *   instead of a version, stop after the banner, connect and close, pick a bogus security
 *   type, send unknown message types, absurd lengths (ClientCutText 2 GiB, 65535 encodings),
 *   an impossible pixel format, or close in the middle of a message. The bad ones are closed
 *   (by the server, within a few seconds), the good one keeps receiving updates, and the
 *   server ends with exactly the good session;
 * - a client that disconnects while holding Shift and a mouse button leaves nothing pressed
 *   on the X side (QueryKeymap / QueryPointer), and typing afterwards gives lowercase;
 * - xtightvncviewer (Tight, Hextile) shows the screen.
 */
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runOk, suiteScope, sleep, withTimeout } from '../helpers/processes.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { startTightViewer } from '../helpers/vnc-clients.js';
import { xInputState } from '../helpers/x-env.js';
import { fillRoot, startXterm, startXvfb, xEnv, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;
const HANDSHAKE_TIMEOUT_MS = 1500;

/** Keycodes the X server considers pressed, and the pointer's button mask (Button1Mask = 0x100…). */
/** Resolves when the peer closes `socket` (reads are drained so a pending reason cannot block it). */
function closedBy(socket: net.Socket, ms: number, what: string): Promise<void> {
  socket.resume();
  return withTimeout(
    new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
    }),
    ms,
    `the server to close the connection that ${what}`,
  );
}

function rawConnect(port: number): Promise<net.Socket> {
  return withTimeout(
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    }),
    5_000,
    'TCP connect',
  );
}

describe('robustness of vnc-runner against bad peers', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let rig: ServerRig;
  let work: string;

  beforeAll(async () => {
    x = await startXvfb({ width: W, height: H, scope });
    await fillRoot(x.display, 'desktop');
    rig = await startServerRig({ display: x.display, server: { handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }, scope });
    work = mkdtempSync(join(tmpdir(), 'server-robust-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
  });

  afterAll(() => {
    if (process.env['VNC_TEST_LOG'] === '1') console.log(rig.logs().slice(-200).join('\n'));
  });

  test('bad connections are closed while a good client keeps streaming', async () => {
    // A screen that changes all the time: an xterm printing the time every 30 ms.
    const ticker = scope.spawn('xterm', ['-geometry', '50x10+200+200', '-e', 'sh', '-c', 'while :; do date +%s.%N; sleep 0.03; done'], {
      env: xEnv(x.display),
    });
    await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(ticker.pid)], { timeoutMs: 15_000, env: xEnv(x.display) });

    const good = await new RfbClient({ port: rig.port }).connect();
    good.setEncodings([0]);
    let updates = 0;
    let streamError: unknown = null;
    let stop = false;
    good.requestUpdate(false);
    const streaming = (async () => {
      try {
        while (!stop) {
          await good.readUpdate({ timeoutMs: 5_000 });
          updates++;
          good.requestUpdate(true);
        }
      } catch (e) {
        streamError = e;
      }
    })();
    await expect.poll(() => updates, { timeout: 10_000 }).toBeGreaterThan(2);

    const abuse: Array<{ what: string; run: () => Promise<void> }> = [
      {
        what: 'sent an HTTP request instead of a version',
        run: async () => {
          const s = await rawConnect(rig.port);
          s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
          await closedBy(s, 5_000, 'sent HTTP');
        },
      },
      {
        what: 'sent binary garbage as its version',
        run: async () => {
          const s = await rawConnect(rig.port);
          s.write(Buffer.from([0xff, 0x00, 0x13, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0x04]));
          await closedBy(s, 5_000, 'sent garbage');
        },
      },
      {
        what: 'stopped after reading the banner',
        run: async () => {
          const s = await rawConnect(rig.port);
          await closedBy(s, HANDSHAKE_TIMEOUT_MS + 5_000, 'stayed silent after the banner');
        },
      },
      {
        what: 'chose a security type that was not offered',
        run: async () => {
          const s = await rawConnect(rig.port);
          s.write('RFB 003.008\n');
          await sleep(50);
          s.write(Buffer.from([99]));
          await closedBy(s, 5_000, 'chose security type 99');
        },
      },
      {
        what: 'connects and closes at once, 20 times; banner-only probes, 20 times',
        run: async () => {
          for (let i = 0; i < 20; i++) (await rawConnect(rig.port)).destroy();
          for (let i = 0; i < 20; i++) {
            const s = await rawConnect(rig.port);
            await withTimeout(new Promise<void>((r) => s.once('data', () => r())), 5_000, 'banner');
            s.destroy();
          }
        },
      },
    ];
    const afterInit: Array<{ what: string; bytes: Buffer; closes: boolean }> = [
      { what: 'sent unknown message type 0xfe', bytes: Buffer.from([0xfe, 0, 0, 0, 0, 0, 0, 0]), closes: true },
      {
        what: 'announced a 2 GiB ClientCutText',
        bytes: Buffer.from([6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0x41, 0x41]),
        closes: true,
      },
      { what: 'announced 65535 encodings', bytes: Buffer.from([2, 0, 0xff, 0xff, 0, 0, 0, 0]), closes: true },
      {
        what: 'asked for a 7-bit pixel format',
        bytes: Buffer.from([0, 0, 0, 0, 7, 7, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 0, 0, 0]),
        closes: true,
      },
      // Tolerated, not fatal: a request outside the screen is clipped away.
      { what: 'asked for an update outside the screen', bytes: Buffer.from([3, 1, 0xea, 0x60, 0xea, 0x60, 0, 10, 0, 10]), closes: false },
    ];
    for (const a of afterInit) {
      abuse.push({
        what: a.what,
        run: async () => {
          const c = await new RfbClient({ port: rig.port }).connect();
          c.socket.write(a.bytes);
          if (a.closes) {
            await closedBy(c.socket, 5_000, a.what);
          } else {
            // Still alive: a normal request is answered.
            c.requestUpdate(false, 0, 0, 16, 16);
            const u = await c.readUpdate({ timeoutMs: 5_000 });
            expect(u.rects.length).toBeGreaterThan(0);
            c.close();
          }
        },
      });
    }
    abuse.push({
      what: 'closed in the middle of a message',
      run: async () => {
        const c = await new RfbClient({ port: rig.port }).connect();
        c.socket.write(Buffer.from([5, 1, 0])); // half a PointerEvent, button 1 down
        await sleep(50);
        c.socket.destroy();
      },
    });

    for (const a of abuse) {
      const before = updates;
      await a.run();
      // The good client is unaffected: it keeps getting updates after each attack.
      await expect.poll(() => updates, { timeout: 5_000, message: `updates stalled after a peer that ${a.what}` }).toBeGreaterThan(before);
      expect(streamError).toBeNull();
    }
    // Every bad session is gone; only the good one remains.
    await expect.poll(() => rig.server.sessionCount, { timeout: 5_000 }).toBe(1);
    expect(rig.logs().join('\n')).toMatch(/VNC_ERR_/);

    stop = true;
    await streaming;
    good.close();
    await ticker.kill();
    expect(streamError).toBeNull();
    await expect.poll(() => rig.server.sessionCount, { timeout: 5_000 }).toBe(0);
  });

  test('a client that disconnects holding Shift and a button leaves nothing pressed', async () => {
    const term = await startXterm(x.display, { file: join(work, 'after-shift.txt'), scope });
    expect(await xInputState(x.display)).toEqual({ keycodes: [], buttons: 0 });

    const c = await new RfbClient({ port: rig.port }).connect();
    c.pointer(600, 20, 0);
    c.key(0xffe1, true); // Shift_L
    c.key(0xffe3, true); // Control_L
    c.pointer(600, 20, 1 << 1); // middle button (does not paste anything outside the xterm)
    // Prove they are really held, so the check below can fail.
    await expect.poll(async () => (await xInputState(x.display)).keycodes.length, { timeout: 5_000 }).toBe(2);
    expect((await xInputState(x.display)).buttons).toBe(0x200); // Button2Mask
    c.socket.destroy();

    await expect.poll(() => xInputState(x.display), { timeout: 5_000 }).toEqual({ keycodes: [], buttons: 0 });
    // Typing afterwards is lowercase, from another RFB client and from XTEST directly.
    await term.focus();
    const d = await new RfbClient({ port: rig.port }).connect();
    for (const ch of 'ab') {
      d.key(ch.charCodeAt(0), true);
      d.key(ch.charCodeAt(0), false);
    }
    await term.waitForContent((s) => s.length >= 2, 5_000);
    d.close();
    await runOk('xdotool', ['type', 'cd'], { timeoutMs: 5_000, env: xEnv(x.display) });
    expect(await term.waitForContent((s) => s.length >= 4, 5_000)).toBe('abcd');
    await term.close();
  });

  describe('xtightvncviewer', () => {
    let viewerX: XvfbHandle;
    beforeAll(async () => {
      viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    });

    test.each(['tight', 'hextile'])('%s: shows the screen', async (encodings) => {
      const truth = await xwdRoot(x.display);
      const viewer = await startTightViewer({ port: rig.port, display: viewerX.display, encodings, scope });
      // This viewer paints the cursor shape (RichCursor) into its window itself. We send no
      // PointerPos, so it draws it at its own idea of the pointer, the window's top-left
      // corner: allow one cursor's worth of pixels there, and require the rest to be exact.
      const CURSOR = 32;
      await viewer.waitForImage(truth, { timeoutMs: 15_000, allowDiffering: CURSOR * CURSOR, label: `xtightvncviewer ${encodings}` });
      for (const region of [
        { x: 0, y: CURSOR, w: W, h: H - CURSOR },
        { x: CURSOR, y: 0, w: W - CURSOR, h: CURSOR },
      ]) {
        await viewer.waitForImage(truth, { timeoutMs: 5_000, region, label: `xtightvncviewer ${encodings} outside the cursor` });
      }
      await viewer.close();
    });
  });
});
