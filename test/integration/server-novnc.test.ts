/**
 * noVNC (the npm package, in Debian's headless chromium) against our server:
 * - our built-in viewer page (listenHttpViewer: page + noVNC + WebSocket on one port) connects,
 *   shows the desktop pixel-exact (canvas pixels vs `xwd -root`), a click on the canvas moves
 *   the X pointer to that framebuffer pixel, and typing reaches an xterm; with a password it
 *   asks for one, accepts the right one and reports a wrong one;
 * - the harness's noVNC test page (another origin, allowed explicitly) pointed at our WebSocket
 *   with noVNC's defaults (Tight with JPEG, quality 6) on a photo-like gradient: the canvas is
 *   close at once and becomes exact after the server's lossless refresh; the extended
 *   clipboard carries non-Latin-1 text both ways.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, openNoVncPage, serveNoVnc, type ChromiumHandle, type NoVncServer } from '../helpers/browser.js';
import { compareImages } from '../helpers/image-compare.js';
import { suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { fillRoot, getMouseLocation, startXterm, startXvfb, xclipRead, xclipWrite, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

// Functions passed to page.evaluate() run in the browser (no DOM lib in this project).
declare const window: any;

const W = 640;
const H = 480;

describe('noVNC in chromium against vnc-runner', () => {
  const scope = suiteScope();
  const PASSWORD = 'n0vnc!pw';
  let x: XvfbHandle;
  let rig: ServerRig;
  let locked: ServerRig;
  let browser: ChromiumHandle;
  let pages: NoVncServer;
  let work: string;

  beforeAll(async () => {
    x = await startXvfb({ width: W, height: H, scope });
    await fillRoot(x.display, 'desktop');
    pages = await serveNoVnc({ scope });
    rig = await startServerRig({ display: x.display, http: true, allowedOrigins: [pages.baseUrl], scope });
    locked = await startServerRig({ display: x.display, http: true, password: PASSWORD, scope });
    browser = await launchChromium({ scope });
    work = mkdtempSync(join(tmpdir(), 'server-novnc-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
  });

  test('built-in viewer page: exact pixels, click position, typing', async () => {
    const truth = await xwdRoot(x.display);
    const page = await openNoVncPage(browser, rig.httpUrl!);
    await page.page.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
    // Few-colour content: Tight sends fills and palettes, lossless even with JPEG allowed.
    await page.waitForImage(truth, { timeoutMs: 15_000, label: 'built-in viewer' });

    // The page scales the canvas to the window: toPage() maps framebuffer to page coordinates.
    await page.clickAt(321, 123);
    await expect.poll(() => getMouseLocation(x.display), { timeout: 5_000 }).toEqual({ x: 321, y: 123 });
    await page.moveTo(17, 450);
    await expect.poll(() => getMouseLocation(x.display), { timeout: 5_000 }).toEqual({ x: 17, y: 450 });

    const term = await startXterm(x.display, { file: join(work, 'novnc.txt'), scope });
    // noVNC sends QEMU extended key events (scancodes) once the server acknowledges them, and
    // a scancode means the physical key: like a person, hold Shift for shifted characters.
    // (Playwright's keyboard.type() never presses Shift, so its 'N' is the N key alone: 'n',
    // exactly as on TigerVNC's or QEMU's servers.)
    const text = 'noVNC says: Hello, World! ~{}|';
    for (const ch of text) {
      const shifted = /[A-Z~!@#$%^&*()_+{}|:"<>?]/.test(ch);
      if (shifted) await page.page.keyboard.down('Shift');
      await page.page.keyboard.press(ch === ' ' ? 'Space' : ch);
      if (shifted) await page.page.keyboard.up('Shift');
    }
    await page.page.keyboard.press('Enter');
    await term.waitForContent((s) => s === `${text}\r`, 10_000);
    await term.close();
    await page.close();
  });

  test('built-in viewer page with a password: asks, accepts the right one, reports a wrong one', async () => {
    const truth = await xwdRoot(x.display);
    const page = await openNoVncPage(browser, locked.httpUrl!);
    await page.page.waitForSelector('#status[data-state="auth"]', { timeout: 15_000 });
    await page.page.fill('#password', PASSWORD);
    await page.page.click('#auth button[type="submit"]');
    await page.page.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
    await page.waitForImage(truth, { timeoutMs: 15_000, label: 'built-in viewer with password' });
    await page.close();

    const bad = await openNoVncPage(browser, locked.httpUrl!);
    await bad.page.waitForSelector('#status[data-state="auth"]', { timeout: 15_000 });
    await bad.page.fill('#password', 'wrong');
    await bad.page.click('#auth button[type="submit"]');
    await bad.page.waitForSelector('#status[data-state="failed"]', { timeout: 15_000 });
    await bad.close();
  });

  test('noVNC defaults (Tight JPEG q6) on a gradient: close at once, exact after the lossless refresh', async () => {
    await fillRoot(x.display, 'gradient');
    try {
      const truth = await xwdRoot(x.display);
      const page = await openNoVncPage(browser, pages.pageUrl(rig.wsUrl!));
      // JPEG at quality 6 on a smooth gradient: measured error is a few levels; 16 still
      // catches any wrong or misplaced rectangle on a ramp of this size.
      // (Measured here: max delta 5 before the refresh.)
      await page.waitForImage(truth, { timeoutMs: 15_000, tolerance: 16, label: 'noVNC q6 (lossy phase)' });
      // Once the screen is quiet, the server re-sends JPEG areas losslessly.
      const exact = await page.waitForImage(truth, { timeoutMs: 15_000, label: 'noVNC q6 (after refresh)' });
      expect(exact.differing).toBe(0);

      await page.clickAt(600, 30);
      await expect.poll(() => getMouseLocation(x.display), { timeout: 5_000 }).toEqual({ x: 600, y: 30 });
      await page.close();
    } finally {
      await fillRoot(x.display, 'desktop');
    }
  });

  test('extended clipboard: UTF-8 text from X reaches noVNC, and from noVNC reaches X', async () => {
    const page = await openNoVncPage(browser, pages.pageUrl(rig.wsUrl!));
    // Make sure the session is fully up (first frame drawn) before the selection changes.
    await page.waitForImage(await xwdRoot(x.display), { timeoutMs: 15_000, label: 'noVNC before clipboard' });
    const fromX = 'from X ✓ – ünïcødé 日本';
    await xclipWrite(x.display, 'clipboard', fromX, { scope });
    await expect.poll(async () => (await page.state())?.clipboard ?? [], { timeout: 10_000 }).toContain(fromX);

    const fromBrowser = 'from noVNC ✓ €uro';
    await page.page.evaluate((t: string) => window.__vnc.rfb.clipboardPasteFrom(t), fromBrowser);
    await expect.poll(() => xclipRead(x.display, 'clipboard'), { timeout: 10_000 }).toBe(fromBrowser);
    expect(await xclipRead(x.display, 'primary')).toBe(fromBrowser);
    await page.close();
  });

  test('sanity: the comparison used above does see a wrong image', async () => {
    // Guards against a comparison that cannot fail: the gradient is not the desktop.
    const desktop = await xwdRoot(x.display);
    await fillRoot(x.display, 'gradient');
    try {
      const gradient = await xwdRoot(x.display);
      expect(compareImages(desktop, gradient, { tolerance: 16 }).match).toBe(false);
    } finally {
      await fillRoot(x.display, 'desktop');
    }
  });
});
