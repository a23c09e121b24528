/**
 * What a scene draws on. Scenes are written against this small drawing surface instead of the
 * X protocol so that the same scene code drives the real X display (x-canvas.ts) and, in unit
 * tests, a hashing canvas that proves the scenes are deterministic without an X server.
 *
 * Handles are canvas-local numbers; windows and pixmaps share one namespace ("drawables").
 * Images are BGRX, 4 bytes per pixel, rows packed.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Rect } from '../../core/geometry.js';

export interface WindowSpec {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /**
   * What the X server paints where the window is exposed: a colour 0xRRGGBB, or a w×h image.
   * An image background means the server repaints the window by itself when it is uncovered
   * or moved, so scenes never handle Expose events.
   */
  readonly background: number | Buffer;
}

export interface TerminalSpec {
  /** Top-left corner of the terminal window on the screen. */
  readonly x: number;
  readonly y: number;
  readonly cols: number;
  readonly rows: number;
  /** Colours as X colour names or #rrggbb. */
  readonly bg: string;
  readonly fg: string;
}

/** A terminal emulator window whose program prints what `write` sends. */
export interface TerminalHandle {
  /** The X window id (for focusing), as xdotool prints it. */
  readonly window: string;
  /** Its rectangle on the screen. */
  readonly rect: Rect;
  readonly cols: number;
  readonly rows: number;
  /** Sends text (with escape sequences) to be printed by the terminal. */
  write(text: string): void;
}

export interface SceneCanvas {
  readonly width: number;
  readonly height: number;
  /** Sets a full-screen image as the root window background. */
  setRootBackground(image: Buffer): void;
  /** Creates and maps a top-level window (no window manager: it stays where it is put). */
  createWindow(spec: WindowSpec): number;
  /** Uploads an image into an off-screen pixmap. */
  createPixmap(w: number, h: number, image: Buffer): number;
  putImage(drawable: number, x: number, y: number, w: number, h: number, image: Buffer): void;
  /** Copies pixels between drawables (or within one, e.g. a scroll). */
  copyArea(src: number, dst: number, sx: number, sy: number, w: number, h: number, dx: number, dy: number): void;
  fillRect(drawable: number, x: number, y: number, w: number, h: number, rgb: number): void;
  moveWindow(window: number, x: number, y: number): void;
  /** Starts a terminal emulator whose output `TerminalHandle.write` controls. */
  openTerminal(spec: TerminalSpec): Promise<TerminalHandle>;
}

/**
 * A canvas that draws nothing and hashes every call with its arguments and pixels. Two scenes
 * built from the same seed must produce the same digest; the unit tests check that.
 */
export class HashingCanvas implements SceneCanvas {
  private readonly hash: Hash = createHash('sha256');
  private part: Hash = createHash('sha256');
  private nextId = 1;
  /** Number of calls recorded (a scene that draws nothing is a bug the tests catch). */
  calls = 0;

  constructor(readonly width = 1920, readonly height = 1080) {}

  private record(op: string, nums: readonly number[], data?: Buffer | string): void {
    this.calls++;
    for (const h of [this.hash, this.part]) {
      h.update(`${op}(${nums.join(',')})`);
      if (data !== undefined) h.update(data);
    }
  }

  setRootBackground(image: Buffer): void {
    this.record('root', [image.length], image);
  }
  createWindow(spec: WindowSpec): number {
    const id = this.nextId++;
    if (typeof spec.background === 'number') this.record('window', [id, spec.x, spec.y, spec.w, spec.h, spec.background]);
    else this.record('window', [id, spec.x, spec.y, spec.w, spec.h], spec.background);
    return id;
  }
  createPixmap(w: number, h: number, image: Buffer): number {
    const id = this.nextId++;
    this.record('pixmap', [id, w, h], image);
    return id;
  }
  putImage(drawable: number, x: number, y: number, w: number, h: number, image: Buffer): void {
    this.record('put', [drawable, x, y, w, h], image);
  }
  copyArea(src: number, dst: number, sx: number, sy: number, w: number, h: number, dx: number, dy: number): void {
    this.record('copy', [src, dst, sx, sy, w, h, dx, dy]);
  }
  fillRect(drawable: number, x: number, y: number, w: number, h: number, rgb: number): void {
    this.record('fill', [drawable, x, y, w, h, rgb]);
  }
  moveWindow(window: number, x: number, y: number): void {
    this.record('move', [window, x, y]);
  }
  async openTerminal(spec: TerminalSpec): Promise<TerminalHandle> {
    const id = this.nextId++;
    this.record('terminal', [id, spec.x, spec.y, spec.cols, spec.rows], `${spec.bg} ${spec.fg}`);
    return {
      window: String(id),
      rect: { x: spec.x, y: spec.y, w: spec.cols * 7, h: spec.rows * 15 },
      cols: spec.cols,
      rows: spec.rows,
      write: (text) => this.record('write', [id], text),
    };
  }

  /** Hex digest of what was recorded since the previous call (or the start); starts a new part. */
  partDigest(): string {
    const d = this.part.digest('hex');
    this.part = createHash('sha256');
    return d;
  }

  /** Hex digest of everything recorded so far (the canvas can go on recording). */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
