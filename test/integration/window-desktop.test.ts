/**
 * `--display-mode window` on a real Xvfb: the window finder (capture/x11-window-finder.ts) and
 * the cropping desktop (cli/window-desktop.ts) over the real X11Desktop. Ground truth: xdotool
 * for geometry and the pointer, `xwd -root` for pixels, an xterm's file for typed keys.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rect } from '../../core/geometry.js';
import { silentLogger } from '../../core/log.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { findWindow, windowRect } from '../../capture/x11-window-finder.js';
import { WindowDesktop } from '../../cli/window-desktop.js';
import { X11Desktop } from '../../cli/x11-desktop.js';
import type { DesktopEvents } from '../../server/desktop.js';
import { VncServer } from '../../server/vnc-server.js';
import { listenTcp } from '../../server/listeners/tcp-listener.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { compareImages } from '../helpers/image-compare.js';
import { runOk, suiteScope, waitFor } from '../helpers/processes.js';
import { fillRoot, getMouseLocation, startXterm, startXvfb, xEnv, xwdRoot, type XtermHandle, type XvfbHandle } from '../helpers/x-env.js';

const scope = suiteScope();
let xvfb: XvfbHandle;
let typing: XtermHandle;
let conn: X11Connection;
const dir = mkdtempSync(join(tmpdir(), 'window-desktop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function xdotool(args: string[]): Promise<string> {
  return (await runOk('xdotool', args, { timeoutMs: 10_000, env: xEnv(xvfb.display) })).stdout.toString('utf8').trim();
}

/**
 * xwininfo's view of a window's inside (what is shown: the border is not part of the content):
 * its absolute upper-left (the border's outer corner) plus the border width, and its size.
 */
async function xdoRect(id: string): Promise<Rect> {
  const r = await runOk('xwininfo', ['-id', id], { timeoutMs: 10_000, env: xEnv(xvfb.display) });
  const text = r.stdout.toString('utf8');
  const n = (k: string) => Number(new RegExp(`^\\s*${k}:\\s*(-?\\d+)$`, 'm').exec(text)![1]);
  const bw = n('Border width');
  return { x: n('Absolute upper-left X') + bw, y: n('Absolute upper-left Y') + bw, w: n('Width'), h: n('Height') };
}

/** The part of the root at `r`, as a PixelBuffer-compatible crop for comparison. */
function crop(root: PixelBuffer, r: Rect): { width: number; height: number; layout: 'bgrx'; data: Buffer; stride: number } {
  const start = (r.y * root.stride + r.x) * 4;
  return { width: r.w, height: r.h, layout: 'bgrx', data: root.data.subarray(start), stride: root.stride * 4 };
}

beforeAll(async () => {
  xvfb = await startXvfb({ width: 800, height: 600, scope });
  await fillRoot(xvfb.display, 'noise', { seed: 7 });
  typing = await startXterm(xvfb.display, { file: join(dir, 'typed.txt'), geometry: '60x15+140+90', scope });
  await xdotool(['set_window', '--name', 'Typing Target', typing.window]);
  // A second, smaller window: the finder must tell them apart.
  const other = scope.spawn('xterm', ['-T', 'Other Window', '-geometry', '30x6+520+420', '-e', 'sleep', '600'], { env: xEnv(xvfb.display) });
  await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(other.pid)], { timeoutMs: 15_000, env: xEnv(xvfb.display) });
  conn = await openX11({ display: xvfb.display, shm: false });
  scope.defer('close X connection', () => conn.close());
}, 60_000);

describe('findWindow', () => {
  it('finds a window by exact title, else by case-insensitive substring, with its real rectangle', async () => {
    const w = await findWindow(conn, { title: 'Typing Target' });
    expect(w).toMatchObject({ id: Number(typing.window), title: 'Typing Target', how: 'title' });
    expect(w!.rect).toEqual(await xdoRect(typing.window));
    const other = await findWindow(conn, { title: 'other win' });
    expect(other).toMatchObject({ title: 'Other Window', how: 'title' });
    expect(other!.rect.x).toBeGreaterThanOrEqual(520);
    expect(await findWindow(conn, { title: 'No Such Window' })).toBeNull();
  });

  it('without a title and a window manager, takes the largest viewable top-level window', async () => {
    const w = await findWindow(conn);
    expect(w).toMatchObject({ id: Number(typing.window), how: 'largest' });
  });

  it('windowRect is null for a window that does not exist', async () => {
    expect(await windowRect(conn, 0x7fffff0)).toBeNull();
  });
});

describe('WindowDesktop', () => {
  it('shows exactly the window, maps the pointer into it, types into it, and follows moves and resizes', async () => {
    const resizes: [number, number][] = [];
    const damage: Rect[] = [];
    const events: DesktopEvents = {
      damage: (r) => damage.push(...r),
      copy: (d) => damage.push(d),
      resize: (w, h) => resizes.push([w, h]),
      cursor: () => {},
      clipboard: () => {},
      bell: () => {},
      fatal: (e) => {
        throw e;
      },
    };
    const inner = new X11Desktop({ display: xvfb.display, logger: silentLogger, maxClipboardBytes: 1 << 20 });
    const desk = new WindowDesktop({ inner, display: xvfb.display, title: 'Typing Target', logger: silentLogger, recheckMs: 100 });
    scope.defer('stop window desktop', () => desk.stop());
    await desk.start(events);

    // Pixels: the framebuffer is the window's rectangle of the screen.
    let rect = await xdoRect(typing.window);
    expect([desk.framebuffer.width, desk.framebuffer.height]).toEqual([rect.w, rect.h]);
    await desk.poll();
    let cmp = compareImages(crop(await xwdRoot(xvfb.display), rect), desk.framebuffer);
    expect(cmp.match, cmp.summary).toBe(true);

    // Pointer: window coordinates, clamped to the window.
    desk.pointerEvent(5, 7, 0);
    await desk.flushInput();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: rect.x + 5, y: rect.y + 7 });
    desk.pointerEvent(60_000, 60_000, 0);
    await desk.flushInput();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: rect.x + rect.w - 1, y: rect.y + rect.h - 1 });

    // Keys reach the window (the pointer is in it; no window manager: focus follows the pointer).
    desk.pointerEvent(20, 20, 0);
    for (const ch of 'win') {
      desk.keyEvent(ch.charCodeAt(0), true);
      desk.keyEvent(ch.charCodeAt(0), false);
    }
    await desk.flushInput();
    await typing.waitForContent((t) => t.includes('win'), 5_000);

    // A move: same size, whole window repainted from its new place.
    await xdotool(['windowmove', '--sync', typing.window, '60', '50']);
    rect = await xdoRect(typing.window);
    expect(rect.x).toBe(61); // 60 + the 1-pixel border
    damage.length = 0;
    await waitFor(
      async () => {
        await desk.poll();
        return compareImages(crop(await xwdRoot(xvfb.display), rect), desk.framebuffer).match;
      },
      { timeoutMs: 5_000, what: 'the moved window to be shown' },
    );
    expect(resizes).toEqual([]);
    expect(damage.some((d) => d.x === 0 && d.y === 0 && d.w === rect.w && d.h === rect.h)).toBe(true);

    // A resize: announced with the new size, then the new content.
    await xdotool(['windowsize', '--sync', typing.window, '300', '200']);
    rect = await xdoRect(typing.window);
    await waitFor(
      async () => {
        await desk.poll();
        return resizes.length > 0 && compareImages(crop(await xwdRoot(xvfb.display), rect), desk.framebuffer).match;
      },
      { timeoutMs: 5_000, what: 'the resized window to be shown' },
    );
    expect(resizes.at(-1)).toEqual([rect.w, rect.h]);
    expect([desk.framebuffer.width, desk.framebuffer.height]).toEqual([rect.w, rect.h]);
    cmp = compareImages(crop(await xwdRoot(xvfb.display), rect), desk.framebuffer);
    expect(cmp.match, cmp.summary).toBe(true);
    expect(await desk.resize()).toBe(1);
    await desk.stop();
  }, 60_000);

  it('names the desktop after the window and tells DesktopName clients when its title changes', async () => {
    const inner = new X11Desktop({ display: xvfb.display, logger: silentLogger, maxClipboardBytes: 1 << 20 });
    const desk = new WindowDesktop({ inner, display: xvfb.display, title: 'Typing Target', logger: silentLogger });
    const server = new VncServer(desk, { logger: silentLogger });
    scope.defer('close server', () => server.close());
    await server.ensureDesktop();
    const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => server.handleConnection(s, i) });
    scope.defer('close listener', () => listener.close());
    const c = await new RfbClient({ port: listener.address.port, timeoutMs: 5_000 }).connect();
    scope.defer('close client', () => c.close());
    expect(c.name).toMatch(/ – Typing Target$/);
    c.setEncodings([6, 0, -307]);
    c.requestUpdate(false);
    await c.readUpdate();
    try {
      // What a program does with an escape sequence or a browser with a new page: WM_NAME and
      // _NET_WM_NAME change, nothing else has to be drawn.
      await xdotool(['set_window', '--name', 'Renamed Target', typing.window]);
      await waitFor(
        async () => {
          c.requestUpdate(true);
          await c.readUpdate({ timeoutMs: 2_000 }).catch(() => null);
          return c.desktopNames.some((n) => n.endsWith(' – Renamed Target'));
        },
        { timeoutMs: 10_000, what: 'a DesktopName with the new title' },
      );
      expect(desk.name).toMatch(/ – Renamed Target$/);
    } finally {
      await xdotool(['set_window', '--name', 'Typing Target', typing.window]);
    }
  }, 30_000);

  it('fails to start, within the bound, when no window has the title', async () => {
    const inner = new X11Desktop({ display: xvfb.display, logger: silentLogger, maxClipboardBytes: 1 << 20 });
    const desk = new WindowDesktop({ inner, display: xvfb.display, title: 'Nope', logger: silentLogger, findTimeoutMs: 500 });
    const t0 = Date.now();
    const none = () => {};
    const events: DesktopEvents = { damage: none, resize: none, cursor: none, clipboard: none, bell: none, fatal: none };
    await expect(desk.start(events)).rejects.toThrow(/no window titled "Nope"/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    await desk.stop();
  }, 20_000);
});
