/**
 * The one interface through which the RFB server sees a desktop (TigerVNC's SDesktop). The
 * server never imports capture/ or input/: the composition root (cli/) builds an object of this
 * shape from them, and tests can build one from a synthetic frame source.
 */
import type { PixelBuffer } from '../core/pixel-buffer.js';
import type { Rect } from '../core/geometry.js';

/** A cursor image for the Cursor pseudo-encoding. */
export interface CursorImage {
  readonly width: number;
  readonly height: number;
  readonly hotX: number;
  readonly hotY: number;
  /** `width*height` pixels, non-premultiplied `0xAARRGGBB`. */
  readonly argb: Uint32Array;
}

/** Callbacks from the desktop to the server. All may be called at any time after start(). */
export interface DesktopEvents {
  /** These areas of `framebuffer` changed (already verified by comparison, not mere hints). */
  damage(rects: readonly Rect[]): void;
  /**
   * Pixels of `dest` now equal what was at `dest` translated by (-dx, -dy) in the previous
   * frame (motion detection). Optional: a desktop that never detects motion never calls it.
   * Within one poll, report copies before damage: damage refers to the frame after the copy.
   */
  copy?(dest: Rect, dx: number, dy: number): void;
  /** The framebuffer changed size; `framebuffer` already has the new size. */
  resize(width: number, height: number): void;
  /** The pointer shape changed. */
  cursor(image: CursorImage): void;
  /** The desktop clipboard changed to `text`. */
  clipboard(text: string): void;
  /** The desktop rang the bell. */
  bell(): void;
  /**
   * The desktop's `name` changed (e.g. the title of the one window shown); reading `name`
   * now gives the new one. Optional: a desktop whose name never changes never calls it.
   */
  nameChanged?(): void;
  /**
   * Something may have changed (e.g. an X DAMAGE event), as it happens; a poll now would find
   * it. Only desktops whose `reportsChanges` is true call it.
   */
  changed?(): void;
  /** The desktop failed for good (X server died). The server closes all clients. */
  fatal(err: Error): void;
}

export interface Desktop {
  /**
   * Shown to clients as the desktop name in ServerInit, and in DesktopName pseudo-rectangles
   * when it changes (`DesktopEvents.nameChanged`).
   */
  readonly name: string;
  /**
   * After start(): the desktop calls `events.changed()` whenever something is drawn, so the
   * server may poll on changes instead of at the full frame rate.
   */
  readonly reportsChanges?: boolean;
  /**
   * Current screen contents, BGRX. Valid after start() resolves. The server reads it only
   * synchronously (an encoder copies what it needs before any await), so the desktop may
   * rewrite or replace it during poll().
   */
  readonly framebuffer: PixelBuffer;
  /** Begin capturing; resolves once `framebuffer` holds a real first frame. Idempotent. */
  start(events: DesktopEvents): Promise<void>;
  /** Stop capturing and release resources (restores the keymap). Idempotent. */
  stop(): Promise<void>;
  /**
   * Capture now and report what changed through `events.damage`. Called by the frame clock only
   * while some client waits for pixels; never called concurrently with itself.
   */
  poll(): Promise<void>;
  /**
   * Press (`down`) or release a key by X keysym. Events are applied in call order. `clientId`
   * (the session id) lets the desktop release a key through the keycode that client pressed it
   * with, even when several clients type at once.
   */
  keyEvent(keysym: number, down: boolean, clientId?: number): void;
  /** Press or release by XT scancode (QEMU extended key event), with the keysym as fallback. */
  keyCodeEvent?(keysym: number, xtScancode: number, down: boolean, clientId?: number): void;
  /**
   * Move the pointer and set the button mask (bit 0 = button 1 … bit 7 = button 8). Buttons are
   * diffed per `clientId`, so one client's mask never releases another's buttons.
   */
  pointerEvent(x: number, y: number, buttonMask: number, clientId?: number): void;
  /** A client set the clipboard (already decoded from Latin-1 or UTF-8). */
  setClipboard(text: string): void;
  /** Resolves once every input event passed so far has reached the desktop. */
  flushInput(): Promise<void>;
  /**
   * Ask the desktop to change its size (SetDesktopSize). Resolves to an RFB ExtendedDesktopSize
   * status: 0 ok, 1 prohibited, 2 out of resources, 3 invalid screen layout.
   */
  resize?(width: number, height: number): Promise<number>;
}
