/**
 * Desktop scenes painted on the benchmark's Xvfb. A scene is what the encoders and the
 * capture path see, so it should look like a real desktop: a continuous-tone wallpaper, flat
 * coloured application windows, and terminals full of text. The "office" scene below is the
 * one `npm run bench` measures; issue 3's scene benchmark adds more builders to `SCENES`
 * (scrolling text, video-like areas, window moves) on the same contract.
 *
 * Every scene also provides a *probe terminal*: an xterm in cooked mode running `cat`, so each
 * key typed into it is echoed by the tty and drawn at once — the visible effect the input
 * latency measurement waits for.
 */
import type { Rect } from '../../core/geometry.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { createPixelBuffer } from '../../core/pixel-buffer.js';
import { X11FrameGrabber } from '../../capture/x11-frame-grabber.js';
import { runToolOk, sleep, type ResourceScope } from './processes.js';
import { wallpaperImage } from './wallpaper.js';

/** What a scene builder needs. */
export interface SceneContext {
  /** X display (":N"). */
  readonly display: string;
  /** Environment for X clients (DISPLAY, XAUTHORITY). */
  readonly env: NodeJS.ProcessEnv;
  /** Owns the scene's processes (xterms). */
  readonly scope: ResourceScope;
}

/** A painted desktop. */
export interface DesktopScene {
  readonly name: string;
  /** The terminal that echoes typed keys: its X window id and on-screen rectangle. */
  readonly probe: { readonly window: string; readonly rect: Rect };
  /** Gives the probe terminal the keyboard focus (call before typing into it). */
  focusProbe(): Promise<void>;
  /** Waits until the screen stops changing (bounded); resolves to false on timeout. */
  settle(timeoutMs: number): Promise<boolean>;
  /** Closes the scene's X connection (windows vanish); processes die with the scope. */
  close(): Promise<void>;
}

export type SceneBuilder = (ctx: SceneContext) => Promise<DesktopScene>;

/** Deadline for one X tool invocation (xdotool). */
const TOOL_TIMEOUT_MS = 10_000;

/** Sends a BGRX image with PutImage in bands that fit a request without BIG-REQUESTS. */
function putImage(X: any, drawable: number, gc: number, bgrx: Buffer, w: number, h: number): void {
  const rowsPerBand = Math.max(1, Math.floor((256 * 1024 - 64) / (w * 4)));
  for (let y = 0; y < h; y += rowsPerBand) {
    const rows = Math.min(rowsPerBand, h - y);
    X.PutImage(2 /* ZPixmap */, drawable, gc, w, rows, 0, y, 0, 24, bgrx.subarray(y * w * 4, (y + rows) * w * 4));
  }
}

/** Requests without replies, then one round trip that surfaces their errors. */
async function checked(conn: X11Connection, what: string, issue: () => void): Promise<void> {
  let failure: VncError | null = null;
  const off = conn.onError((e) => (failure ??= e));
  try {
    issue();
    await conn.sync();
  } finally {
    off();
  }
  if (failure) throw new VncError(ErrorCode.Desktop, `${what} failed: ${(failure as VncError).message}`, { cause: failure });
}

/** Sets a generated wallpaper as the root background (the X server repaints it by itself). */
async function paintWallpaper(conn: X11Connection): Promise<void> {
  if (conn.depth !== 24) throw new VncError(ErrorCode.Unsupported, `the benchmark needs a depth-24 root (got ${conn.depth})`);
  const { X, root, width, height } = conn;
  const image = wallpaperImage(width, height);
  await checked(conn, 'painting the wallpaper', () => {
    const pix = X.AllocID();
    X.CreatePixmap(pix, root, 24, width, height);
    const gc = X.AllocID();
    X.CreateGC(gc, pix, { graphicsExposures: 0 });
    putImage(X, pix, gc, image, width, height);
    X.ChangeWindowAttributes(root, { backgroundPixmap: pix });
    X.ClearArea(root, 0, 0, 0, 0, 0);
    // The root keeps its own reference; freeing our id is what xsetroot does too.
    X.FreePixmap(pix);
    X.FreeGC(gc);
  });
}

/** Flat application-like windows (frame + title bar + a panel), kept while `conn` is open. */
async function mapColouredWindows(conn: X11Connection): Promise<void> {
  const { X, root, width, height } = conn;
  const windows = [
    { x: 0.52, y: 0.05, w: 0.3, h: 0.34, body: 0xf3f3f3, title: 0x2b579a, panel: 0xdde6f3 },
    { x: 0.08, y: 0.62, w: 0.26, h: 0.3, body: 0xffffff, title: 0x217346, panel: 0xe2efda },
    { x: 0.84, y: 0.1, w: 0.14, h: 0.55, body: 0x2d2d30, title: 0x007acc, panel: 0x3e3e42 },
  ];
  await checked(conn, 'mapping coloured windows', () => {
    // Task bar along the bottom edge.
    const bar = X.AllocID();
    X.CreateWindow(bar, root, 0, height - 36, width, 36, 0, 0, 1, 0, { backgroundPixel: 0x1f1f1f, overrideRedirect: 1 });
    X.MapWindow(bar);
    for (const w of windows) {
      const fx = Math.round(w.x * width);
      const fy = Math.round(w.y * height);
      const fw = Math.round(w.w * width);
      const fh = Math.round(w.h * height);
      const frame = X.AllocID();
      X.CreateWindow(frame, root, fx, fy, fw, fh, 1, 0, 1, 0, { backgroundPixel: w.body, borderPixel: 0x808080, overrideRedirect: 1 });
      const title = X.AllocID();
      X.CreateWindow(title, frame, 0, 0, fw, 28, 0, 0, 1, 0, { backgroundPixel: w.title });
      const panel = X.AllocID();
      X.CreateWindow(panel, frame, 12, 40, Math.round(fw * 0.3), fh - 52, 0, 0, 1, 0, { backgroundPixel: w.panel });
      X.MapSubwindows(frame);
      X.MapWindow(frame);
    }
  });
}

interface Terminal {
  readonly window: string;
  readonly rect: Rect;
}

/** Starts an xterm running `script` and waits (bounded) until its window is visible. */
async function startTerminal(ctx: SceneContext, geometry: string, colours: [string, string], script: string): Promise<Terminal> {
  const child = ctx.scope.spawn(
    'xterm',
    ['-geometry', geometry, '-fa', 'Monospace', '-fs', '10', '-bg', colours[0], '-fg', colours[1], '+sb', '-e', 'sh', '-c', script],
    { env: { ...ctx.env, LC_ALL: 'C.UTF-8' } },
  );
  const found = await Promise.race([
    runToolOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(child.pid)], { timeoutMs: TOOL_TIMEOUT_MS, env: ctx.env }),
    child.exited.then((e) => {
      throw new VncError(ErrorCode.Desktop, `xterm exited (code ${e.code}) before mapping: ${child.output().slice(-1000)}`);
    }),
  ]);
  const window = found.stdout.trim().split('\n')[0]!;
  const geom = (await runToolOk('xdotool', ['getwindowgeometry', '--shell', window], { timeoutMs: TOOL_TIMEOUT_MS, env: ctx.env })).stdout;
  const num = (k: string): number => {
    const m = new RegExp(`^${k}=(\\d+)$`, 'm').exec(geom);
    if (!m) throw new VncError(ErrorCode.Desktop, `xdotool getwindowgeometry printed no ${k}: ${geom}`);
    return Number(m[1]);
  };
  return { window, rect: { x: num('X'), y: num('Y'), w: num('WIDTH'), h: num('HEIGHT') } };
}

/**
 * The default scene: wallpaper, task bar, three flat windows, two terminals with a listing and
 * a text file, and the probe terminal (lower middle, never covered).
 */
export const buildOfficeScene: SceneBuilder = async (ctx) => {
  const conn = await openX11({ display: ctx.display, shm: false });
  ctx.scope.defer('scene X connection', () => conn.close());
  await paintWallpaper(conn);
  await mapColouredWindows(conn);
  await startTerminal(ctx, '110x44+30+30', ['#101010', '#d0d0d0'], 'ls -l /usr/bin | head -n 44; exec sleep 86400');
  await startTerminal(ctx, '90x30+700+420', ['#fdf6e3', '#073642'], 'cat /etc/services 2>/dev/null | head -n 30 || seq 1 30; exec sleep 86400');
  const probe = await startTerminal(
    ctx,
    '80x12+420+800',
    ['#002b36', '#93a1a1'],
    'stty -echoctl 2>/dev/null; printf "vnc-runner input latency probe: typed keys are echoed here\\n"; exec cat >/dev/null',
  );
  const grabConn = await openX11({ display: ctx.display });
  ctx.scope.defer('scene settle connection', () => grabConn.close());
  const grabber = await X11FrameGrabber.create(grabConn);
  ctx.scope.defer('scene settle grabber', () => grabber.close());

  return {
    name: 'office',
    probe,
    focusProbe: async () => {
      await runToolOk('xdotool', ['windowfocus', '--sync', probe.window], { timeoutMs: TOOL_TIMEOUT_MS, env: ctx.env });
    },
    settle: async (timeoutMs) => {
      const a = createPixelBuffer(grabber.width, grabber.height);
      const b = createPixelBuffer(grabber.width, grabber.height);
      const deadline = performance.now() + timeoutMs;
      await grabber.grab(a);
      while (performance.now() < deadline) {
        await sleep(250);
        await grabber.grab(b);
        if (a.data.equals(b.data)) return true;
        b.data.copy(a.data);
      }
      return false;
    },
    close: async () => {
      await grabber.close();
      await grabConn.close();
      await conn.close();
    },
  };
};

/** Scenes by name (`--scene NAME`). */
export const SCENES: Readonly<Record<string, SceneBuilder>> = Object.freeze({ office: buildOfficeScene });
