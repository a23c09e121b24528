/**
 * noVNC in Debian's headless chromium, driven by playwright-core. Never downloads a browser:
 * it always launches `/usr/bin/chromium` with a fresh profile directory that is removed on
 * close. Also serves a minimal noVNC page (from the `@novnc/novnc` npm package) that exposes the
 * connection state to the test, and reads the remote screen as exact pixels.
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Rect } from '../../core/geometry.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { compareImages, expectImagesMatch, type AnyImage, type CompareResult, type RawImage } from './image-compare.js';
import { ProcessScope, sleep } from './processes.js';

// Functions passed to page.evaluate() run in the browser; this project compiles without the DOM
// lib, so the few browser globals they touch are declared loosely, for this module only.
declare const window: any;
declare const document: any;

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, deterministic, offline headless chromium in a container (no sandbox: root). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** A running chromium with one persistent (but throw-away) profile. */
export interface ChromiumHandle {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  /** Closes the browser and removes the profile directory. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** Closed by the scope when given. */
  scope?: ProcessScope;
  extraArgs?: string[];
  /** Deadline for the browser to start (default 30 s). */
  timeoutMs?: number;
}

/** Launches `/usr/bin/chromium` headless with a fresh `--user-data-dir`. */
export async function launchChromium(options: LaunchOptions = {}): Promise<ChromiumHandle> {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  let context: BrowserContext;
  try {
    // launchPersistentContext is playwright's way to pass --user-data-dir (launch() refuses it).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
      timeout: options.timeoutMs ?? 30_000,
      viewport: { width: 1600, height: 1200 },
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw new VncError(ErrorCode.Desktop, `cannot launch ${CHROMIUM_PATH}: ${(e as Error).message}`, { cause: e });
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await context.close();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  };
  options.scope?.defer('close chromium', close);
  return { context, newPage: () => context.newPage(), close };
}

// ---------------------------------------------------------------------------------------------
// The noVNC test page

/** Where the `@novnc/novnc` package lives (its `core/` and `vendor/` are served). */
function noVncRoot(): string {
  const require = createRequire(import.meta.url);
  return dirname(dirname(require.resolve('@novnc/novnc'))); // exports "./core/rfb.js"
}

/** Connection parameters for the test page. */
export interface NoVncPageParams {
  password?: string;
  /** Default true. */
  shared?: boolean;
  viewOnly?: boolean;
  /** noVNC's JPEG quality 0..9 (its default is 6). */
  qualityLevel?: number;
  /** noVNC's compression level 0..9 (its default is 2). */
  compressionLevel?: number;
  /**
   * Restrict the encodings noVNC announces to these real encodings (pseudo-encodings stay,
   * except JPEG quality levels, so the session is lossless). noVNC has no such setting; the
   * page filters its SetEncodings message.
   */
  onlyEncodings?: readonly number[];
}

/** A local HTTP server for the noVNC test page. */
export interface NoVncServer {
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** URL of a page that connects noVNC to `wsUrl` (e.g. `ws://127.0.0.1:5901/`). */
  pageUrl(wsUrl: string, params?: NoVncPageParams): string;
  close(): Promise<void>;
}

/**
 * The page: one full-size `#screen` div, RFB with `scaleViewport=false`, `clipViewport=false`
 * and `resizeSession=false` so canvas pixels are framebuffer pixels, and `window.__vnc` with the
 * connection state, last error, received clipboard texts, bell count and the RFB object.
 */
const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>noVNC test</title>
<style>html,body{margin:0;padding:0;background:#000}#screen{position:absolute;left:0;top:0;width:100vw;height:100vh}</style>
</head><body><div id="screen"></div>
<script type="module">
import RFB from '/novnc/core/rfb.js';
const q = new URLSearchParams(location.search);
const vnc = window.__vnc = { state: 'connecting', error: null, clipboard: [], bells: 0, desktopName: null, rfb: null };
try {
  const opts = { shared: q.get('shared') !== '0' };
  if (q.has('password')) opts.credentials = { password: q.get('password') };
  const rfb = new RFB(document.getElementById('screen'), q.get('ws'), opts);
  vnc.rfb = rfb;
  rfb.scaleViewport = false;
  rfb.clipViewport = false;
  rfb.resizeSession = false;
  rfb.viewOnly = q.get('viewOnly') === '1';
  if (q.has('quality')) rfb.qualityLevel = Number(q.get('quality'));
  if (q.has('only')) {
    const keep = q.get('only').split(',').map(Number);
    const send = RFB.messages.clientEncodings;
    // TightPNG (-260) is a real encoding despite its negative number.
    const pseudo = (e) => e < 0 && e !== -260 && !(e >= -32 && e <= -23);
    RFB.messages.clientEncodings = (sock, encs) => send(sock, encs.filter((e) => keep.includes(e) || pseudo(e)));
  }
  if (q.has('compression')) rfb.compressionLevel = Number(q.get('compression'));
  rfb.addEventListener('connect', () => { vnc.state = 'connected'; });
  rfb.addEventListener('disconnect', (e) => { vnc.state = 'disconnected'; vnc.clean = e.detail.clean; });
  rfb.addEventListener('securityfailure', (e) => { vnc.state = 'securityfailure'; vnc.error = e.detail.reason || ('status ' + e.detail.status); });
  rfb.addEventListener('credentialsrequired', () => { vnc.state = 'credentialsrequired'; });
  rfb.addEventListener('clipboard', (e) => { vnc.clipboard.push(e.detail.text); });
  rfb.addEventListener('bell', () => { vnc.bells++; });
  rfb.addEventListener('desktopname', (e) => { vnc.desktopName = e.detail.name; });
} catch (e) { vnc.state = 'error'; vnc.error = String(e && e.stack || e); }
</script></body></html>`;

const MIME: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.json': 'application/json' };

/**
 * Serves the test page at `/vnc-test.html` and the noVNC package at `/novnc/` on 127.0.0.1.
 * Chromium blocks `ws://127.0.0.1` from non-local origins, so the page must come from here.
 */
export async function serveNoVnc(options: { scope?: ProcessScope } = {}): Promise<NoVncServer> {
  const root = noVncRoot();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/vnc-test.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_HTML);
      return;
    }
    if (url.pathname.startsWith('/novnc/')) {
      const rel = normalize(decodeURIComponent(url.pathname.slice('/novnc/'.length)));
      const file = join(root, rel);
      // Only core/ and vendor/ of the package, never outside it.
      if ((rel.startsWith(`core${sep}`) || rel.startsWith(`vendor${sep}`)) && file.startsWith(root + sep)) {
        try {
          if (statSync(file).isFile()) {
            const ext = file.slice(file.lastIndexOf('.'));
            res.writeHead(200, { 'content-type': MIME[ext] ?? 'application/octet-stream' });
            createReadStream(file).pipe(res);
            return;
          }
        } catch {
          // fall through to 404
        }
      }
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  options.scope?.defer('close noVNC page server', close);
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    pageUrl: (wsUrl, p = {}) => {
      const q = new URLSearchParams({ ws: wsUrl });
      if (p.password !== undefined) q.set('password', p.password);
      if (p.shared === false) q.set('shared', '0');
      if (p.viewOnly) q.set('viewOnly', '1');
      if (p.qualityLevel !== undefined) q.set('quality', String(p.qualityLevel));
      if (p.compressionLevel !== undefined) q.set('compression', String(p.compressionLevel));
      if (p.onlyEncodings) q.set('only', p.onlyEncodings.join(','));
      return `${baseUrl}/vnc-test.html?${q.toString()}`;
    },
    close,
  };
}

// ---------------------------------------------------------------------------------------------
// Driving a noVNC page

/** noVNC connection states reported by the test page. */
export type NoVncState = 'connecting' | 'connected' | 'disconnected' | 'securityfailure' | 'credentialsrequired' | 'error';

/** A page showing noVNC's canvas. */
export interface NoVncPage {
  readonly page: Page;
  /** Test page only: the current state (`null` on other pages). */
  state(): Promise<{ state: NoVncState; error: string | null; clipboard: string[]; bells: number; desktopName: string | null } | null>;
  /** Test page only: waits for `state`; throws early on a different final state. */
  waitForState(state: NoVncState, timeoutMs: number): Promise<void>;
  /** The remote screen as RGBA: the canvas pixels, which equal the framebuffer at scale 1. */
  canvasPixels(): Promise<RawImage>;
  /** Polls `canvasPixels()` until `expected` matches, or throws with the last comparison. */
  waitForImage(expected: AnyImage, options: { timeoutMs: number; tolerance?: number; allowDiffering?: number; region?: Rect; label?: string }): Promise<CompareResult>;
  /** Page coordinates of framebuffer pixel (fbX, fbY), from the canvas box and its scale. */
  toPage(fbX: number, fbY: number): Promise<{ x: number; y: number }>;
  moveTo(fbX: number, fbY: number): Promise<void>;
  clickAt(fbX: number, fbY: number, button?: 'left' | 'middle' | 'right'): Promise<void>;
  /** Focuses the remote session (noVNC's keyboard target) and types `text` with real key events. */
  type(text: string): Promise<void>;
  close(): Promise<void>;
}

const CANVAS = '#screen canvas, canvas';

/**
 * Opens `url` in a new page. On the test page (from {@link serveNoVnc}) it waits for the
 * `connected` state unless `waitForConnect` is false; on any other page, for noVNC's canvas.
 */
export async function openNoVncPage(
  browser: ChromiumHandle,
  url: string,
  options: { timeoutMs?: number; waitForConnect?: boolean } = {},
): Promise<NoVncPage> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const page = await browser.newPage();
  const consoleLines: string[] = [];
  page.on('console', (m) => {
    if (consoleLines.length < 200) consoleLines.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  try {
    await page.goto(url, { timeout: timeoutMs, waitUntil: 'load' });
    const handle = makeNoVncPage(page, consoleLines);
    if ((await handle.state()) !== null) {
      // The test page: its state says when the connection is up (noVNC removes its canvas
      // again when a connection fails, so waiting for the canvas could block until timeout).
      if (options.waitForConnect !== false) await handle.waitForState('connected', timeoutMs);
    } else {
      await page.waitForSelector(CANVAS, { timeout: timeoutMs, state: 'attached' });
    }
    return handle;
  } catch (e) {
    await page.close().catch(() => {});
    throw new VncError(ErrorCode.Timeout, `noVNC page ${url} not ready: ${(e as Error).message}; console: ${consoleLines.slice(-20).join(' | ')}`, {
      cause: e,
    });
  }
}

function makeNoVncPage(page: Page, consoleLines: string[]): NoVncPage {
  const state: NoVncPage['state'] = () =>
    page.evaluate(() => {
      const v = (window as any).__vnc;
      return v ? { state: v.state, error: v.error, clipboard: [...v.clipboard], bells: v.bells, desktopName: v.desktopName } : null;
    });

  const canvasPixels = async (): Promise<RawImage> => {
    const r = await page.evaluate((sel) => {
      const v = (window as any).__vnc;
      let img: { width: number; height: number; data: Uint8ClampedArray };
      if (v?.rfb) {
        // Before the first resize noVNC's display is 0x0 and getImageData() throws.
        if (!v.rfb._display?.width) return { width: 0, height: 0, b64: '' };
        img = v.rfb.getImageData();
      } else {
        const c = document.querySelector(sel);
        if (!c) throw new Error('no canvas');
        img = c.getContext('2d').getImageData(0, 0, c.width, c.height);
      }
      // base64 in chunks: a multi-megabyte number array through evaluate() is far slower.
      const d = img.data;
      let s = '';
      for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, Array.from(d.subarray(i, i + 0x8000)));
      return { width: img.width, height: img.height, b64: btoa(s) };
    }, CANVAS);
    return { width: r.width, height: r.height, layout: 'rgba', data: Buffer.from(r.b64, 'base64') };
  };

  const toPage = async (fbX: number, fbY: number): Promise<{ x: number; y: number }> => {
    const c = await page.$(CANVAS);
    if (!c) throw new VncError(ErrorCode.Desktop, 'no noVNC canvas on the page');
    const box = await c.boundingBox();
    const size = await c.evaluate((el: any) => ({ w: el.width as number, h: el.height as number }));
    if (!box || size.w === 0 || size.h === 0) throw new VncError(ErrorCode.Desktop, 'noVNC canvas has no size yet');
    // Centre of the pixel, in CSS pixels, whatever scaling noVNC applied.
    return { x: box.x + ((fbX + 0.5) * box.width) / size.w, y: box.y + ((fbY + 0.5) * box.height) / size.h };
  };

  return {
    page,
    state,
    waitForState: async (want, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      let last: Awaited<ReturnType<NoVncPage['state']>> = null;
      while (Date.now() < deadline) {
        last = await state();
        if (!last || last.state === want) return;
        if (last.state !== 'connecting' && last.state !== 'connected') break; // final and wrong
        await sleep(50);
      }
      throw new VncError(
        ErrorCode.Timeout,
        `noVNC state is ${last?.state ?? 'unknown'} (error ${last?.error ?? 'none'}), wanted ${want}; console: ${consoleLines.slice(-20).join(' | ')}`,
      );
    },
    canvasPixels,
    waitForImage: async (expected, o) => {
      const region = o.region ?? { x: 0, y: 0, w: expected.width, h: expected.height };
      const deadline = Date.now() + o.timeoutMs;
      let last: RawImage | null = null;
      let summary = 'no capture yet';
      while (Date.now() < deadline) {
        last = await canvasPixels();
        if (last.width >= region.x + region.w && last.height >= region.y + region.h) {
          const r = compareImages(expected, last, { region, tolerance: o.tolerance, allowDiffering: o.allowDiffering });
          if (r.match) return r;
          summary = r.summary;
        } else summary = `canvas is ${last.width}x${last.height}`;
        await sleep(100);
      }
      if (last && last.width >= region.x + region.w && last.height >= region.y + region.h) {
        await expectImagesMatch(expected, last, { region, tolerance: o.tolerance, allowDiffering: o.allowDiffering, label: o.label ?? 'noVNC' });
      }
      throw new VncError(ErrorCode.Timeout, `${o.label ?? 'noVNC'}: image not shown within ${o.timeoutMs} ms: ${summary}`);
    },
    toPage,
    moveTo: async (fbX, fbY) => {
      const p = await toPage(fbX, fbY);
      await page.mouse.move(p.x, p.y);
    },
    clickAt: async (fbX, fbY, button = 'left') => {
      const p = await toPage(fbX, fbY);
      await page.mouse.click(p.x, p.y, { button });
    },
    type: async (text) => {
      await page.evaluate(() => (window as any).__vnc?.rfb?.focus());
      await page.keyboard.type(text);
    },
    close: () => page.close(),
  };
}
