/**
 * A deterministic in-memory Desktop for server-level unit tests (protocol behaviour without X).
 * Real-desktop behaviour is covered by the integration tests on Xvfb.
 */
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import type { CursorImage, Desktop, DesktopEvents } from '../../server/desktop.js';

export type InputEvent =
  | { kind: 'key'; keysym: number; down: boolean }
  | { kind: 'pointer'; x: number; y: number; mask: number }
  | { kind: 'clipboard'; text: string };

export class SyntheticDesktop implements Desktop {
  readonly name = 'synthetic';
  framebuffer: PixelBuffer;
  events: DesktopEvents | null = null;
  readonly input: InputEvent[] = [];
  polls = 0;
  private pending: Rect[] = [];

  /**
   * With `reportsChanges`, `paint()` also calls `events.changed()` as X DAMAGE would, so the
   * server's frame clock is event driven (polls on hints, otherwise every 250 ms).
   */
  constructor(width = 64, height = 48, readonly reportsChanges = false) {
    this.framebuffer = createPixelBuffer(width, height);
    this.paint({ x: 0, y: 0, w: width, h: height }, (x, y) => ((x * 4) << 16) | ((y * 5) << 8) | ((x + y) & 0xff));
    this.pending = [];
  }

  /** Paints `r` with `colour(x, y)` and queues it as damage for the next poll. */
  paint(r: Rect, colour: (x: number, y: number) => number): void {
    const fb = this.framebuffer;
    for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) fb.pixels[y * fb.stride + x] = colour(x, y) & 0xffffff;
    this.pending.push(r);
    if (this.reportsChanges) this.events?.changed?.();
  }

  async start(events: DesktopEvents): Promise<void> { this.events = events; }
  async stop(): Promise<void> { this.events = null; }
  async poll(): Promise<void> {
    this.polls++;
    const rects = this.pending;
    this.pending = [];
    if (rects.length) this.events?.damage(rects);
  }
  keyEvent(keysym: number, down: boolean, _clientId?: number): void { this.input.push({ kind: 'key', keysym, down }); }
  pointerEvent(x: number, y: number, mask: number, _clientId?: number): void { this.input.push({ kind: 'pointer', x, y, mask }); }
  setClipboard(text: string): void { this.input.push({ kind: 'clipboard', text }); }
  async flushInput(): Promise<void> {}
  emitCursor(c: CursorImage): void { this.events?.cursor(c); }
}
