/**
 * RFB pointer events → XTEST motion and button events.
 *
 * The RFB button mask has bit n for button n+1. Buttons 1–3 and 8 are held buttons: a press
 * and a release are sent when their bit changes (so dragging works). Bits 3–6 are the wheel
 * (buttons 4/5 vertical, 6/7 horizontal): a wheel click is a press immediately followed by a
 * release, sent when the bit goes from 0 to 1, because some clients never send the 1→0 edge
 * separately. The mask is diffed per client.
 */
import type { X11Connection } from '../core/x11-connection.js';
import { silentLogger, type Logger } from '../core/log.js';
import { SerialQueue } from './serial-queue.js';

/** The part of the screen RFB coordinates map to (window mode), in root coordinates. */
export interface PointerRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Options of {@link X11Pointer.open}. */
export interface X11PointerOptions {
  /** Connection to inject on. The pointer does not close it. */
  conn: X11Connection;
  log?: Logger;
  /** Target area; defaults to the whole root window. */
  region?: PointerRegion;
  /**
   * Queue to serialise with. Pass the keyboard's queue (`X11Keyboard.queue`) so that key and
   * pointer events keep their relative order (Shift+click). Default: a private queue.
   */
  queue?: SerialQueue;
  /** Events waiting beyond which new ones are dropped, for a private queue (default 4096). */
  maxQueuedEvents?: number;
}

const XTEST_BUTTON_PRESS = 4;
const XTEST_BUTTON_RELEASE = 5;
const XTEST_MOTION = 6;
/** Mask bits that are wheel clicks (buttons 4–7). */
const WHEEL_BITS = 0b0111_1000;

/** XTEST pointer. Create with {@link X11Pointer.open}. */
export class X11Pointer {
  private region: PointerRegion;
  /** clientId → last button mask. */
  private readonly masks = new Map<number, number>();
  private readonly queue: SerialQueue;
  private readonly log: Logger;
  private closed = false;

  private constructor(
    private readonly conn: X11Connection,
    private readonly xtest: any,
    opts: X11PointerOptions,
  ) {
    this.log = opts.log ?? silentLogger;
    this.region = opts.region ?? { x: 0, y: 0, width: conn.width, height: conn.height };
    this.queue = opts.queue ?? new SerialQueue({ maxQueued: opts.maxQueuedEvents ?? 4096, log: this.log, what: 'pointer event' });
  }

  /** Loads XTEST. Rejects with a VncError if the server lacks it. */
  static async open(opts: X11PointerOptions): Promise<X11Pointer> {
    const xtest = await opts.conn.require('xtest');
    return new X11Pointer(opts.conn, xtest, opts);
  }

  /** Changes the target area (window moved, screen resized). Applies to later events. */
  setRegion(region: PointerRegion): void {
    this.region = { ...region };
  }

  /**
   * Queues a move to (x, y) in region coordinates (clamped to the region and the screen) and
   * the button changes of `buttonMask` relative to this client's previous mask. Never throws.
   */
  pointerEvent(x: number, y: number, buttonMask: number, clientId = 0): void {
    if (this.closed) return;
    this.queue.push(() => this.apply(x, y, buttonMask & 0xff, clientId));
  }

  /** Queues the release of every button `clientId` holds (on disconnect). */
  releaseAll(clientId: number): void {
    if (this.closed) return;
    this.queue.push(() => {
      const mask = this.masks.get(clientId) ?? 0;
      this.masks.delete(clientId);
      this.sendButtons(mask, 0);
    });
  }

  /** Resolves once every event queued so far reached the X server. */
  async flush(): Promise<void> {
    await this.queue.idle();
    if (!this.conn.closed) await this.conn.sync();
  }

  /** Releases every held button of every client; idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const id of [...this.masks.keys()]) this.releaseAll(id);
    this.closed = true;
    await this.flush().catch((e) => this.log.warn('pointer close: sync failed', { err: e }));
  }

  private apply(x: number, y: number, mask: number, clientId: number): void {
    const r = this.region;
    const rx = clamp(clamp(Math.round(x), 0, r.width - 1) + r.x, 0, this.conn.width - 1);
    const ry = clamp(clamp(Math.round(y), 0, r.height - 1) + r.y, 0, this.conn.height - 1);
    // detail 0 = absolute coordinates relative to the root window.
    this.xtest.FakeInput(XTEST_MOTION, 0, 0, this.conn.root, rx, ry);
    const prev = this.masks.get(clientId) ?? 0;
    if (mask === 0) this.masks.delete(clientId);
    else this.masks.set(clientId, mask);
    this.sendButtons(prev, mask);
  }

  private sendButtons(prev: number, mask: number): void {
    const root = this.conn.root;
    const send = (type: number, button: number): void => this.xtest.FakeInput(type, button, 0, root, 0, 0);
    // Releases before presses, so a client swapping buttons in one message never holds both.
    for (let bit = 0; bit < 8; bit++) {
      const button = bit + 1;
      if ((prev >> bit) & 1 && !((mask >> bit) & 1) && !((WHEEL_BITS >> bit) & 1)) send(XTEST_BUTTON_RELEASE, button);
    }
    for (let bit = 0; bit < 8; bit++) {
      if (!((mask >> bit) & 1) || (prev >> bit) & 1) continue;
      const button = bit + 1;
      send(XTEST_BUTTON_PRESS, button);
      // A wheel step is a complete click; the bit's 1→0 edge then sends nothing.
      if ((WHEEL_BITS >> bit) & 1) send(XTEST_BUTTON_RELEASE, button);
    }
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
