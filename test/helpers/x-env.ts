/**
 * A real X environment for integration tests: a private Xvfb (free display chosen by the server
 * itself via `-displayfd`), an xterm that logs every typed byte to a file, deterministic test
 * content on the root window, and wrappers around the X tools used as ground truth (xdotool,
 * xclip, xwd). Every wait is bounded; every process belongs to a {@link ProcessScope}.
 */

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import x11 from 'x11';
import { ErrorCode, VncError } from '../../core/errors.js';
import { openX11 } from '../../core/x11-connection.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { ProcessScope, runCommand, runOk, waitFor, withTimeout, type ManagedProcess } from './processes.js';
import { parseXwd } from './xwd.js';

/** Default deadline for one X tool invocation. */
const TOOL_TIMEOUT_MS = 10_000;

/** Environment for a child process that talks to `display`. */
export function xEnv(display: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, DISPLAY: display, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Xvfb

export interface XvfbOptions {
  width: number;
  height: number;
  /** Default 24. */
  depth?: number;
  /** Owner of the Xvfb process; by default the handle owns a private scope that `close()` disposes. */
  scope?: ProcessScope;
  /** Deadline for the server to become ready (default 15 s). */
  timeoutMs?: number;
  /** Extra Xvfb arguments (e.g. `['+extension', 'RANDR']`). */
  extraArgs?: string[];
}

/** A running Xvfb. */
export interface XvfbHandle {
  /** `":N"`, ready for `DISPLAY` or `-display`. */
  readonly display: string;
  readonly num: number;
  readonly width: number;
  readonly height: number;
  readonly process: ManagedProcess;
  /** Kills the server (and, if the handle owns its scope, everything else in it). */
  close(): Promise<void>;
}

/**
 * Starts `Xvfb -displayfd 3 -screen 0 WxHxD -nolisten tcp -noreset`. The server writes its
 * display number to fd 3 only once it accepts connections, so no polling is needed.
 * `-noreset` keeps the server from resetting (and dropping state such as the root background)
 * when its last client disconnects.
 */
export async function startXvfb(options: XvfbOptions): Promise<XvfbHandle> {
  const ownScope = options.scope === undefined;
  const scope = options.scope ?? new ProcessScope();
  const depth = options.depth ?? 24;
  const timeoutMs = options.timeoutMs ?? 15_000;
  try {
    const proc = scope.spawn(
      'Xvfb',
      [
        '-displayfd', '3',
        '-screen', '0', `${options.width}x${options.height}x${depth}`,
        '-nolisten', 'tcp',
        '-noreset',
        ...(options.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] },
    );
    const num = await readDisplayNumber(proc, timeoutMs);
    const display = `:${num}`;
    scope.defer(`remove stale X${num} files`, () => removeStaleXFiles(num, proc.pid));
    return {
      display,
      num,
      width: options.width,
      height: options.height,
      process: proc,
      close: async () => {
        if (ownScope) await scope.dispose();
        else {
          await proc.kill();
          removeStaleXFiles(num, proc.pid);
        }
      },
    };
  } catch (e) {
    if (ownScope) await scope.dispose().catch(() => {});
    throw e;
  }
}

function readDisplayNumber(proc: ManagedProcess, timeoutMs: number): Promise<number> {
  const fd3 = proc.child.stdio[3] as Readable | null;
  if (!fd3) throw new VncError(ErrorCode.Desktop, 'Xvfb: no pipe on fd 3');
  let text = '';
  const got = new Promise<number>((resolve, reject) => {
    fd3.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.length > 64) reject(new VncError(ErrorCode.Desktop, `Xvfb: unexpected -displayfd output ${JSON.stringify(text)}`));
      const m = /^(\d+)\n/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    void proc.exited.then((e) =>
      reject(new VncError(ErrorCode.Desktop, `Xvfb exited (code ${e.code}, signal ${e.signal}) before it was ready: ${proc.output().slice(-2000)}`)),
    );
  });
  return withTimeout(got, timeoutMs, 'Xvfb to report its display number');
}

/**
 * Xvfb removes its socket (and lock file, which `-displayfd` servers do not even create) on
 * SIGTERM but not on SIGKILL. Called only once our server is dead; a lock file naming another
 * live process means the number was taken again, and then nothing is touched.
 */
function removeStaleXFiles(num: number, pid: number): void {
  try {
    process.kill(pid, 0);
    return; // still alive: not stale
  } catch {
    // dead: go on
  }
  const lock = `/tmp/.X${num}-lock`;
  try {
    if (existsSync(lock)) {
      if (Number(readFileSync(lock, 'latin1').trim()) !== pid) return;
      rmSync(lock, { force: true });
    }
    rmSync(`/tmp/.X11-unix/X${num}`, { force: true });
  } catch {
    // best effort
  }
}

// ---------------------------------------------------------------------------------------------
// xterm that records typed bytes

export interface XtermOptions {
  /** File that receives every byte typed into the terminal (created by the terminal). */
  file: string;
  /** X geometry, default `80x24+0+0`. */
  geometry?: string;
  scope?: ProcessScope;
  /** Deadline for the window to appear, get focus and the file to exist (default 15 s). */
  timeoutMs?: number;
}

/** A running xterm whose input is logged raw to a file. */
export interface XtermHandle {
  readonly process: ManagedProcess;
  /** X window id (decimal string as xdotool prints it). */
  readonly window: string;
  /** Everything typed so far. */
  readFile(): Promise<Buffer>;
  /** Polls the file (as UTF-8) until `predicate` holds; returns the text. */
  waitForContent(predicate: (text: string) => boolean, timeoutMs: number): Promise<string>;
  /** Gives the xterm the keyboard focus again (e.g. after another window took it). */
  focus(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `LC_ALL=C.UTF-8 xterm -u8 -e sh -c 'stty raw -echo; exec cat > FILE'` and returns once
 * its window is mapped, focused, and the file exists (which proves `stty` already ran, so no
 * typed byte is cooked or echoed). Typing must use XTEST (plain `xdotool type`, or our server):
 * xterm ignores XSendEvent key events.
 */
export async function startXterm(display: string, options: XtermOptions): Promise<XtermHandle> {
  const ownScope = options.scope === undefined;
  const scope = options.scope ?? new ProcessScope();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(500, deadline - Date.now());
  const env = xEnv(display, { LC_ALL: 'C.UTF-8' });
  try {
    rmSync(options.file, { force: true });
    const proc = scope.spawn(
      'xterm',
      ['-u8', '-geometry', options.geometry ?? '80x24+0+0', '-e', 'sh', '-c', 'stty raw -echo; exec cat > "$0"', options.file],
      { env },
    );
    // `search --sync` blocks until a matching window exists; runCommand's deadline bounds it.
    const found = await Promise.race([
      runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(proc.pid)], { timeoutMs: left(), env }),
      proc.exited.then((e) => {
        throw new VncError(ErrorCode.Desktop, `xterm exited (code ${e.code}) before mapping: ${proc.output().slice(-2000)}`);
      }),
    ]);
    const window = found.stdout.toString('utf8').trim().split('\n')[0]!;
    await waitFor(() => existsSync(options.file), { timeoutMs: left(), what: `xterm to create ${options.file}` });
    const focus = async (): Promise<void> => {
      await runOk('xdotool', ['windowfocus', '--sync', window], { timeoutMs: 5_000, env });
    };
    await focus();
    const read = (): Promise<Buffer> => readFile(options.file);
    return {
      process: proc,
      window,
      readFile: read,
      waitForContent: async (predicate, waitMs) => {
        let last = '';
        try {
          return await waitFor(
            async () => {
              last = (await read()).toString('utf8');
              return predicate(last) ? last : undefined;
            },
            { timeoutMs: waitMs, what: 'typed content in the xterm file' },
          );
        } catch (e) {
          throw new VncError(ErrorCode.Timeout, `${(e as Error).message}; file holds ${JSON.stringify(last)}`);
        }
      },
      focus,
      close: async () => {
        if (ownScope) await scope.dispose();
        else await proc.kill();
      },
    };
  } catch (e) {
    if (ownScope) await scope.dispose().catch(() => {});
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// X tools as ground truth

/** The pointer position as the X server sees it (`xdotool getmouselocation`). */
export async function getMouseLocation(display: string): Promise<{ x: number; y: number }> {
  const r = await runOk('xdotool', ['getmouselocation', '--shell'], { timeoutMs: TOOL_TIMEOUT_MS, env: xEnv(display) });
  const text = r.stdout.toString('utf8');
  const x = /^X=(\d+)$/m.exec(text);
  const y = /^Y=(\d+)$/m.exec(text);
  if (!x || !y) throw new VncError(ErrorCode.Desktop, `unexpected xdotool output: ${text}`);
  return { x: Number(x[1]), y: Number(y[1]) };
}

export type XSelection = 'clipboard' | 'primary';

/**
 * The selection's text as UTF-8, or `null` when nobody owns it (or the owner offers no text).
 * Asks for UTF8_STRING first, then STRING (decoded as Latin-1, as ICCCM defines it).
 */
export async function xclipRead(display: string, selection: XSelection): Promise<string | null> {
  const env = xEnv(display);
  for (const [target, enc] of [['UTF8_STRING', 'utf8'], ['STRING', 'latin1']] as const) {
    const r = await runCommand('xclip', ['-o', '-selection', selection, '-target', target], { timeoutMs: TOOL_TIMEOUT_MS, env });
    if (r.code === 0) return r.stdout.toString(enc);
  }
  return null;
}

/** An xclip process that owns a selection. */
export interface SelectionOwner {
  readonly process: ManagedProcess;
  /** Gives up ownership (kills xclip). Ownership also ends when another client takes the selection. */
  close(): Promise<void>;
}

/**
 * Makes `text` the content of `selection`. xclip must keep running to serve requests: it is
 * started in the foreground (`-quiet`, so it does not fork away from its process group) and
 * tracked by the scope. Resolves once a read through xclip returns exactly `text`.
 */
export async function xclipWrite(
  display: string,
  selection: XSelection,
  text: string,
  options: { scope?: ProcessScope; timeoutMs?: number } = {},
): Promise<SelectionOwner> {
  const ownScope = options.scope === undefined;
  const scope = options.scope ?? new ProcessScope();
  try {
    const proc = scope.spawn('xclip', ['-quiet', '-i', '-selection', selection], {
      env: xEnv(display),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    proc.child.stdin!.on('error', () => {});
    proc.child.stdin!.end(text, 'utf8');
    await waitFor(
      async () => {
        if (proc.exitInfo()) throw new VncError(ErrorCode.Desktop, `xclip exited: ${proc.output().slice(-1000)}`);
        return (await xclipRead(display, selection)) === text;
      },
      { timeoutMs: options.timeoutMs ?? TOOL_TIMEOUT_MS, what: `xclip to own ${selection}` },
    );
    return {
      process: proc,
      close: async () => {
        if (ownScope) await scope.dispose();
        else await proc.kill();
      },
    };
  } catch (e) {
    if (ownScope) await scope.dispose().catch(() => {});
    throw e;
  }
}

/** The whole screen as BGRX, read with `xwd -root` (the X server's framebuffer, no cursor). */
export async function xwdRoot(display: string): Promise<PixelBuffer> {
  return xwdCapture(display, ['-root']);
}

/** One window's on-screen contents (children included) as BGRX, via `xwd -id`. */
export async function xwdWindow(display: string, windowId: string | number): Promise<PixelBuffer> {
  return xwdCapture(display, ['-id', String(windowId)]);
}

async function xwdCapture(display: string, which: string[]): Promise<PixelBuffer> {
  const r = await runOk('xwd', [...which, '-silent', '-display', display], { timeoutMs: 20_000 });
  return parseXwd(r.stdout).pixels;
}

// ---------------------------------------------------------------------------------------------
// Deterministic screen content

/**
 * - `gradient`: smooth two-axis colour ramps (tens of thousands of colours, compressible).
 * - `noise`: seeded per-pixel random colours (incompressible; the worst case for every encoder).
 * - `desktop`: flat background, window frames with title bars, text in the X core `fixed`
 *   font, small icons: large single-colour areas plus sharp edges.
 */
export type RootPattern = 'gradient' | 'greys' | 'noise' | 'desktop';

/**
 * Paints `pattern` as the root window's background pixmap. The X server repaints it by itself
 * whenever something uncovers the root (like `xsetroot`), so no client has to keep running:
 * the connection is closed before this resolves. Needs Xvfb started with `-noreset`.
 */
export async function fillRoot(display: string, pattern: RootPattern, options: { seed?: number; timeoutMs?: number } = {}): Promise<void> {
  const client = await withTimeout(connectX(display), options.timeoutMs ?? TOOL_TIMEOUT_MS, `X connection to ${display}`);
  try {
    await withTimeout(paintRoot(client, pattern, options.seed ?? 1), options.timeoutMs ?? 30_000, `painting ${pattern} on ${display}`);
  } finally {
    await withTimeout(new Promise<void>((r) => client.X.close(() => r())), 5_000, 'X connection close').catch(() => client.X.terminate());
  }
}

interface XConn {
  // The x11 package is untyped (types/x11.d.ts); the surface used here is small.
  X: any;
  screen: { root: number; pixel_width: number; pixel_height: number; root_depth: number };
}

function connectX(display: string): Promise<XConn> {
  return new Promise((resolve, reject) => {
    const client = x11.createClient({ display }, (err: Error | null, dpy: any) => {
      if (err) return reject(new VncError(ErrorCode.Desktop, `cannot connect to ${display}: ${err.message}`, { cause: err }));
      resolve({ X: dpy.client, screen: dpy.screen[0] });
    });
    client.on('error', (e: Error) => reject(new VncError(ErrorCode.Desktop, `X error on ${display}: ${e.message}`, { cause: e })));
  });
}

/** Round trip that also surfaces X errors caused by the requests before it. */
function xSync(X: any): Promise<void> {
  return new Promise((resolve, reject) => X.sync((e: Error | null) => (e ? reject(e) : resolve())));
}

async function paintRoot(conn: XConn, pattern: RootPattern, seed: number): Promise<void> {
  const { X, screen } = conn;
  if (screen.root_depth !== 24) throw new VncError(ErrorCode.Unsupported, `fillRoot needs depth 24, root is ${screen.root_depth}`);
  const w = screen.pixel_width;
  const h = screen.pixel_height;
  let xError: Error | null = null;
  X.on('error', (e: Error) => (xError ??= e));
  const pix = X.AllocID();
  X.CreatePixmap(pix, screen.root, 24, w, h);
  const gc = X.AllocID();
  X.CreateGC(gc, pix, { foreground: 0, background: 0, graphicsExposures: 0 });
  if (pattern === 'desktop') drawDesktop(X, pix, gc, w, h);
  else {
    const image = pattern === 'gradient' ? gradientImage(w, h) : pattern === 'greys' ? greysImage(w, h) : noiseImage(w, h, seed);
    putImageBands(X, pix, gc, image, w, h);
  }
  X.ChangeWindowAttributes(screen.root, { backgroundPixmap: pix });
  X.ClearArea(screen.root, 0, 0, 0, 0, 0);
  // The root keeps a reference to the pixmap; freeing our id (as xsetroot does) does not free it.
  X.FreePixmap(pix);
  X.FreeGC(gc);
  await xSync(X);
  if (xError) throw new VncError(ErrorCode.Desktop, `X error while painting: ${(xError as Error).message}`);
}

/** Sends a BGRX image as PutImage requests of at most ~256 KiB each (fits without BIG-REQUESTS). */
function putImageBands(X: any, drawable: number, gc: number, bgrx: Buffer, w: number, h: number): void {
  const rowsPerBand = Math.max(1, Math.floor((256 * 1024 - 64) / (w * 4)));
  for (let y = 0; y < h; y += rowsPerBand) {
    const rows = Math.min(rowsPerBand, h - y);
    X.PutImage(2 /* ZPixmap */, drawable, gc, w, rows, 0, y, 0, 24, bgrx.subarray(y * w * 4, (y + rows) * w * 4));
  }
}

/** BGRX gradient: red along x, green along y, blue along the diagonal, plus fine stripes. */
export function gradientImage(w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      out[i] = (((x + y) * 255) / Math.max(1, w + h - 2)) & 0xff; // B
      out[i + 1] = ((y * 255) / Math.max(1, h - 1)) & 0xff; // G
      out[i + 2] = ((x * 255) / Math.max(1, w - 1)) & 0xff; // R
    }
  }
  return out;
}

/**
 * BGRX greys only (R = G = B), like text antialiased between two greys: a ramp across x with
 * 4-pixel stripes of its reverse, so every area holds many grey levels.
 */
export function greysImage(w: number, h: number): Buffer {
  const out = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const ramp = Math.floor((x * 255) / Math.max(1, w - 1));
      const g = (y >> 2) % 2 === 0 ? ramp : 255 - ((ramp + y) & 0xff);
      out.fill(g, (y * w + x) * 4, (y * w + x) * 4 + 3);
    }
  }
  return out;
}

/** BGRX seeded noise (xorshift32): the same seed and size give the same bytes. */
export function noiseImage(w: number, h: number, seed: number): Buffer {
  const out = Buffer.alloc(w * h * 4);
  let s = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < w * h; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i * 4] = s & 0xff;
    out[i * 4 + 1] = (s >>> 8) & 0xff;
    out[i * 4 + 2] = (s >>> 16) & 0xff;
  }
  return out;
}

function drawDesktop(X: any, d: number, gc: number, w: number, h: number): void {
  const fill = (rgb: number, rects: number[]): void => {
    X.ChangeGC(gc, { foreground: rgb });
    X.PolyFillRectangle(d, gc, rects);
  };
  fill(0x3a6ea5, [0, 0, w, h]); // wallpaper
  fill(0x202020, [0, h - 28, w, 28]); // task bar
  fill(0x4caf50, [6, h - 24, 60, 20]);
  const font = X.AllocID();
  // `fixed` is compiled into the X server, so it exists even without font packages.
  X.OpenFont(font, 'fixed');
  X.ChangeGC(gc, { font });
  const windows = [
    { x: 0.05, y: 0.06, w: 0.5, h: 0.55, title: 'Terminal - vnc-runner' },
    { x: 0.4, y: 0.3, w: 0.52, h: 0.5, title: 'Editor: README.md' },
  ];
  windows.forEach((win, n) => {
    const x = Math.round(win.x * w);
    const y = Math.round(win.y * h);
    const ww = Math.round(win.w * w);
    const wh = Math.round(win.h * h);
    fill(0x808080, [x - 1, y - 1, ww + 2, wh + 2]); // border
    fill(n === 0 ? 0x0a246a : 0xa0a0a0, [x, y, ww, 20]); // title bar
    fill(n === 0 ? 0x000000 : 0xffffff, [x, y + 20, ww, wh - 20]); // body
    fill(0xe81123, [x + ww - 18, y + 3, 14, 14]); // close button
    X.ChangeGC(gc, { foreground: 0xffffff, background: 0x0a246a });
    X.PolyText8(d, gc, x + 6, y + 15, [win.title]);
    X.ChangeGC(gc, { foreground: n === 0 ? 0x33ff33 : 0x000000 });
    for (let line = 0; 36 + line * 14 < wh - 4; line++) {
      const text = n === 0 ? `$ ls -l /usr/share/doc | head   # line ${line}` : `The quick brown fox jumps over the lazy dog ${line * 7}.`;
      X.PolyText8(d, gc, x + 6, y + 36 + line * 14, [text.slice(0, Math.max(1, Math.floor((ww - 12) / 6)))]);
    }
  });
  // Desktop icons: a column of small multicoloured squares.
  const palette = [0xffc107, 0x9c27b0, 0x00bcd4, 0xff5722, 0x8bc34a, 0x607d8b];
  palette.forEach((rgb, i) => fill(rgb, [w - 52, 20 + i * 56, 32, 32]));
  X.CloseFont(font);
}

/** Keycodes held and pointer buttons pressed on the X server right now (QueryKeymap / QueryPointer). */
export async function xInputState(display: string): Promise<{ keycodes: number[]; buttons: number }> {
  const conn = await openX11({ display, shm: false });
  try {
    const bits = await conn.request<Buffer>((cb) => conn.X.QueryKeymap(cb), { what: 'QueryKeymap' });
    const keycodes: number[] = [];
    for (let i = 0; i < 256; i++) if (bits[i >> 3]! & (1 << (i & 7))) keycodes.push(i);
    const ptr = await conn.request<{ keyMask: number }>((cb) => conn.X.QueryPointer(conn.root, cb), { what: 'QueryPointer' });
    return { keycodes, buttons: ptr.keyMask & 0x1f00 };
  } finally {
    await conn.close();
  }
}
