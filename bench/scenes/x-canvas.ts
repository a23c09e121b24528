/**
 * The scene canvas on a real X display, through the `x11` package: override-redirect windows
 * (there is no window manager), pixmaps, PutImage in bands that fit a request without
 * BIG-REQUESTS, CopyArea, PolyFillRectangle, ConfigureWindow moves, and xterms whose output the
 * canvas controls through a loopback connection to a relay (tty-relay-main.ts).
 *
 * Requests are pipelined without replies; `sync()` is the round trip that surfaces any X error
 * they caused. Every wait is bounded; the terminals are processes of the caller's scope.
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { ErrorCode, VncError } from '../../core/errors.js';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { runToolOk, withTimeout, type ResourceScope } from '../lib/processes.js';
import type { SceneCanvas, TerminalHandle, TerminalSpec, WindowSpec } from './canvas.js';

/** Deadline for one X tool invocation (xdotool) and for a terminal to appear. */
const TOOL_TIMEOUT_MS = 10_000;
/** Largest PutImage request payload without BIG-REQUESTS (the length field counts 4-byte words). */
const MAX_PUT_BYTES = 256 * 1024 - 64;

export interface XCanvasOptions {
  readonly display: string;
  /** DISPLAY / XAUTHORITY for the terminals. */
  readonly env: NodeJS.ProcessEnv;
  /** Owns the terminal processes. */
  readonly scope: ResourceScope;
}

export class XCanvas implements SceneCanvas {
  readonly width: number;
  readonly height: number;
  private readonly gc: number;
  private firstError: VncError | null = null;
  private readonly offError: () => void;
  private readonly sockets: net.Socket[] = [];
  private readonly servers: net.Server[] = [];

  private constructor(private readonly conn: X11Connection, private readonly opts: XCanvasOptions) {
    if (conn.depth !== 24) throw new VncError(ErrorCode.Unsupported, `scenes need a depth-24 root window (got ${conn.depth})`);
    this.width = conn.width;
    this.height = conn.height;
    this.gc = conn.X.AllocID();
    conn.X.CreateGC(this.gc, conn.root, { graphicsExposures: 0 });
    this.offError = conn.onError((e) => (this.firstError ??= e));
  }

  static async open(opts: XCanvasOptions): Promise<XCanvas> {
    const conn = await openX11({ display: opts.display, shm: false });
    try {
      return new XCanvas(conn, opts);
    } catch (err) {
      await conn.close();
      throw err;
    }
  }

  private get X(): any {
    return this.conn.X;
  }

  setRootBackground(image: Buffer): void {
    const pix = this.createPixmap(this.width, this.height, image);
    this.X.ChangeWindowAttributes(this.conn.root, { backgroundPixmap: pix });
    this.X.ClearArea(this.conn.root, 0, 0, 0, 0, 0);
    // The root keeps its own reference (this is what xsetroot does).
    this.X.FreePixmap(pix);
  }

  createWindow(spec: WindowSpec): number {
    const X = this.X;
    const id = X.AllocID();
    if (typeof spec.background === 'number') {
      X.CreateWindow(id, this.conn.root, spec.x, spec.y, spec.w, spec.h, 0, 0, 1, 0, { backgroundPixel: spec.background, overrideRedirect: 1 });
    } else {
      const pix = this.createPixmap(spec.w, spec.h, spec.background);
      X.CreateWindow(id, this.conn.root, spec.x, spec.y, spec.w, spec.h, 0, 0, 1, 0, { backgroundPixmap: pix, overrideRedirect: 1 });
      X.FreePixmap(pix);
    }
    X.MapWindow(id);
    return id;
  }

  createPixmap(w: number, h: number, image: Buffer): number {
    if (image.length !== w * h * 4) throw new RangeError(`pixmap image of ${image.length} bytes for ${w}x${h}`);
    const id = this.X.AllocID();
    this.X.CreatePixmap(id, this.conn.root, 24, w, h);
    this.putImage(id, 0, 0, w, h, image);
    return id;
  }

  putImage(drawable: number, x: number, y: number, w: number, h: number, image: Buffer): void {
    if (image.length !== w * h * 4) throw new RangeError(`image of ${image.length} bytes for ${w}x${h}`);
    const rowsPerBand = Math.max(1, Math.floor(MAX_PUT_BYTES / (w * 4)));
    for (let r = 0; r < h; r += rowsPerBand) {
      const rows = Math.min(rowsPerBand, h - r);
      this.X.PutImage(2 /* ZPixmap */, drawable, this.gc, w, rows, x, y + r, 0, 24, image.subarray(r * w * 4, (r + rows) * w * 4));
    }
  }

  copyArea(src: number, dst: number, sx: number, sy: number, w: number, h: number, dx: number, dy: number): void {
    this.X.CopyArea(src, dst, this.gc, sx, sy, dx, dy, w, h);
  }

  fillRect(drawable: number, x: number, y: number, w: number, h: number, rgb: number): void {
    this.X.ChangeGC(this.gc, { foreground: rgb });
    this.X.PolyFillRectangle(drawable, this.gc, [x, y, w, h]);
  }

  moveWindow(window: number, x: number, y: number): void {
    this.X.MoveWindow(window, x, y);
  }

  async openTerminal(spec: TerminalSpec): Promise<TerminalHandle> {
    // The relay connects back here; its connection is the terminal's output.
    const server = net.createServer();
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, resolve);
    });
    const port = (server.address() as net.AddressInfo).port;
    const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const relay = fileURLToPath(new URL('./tty-relay-main.js', import.meta.url));
    const child = this.opts.scope.spawn(
      'xterm',
      [
        '-geometry', `${spec.cols}x${spec.rows}+${spec.x}+${spec.y}`,
        '-fa', 'DejaVu Sans Mono', '-fs', '10', '-bg', spec.bg, '-fg', spec.fg, '+sb',
        '-e', process.execPath, relay, String(port),
      ],
      { env: { ...this.opts.env, LC_ALL: 'C.UTF-8' } },
    );
    const died = child.exited.then((e) => {
      throw new VncError(ErrorCode.Desktop, `xterm exited (code ${e.code}) before it was ready: ${child.output().slice(-1000)}`);
    });
    died.catch(() => {}); // the races below observe it; a later exit (cleanup) is expected
    const socket = await Promise.race([withTimeout(connected, TOOL_TIMEOUT_MS, 'the terminal relay to connect'), died]);
    socket.setNoDelay(true);
    this.sockets.push(socket);
    const found = await Promise.race([
      runToolOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(child.pid)], { timeoutMs: TOOL_TIMEOUT_MS, env: this.opts.env }),
      died,
    ]);
    const window = found.stdout.trim().split('\n')[0]!;
    const geom = (await runToolOk('xdotool', ['getwindowgeometry', '--shell', window], { timeoutMs: TOOL_TIMEOUT_MS, env: this.opts.env })).stdout;
    const num = (k: string): number => {
      const m = new RegExp(`^${k}=(\\d+)$`, 'm').exec(geom);
      if (!m) throw new VncError(ErrorCode.Desktop, `xdotool getwindowgeometry printed no ${k}: ${geom}`);
      return Number(m[1]);
    };
    return {
      window,
      rect: { x: num('X'), y: num('Y'), w: num('WIDTH'), h: num('HEIGHT') },
      cols: spec.cols,
      rows: spec.rows,
      write: (text) => void socket.write(text),
    };
  }

  /** Gives a terminal the keyboard focus (there is no window manager to do it). */
  async focus(window: string): Promise<void> {
    await runToolOk('xdotool', ['windowfocus', '--sync', window], { timeoutMs: TOOL_TIMEOUT_MS, env: this.opts.env });
  }

  /**
   * Waits until the X server has processed every request so far and the terminals have
   * drained their output; throws the first X error any request caused.
   */
  async sync(timeoutMs = 10_000): Promise<void> {
    await this.conn.sync(timeoutMs);
    for (const s of this.sockets) {
      if (s.writableLength > 0) await withTimeout(new Promise<void>((r) => s.once('drain', () => r())), timeoutMs, 'terminal output to drain');
    }
    if (this.firstError) throw new VncError(ErrorCode.Desktop, `drawing the scene failed: ${this.firstError.message}`, { cause: this.firstError });
  }

  /** Closes the terminals' connections (their relays exit) and the X connection. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    this.offError();
    await this.conn.close();
  }
}
