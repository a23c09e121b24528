/**
 * Proves the integration-test harness against real peers, with no vnc-runner code involved:
 * part 1 needs only the X tools (runs in CI); part 2 uses x11vnc as a stand-in VNC server and
 * is skipped, with the reason printed, when x11vnc is not installed (CI does not install it).
 * Prints how long each helper takes, so the CI budget can be planned.
 */
import { existsSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocketServer } from 'ws';
import { isVncError } from '../../core/errors.js';
import { createPixelBuffer } from '../../core/pixel-buffer.js';
import { launchChromium, openNoVncPage, serveNoVnc, type ChromiumHandle, type NoVncServer } from '../helpers/browser.js';
import { compareImages, expectImagesMatch, pixelAt } from '../helpers/image-compare.js';
import { ProcessScope, hasCommand, runOk, suiteScope } from '../helpers/processes.js';
import { makeVncPasswdFile, startTightViewer, startTigerViewer, vncsnapshot, type TigerEncoding } from '../helpers/vnc-clients.js';
import {
  fillRoot,
  getMouseLocation,
  gradientImage,
  startXterm,
  startXvfb,
  xEnv,
  xclipRead,
  xclipWrite,
  xwdRoot,
  type XvfbHandle,
} from '../helpers/x-env.js';
import { parseXwd } from '../helpers/xwd.js';

/** Wall-clock per helper call, printed at the end of the file. */
const timings = new Map<string, number[]>();
async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const list = timings.get(name) ?? [];
    list.push(performance.now() - t0);
    timings.set(name, list);
  }
}
afterAll(() => {
  const lines = [...timings].map(([k, v]) => `  ${k.padEnd(34)} ${v.map((ms) => ms.toFixed(0)).join(', ')} ms`);
  console.log(`harness timings:\n${lines.join('\n')}`);
});

const W = 640;
const H = 480;

describe('X environment helpers', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let work: string;

  beforeAll(async () => {
    x = await timed('startXvfb 640x480', () => startXvfb({ width: W, height: H, scope }));
    work = mkdtempSync(join(tmpdir(), 'harness-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
  });

  test('fillRoot gradient is what xwd reads back, pixel for pixel', async () => {
    await timed('fillRoot gradient', () => fillRoot(x.display, 'gradient'));
    const shot = await timed('xwdRoot 640x480', () => xwdRoot(x.display));
    const expected = { width: W, height: H, layout: 'bgrx' as const, data: gradientImage(W, H) };
    await expectImagesMatch(expected, shot, { label: 'gradient' });
    // Many distinct colours, not a flat screen.
    const colours = new Set<number>();
    for (let y = 0; y < H; y += 7) for (let xx = 0; xx < W; xx += 7) colours.add(pixelAt(shot, xx, y));
    expect(colours.size).toBeGreaterThan(3000);
  });

  test('fillRoot noise and desktop differ from each other and survive a window unmapping', async () => {
    await fillRoot(x.display, 'noise', { seed: 7 });
    const noise = await xwdRoot(x.display);
    await timed('fillRoot desktop', () => fillRoot(x.display, 'desktop'));
    const desktop = await xwdRoot(x.display);
    expect(compareImages(noise, desktop).differing).toBeGreaterThan((W * H) / 2);
    // Desktop-like: the wallpaper colour dominates, and there is text-coloured detail.
    expect(pixelAt(desktop, 5, 400)).toBe(0x3a6ea5);
    // Map and kill an xterm over it: the server repaints the background by itself.
    const term = await startXterm(x.display, { file: join(work, 'cover.txt'), geometry: '40x10+10+10', scope });
    await term.close();
    await expectImagesMatch(desktop, await xwdRoot(x.display), { label: 'desktop after unmap' });
  });

  test('xterm logs what xdotool types through XTEST, byte for byte', async () => {
    const term = await timed('startXterm', () => startXterm(x.display, { file: join(work, 'typed.txt'), scope }));
    // One non-ASCII character only: xdotool types those through a temporarily remapped keycode
    // and drops some when several follow each other quickly (seen: 'é ü €' arrived as 'é  €').
    const text = 'Hello, World! ~!@#$%^&*()_+{}|:"<>? é';
    await runOk('xdotool', ['type', '--delay', '10', text], { timeoutMs: 20_000, env: xEnv(x.display) });
    await runOk('xdotool', ['key', 'Return'], { timeoutMs: 5_000, env: xEnv(x.display) });
    const got = await term.waitForContent((s) => s.endsWith('\r'), 10_000);
    expect(got).toBe(`${text}\r`); // raw mode: Return is CR, nothing echoed or cooked
    await term.close();
  });

  test('pointer location and clipboard round trip', async () => {
    await runOk('xdotool', ['mousemove', '123', '45'], { timeoutMs: 5_000, env: xEnv(x.display) });
    expect(await getMouseLocation(x.display)).toEqual({ x: 123, y: 45 });
    const owner = await timed('xclipWrite', () => xclipWrite(x.display, 'clipboard', 'héllo ✓ clipboard', { scope }));
    expect(await xclipRead(x.display, 'clipboard')).toBe('héllo ✓ clipboard');
    // A second owner takes over; the first xclip then exits by itself.
    await xclipWrite(x.display, 'clipboard', 'second', { scope });
    expect(await xclipRead(x.display, 'clipboard')).toBe('second');
    const exit = await Promise.race([owner.process.exited, new Promise((r) => setTimeout(() => r('still running'), 5_000))]);
    expect(exit).not.toBe('still running');
    await xclipWrite(x.display, 'primary', 'primary text', { scope });
    expect(await xclipRead(x.display, 'primary')).toBe('primary text');
  });

  test('closing a scope kills Xvfb and removes its socket', async () => {
    const own = new ProcessScope();
    try {
      const y = await startXvfb({ width: 64, height: 64, scope: own });
      expect(existsSync(`/tmp/.X11-unix/X${y.num}`)).toBe(true);
      await own.dispose();
      expect(y.process.exitInfo()).not.toBeNull();
      expect(existsSync(`/tmp/.X11-unix/X${y.num}`)).toBe(false);
    } finally {
      await own.dispose();
    }
  });

  test('image comparison explains a mismatch', async () => {
    const a = createPixelBuffer(4, 2);
    const b = createPixelBuffer(4, 2);
    b.pixels[5] = 0x00ff0000; // (1,1) red
    const r = compareImages(a, b);
    expect(r.match).toBe(false);
    expect(r.differing).toBe(1);
    expect(r.maxDelta).toBe(255);
    expect(r.first[0]).toMatchObject({ x: 1, y: 1, a: 0, b: 0xff0000 });
    expect(compareImages(a, b, { allowDiffering: 1 }).match).toBe(true);
    const rgb = { width: 4, height: 2, layout: 'rgb' as const, data: Buffer.alloc(24) };
    rgb.data[(1 * 4 + 1) * 3] = 254;
    expect(compareImages(b, rgb, { tolerance: 1 }).match).toBe(true);
    await expect(expectImagesMatch(a, b, { label: 'unit', writeDiff: false })).rejects.toThrow(/1 of 8 pixels differ.*\(1,1\) #000000≠#ff0000/);
  });

  test('xwd parser rejects corrupt input', () => {
    expect(() => parseXwd(Buffer.alloc(10))).toThrow(/too short/);
    const h = Buffer.alloc(100);
    h.writeUInt32BE(100, 0);
    h.writeUInt32BE(6, 4);
    expect(() => parseXwd(h)).toThrow(/version/);
  });
});

// ---------------------------------------------------------------------------------------------

const HAS_X11VNC = hasCommand('x11vnc');
if (!HAS_X11VNC) {
  console.log('harness-selfcheck: x11vnc is not installed, skipping the checks against a real VNC server (scripts/install-deps.sh --bench installs it)');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A WebSocket→TCP bridge so noVNC can reach x11vnc (which speaks plain TCP here). */
async function startWsBridge(targetPort: number, scope: ProcessScope): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  wss.on('connection', (ws) => {
    const tcp = connect(targetPort, '127.0.0.1');
    ws.on('message', (data: Buffer) => tcp.write(data));
    tcp.on('data', (d) => ws.send(d));
    ws.on('close', () => tcp.destroy());
    tcp.on('close', () => ws.close());
    tcp.on('error', () => ws.terminate());
    ws.on('error', () => tcp.destroy());
  });
  scope.defer('close ws bridge', () => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return (wss.address() as AddressInfo).port;
}

describe.skipIf(!HAS_X11VNC)('real VNC clients against x11vnc (harness self-check)', () => {
  const scope = suiteScope();
  const PASSWORD = 'h4rness!';
  let server: XvfbHandle;
  let viewerX: XvfbHandle;
  let port: number;
  let passwd: string;

  beforeAll(async () => {
    server = await startXvfb({ width: W, height: H, scope });
    viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    await fillRoot(server.display, 'desktop');
    passwd = await timed('makeVncPasswdFile', () => makeVncPasswdFile(PASSWORD, { scope }));
    port = await freePort();
    const x11vnc = scope.spawn('x11vnc', [
      '-display', server.display, '-rfbport', String(port), '-localhost', '-forever', '-shared',
      '-rfbauth', passwd, '-nopw', '-quiet', '-noxdamage',
    ]);
    // x11vnc prints PORT=N once it listens.
    await x11vnc.waitForOutput(/PORT=\d+/, 20_000);
  });

  test('vncsnapshot matches xwd within JPEG tolerance (raw and hextile+zlib), and checks the password', async () => {
    const truth = await xwdRoot(server.display);
    for (const encodings of ['raw', 'hextile zlib']) {
      const snap = await timed(`vncsnapshot ${encodings}`, () => vncsnapshot({ port, passwordFile: passwd, encodings }));
      expect([snap.width, snap.height]).toEqual([W, H]);
      // JPEG quality 100 with 4:4:4 chroma: measured max delta 1 on this content.
      await expectImagesMatch(truth, snap, { tolerance: 2, label: `vncsnapshot ${encodings}` });
    }
    const wrong = await makeVncPasswdFile('wrong', { scope });
    const err = await vncsnapshot({ port, passwordFile: wrong, timeoutMs: 10_000 }).catch((e: unknown) => e);
    expect(isVncError(err)).toBe(true);
  });

  const tigerEncodings: TigerEncoding[] = ['ZRLE', 'Tight', 'Hextile', 'Raw'];
  test.each(tigerEncodings)('TigerVNC viewer (%s) shows the screen exactly', async (encoding) => {
    const truth = await xwdRoot(server.display);
    const viewer = await timed(`startTigerViewer ${encoding}`, () =>
      startTigerViewer({ port, display: viewerX.display, encoding, passwordFile: passwd, scope }),
    );
    await timed(`tiger waitForImage ${encoding}`, () => viewer.waitForImage(truth, { timeoutMs: 15_000, label: `tiger ${encoding}` }));
    // Input through the viewer reaches the server's X display. (x11vnc applies the position
    // with the button event: plain motion from the viewer was not seen to move its pointer.)
    await viewer.clickAt(200, 150);
    await expect.poll(() => getMouseLocation(server.display), { timeout: 5_000 }).toEqual({ x: 200, y: 150 });
    await viewer.close();
  });

  test.each(['tight', 'hextile'])('xtightvncviewer (%s) shows the screen exactly', async (encodings) => {
    // This viewer paints the remote cursor into its window: park the pointer in the corner.
    await runOk('xdotool', ['mousemove', String(W - 1), String(H - 1)], { timeoutMs: 5_000, env: xEnv(server.display) });
    const truth = await xwdRoot(server.display);
    const viewer = await timed(`startTightViewer ${encodings}`, () =>
      startTightViewer({ port, display: viewerX.display, encodings, passwordFile: passwd, scope }),
    );
    const r = await viewer.waitForImage(truth, { timeoutMs: 15_000, allowDiffering: 4, label: `xtightvncviewer ${encodings}` });
    expect(r.differing).toBeLessThanOrEqual(4);
    await viewer.close();
  });

  describe('noVNC in chromium', () => {
    let browser: ChromiumHandle;
    let pages: NoVncServer;
    let wsPort: number;

    beforeAll(async () => {
      browser = await timed('launchChromium', () => launchChromium({ scope }));
      pages = await serveNoVnc({ scope });
      wsPort = await startWsBridge(port, scope);
    });

    test('connects, renders the screen, clicks and types', async () => {
      const truth = await xwdRoot(server.display);
      const page = await timed('openNoVncPage (connected)', () =>
        openNoVncPage(browser, pages.pageUrl(`ws://127.0.0.1:${wsPort}/`, { password: PASSWORD, qualityLevel: 9 })),
      );
      // x11vnc's Tight keeps this few-colour content lossless even though noVNC allows JPEG.
      await timed('noVNC waitForImage', () => page.waitForImage(truth, { timeoutMs: 15_000, label: 'noVNC' }));
      await page.clickAt(321, 123);
      await expect.poll(() => getMouseLocation(server.display), { timeout: 5_000 }).toEqual({ x: 321, y: 123 });

      const work = mkdtempSync(join(tmpdir(), 'harness-novnc-'));
      scope.defer('rm novnc work', () => rmSync(work, { recursive: true, force: true }));
      const term = await startXterm(server.display, { file: join(work, 'typed.txt'), scope });
      await page.type('noVNC says hi');
      await term.waitForContent((s) => s === 'noVNC says hi', 10_000);
      await term.close();
      await page.close();
    });

    test('reports a wrong password as a security failure', async () => {
      const page = await openNoVncPage(browser, pages.pageUrl(`ws://127.0.0.1:${wsPort}/`, { password: 'nope' }), { waitForConnect: false });
      await expect(page.waitForState('connected', 10_000)).rejects.toThrow(/securityfailure|disconnected/);
      await page.close();
    });
  });
});
