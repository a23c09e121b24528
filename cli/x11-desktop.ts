/**
 * The X11 desktop: capture (capture/) and input (input/) assembled into the server's `Desktop`
 * interface. Capture uses its own X connection (SHM, DAMAGE, XFIXES cursor); input and the
 * clipboard share a second one, so a long GetImage never delays a key press.
 */
import type { Logger } from '../core/log.js';
import { ErrorCode, VncError } from '../core/errors.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';
import { openX11, type X11Connection } from '../core/x11-connection.js';
import { X11ScreenSource } from '../capture/x11-screen-source.js';
import { X11Keyboard } from '../input/x11-keyboard.js';
import { X11Pointer } from '../input/x11-pointer.js';
import { X11Clipboard } from '../input/x11-clipboard.js';
import type { Desktop, DesktopEvents } from '../server/desktop.js';

export interface X11DesktopOptions {
  /** X display name (":N"). */
  display: string;
  logger: Logger;
  /** Largest clipboard text accepted from X or clients, bytes. */
  maxClipboardBytes: number;
  /** Capture and inject inside this window only (display-mode window); default the root. */
  region?: { x: number; y: number; width: number; height: number };
}

export class X11Desktop implements Desktop {
  readonly name: string;
  private source: X11ScreenSource | null = null;
  private inputConn: X11Connection | null = null;
  private keyboard: X11Keyboard | null = null;
  private pointer: X11Pointer | null = null;
  private clipboard: X11Clipboard | null = null;
  private events: DesktopEvents | null = null;
  private starting: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: X11DesktopOptions) {
    this.name = `vnc-runner ${opts.display}`;
  }

  get reportsChanges(): boolean {
    return this.source?.reportsChanges ?? false;
  }

  get framebuffer(): PixelBuffer {
    if (!this.source) throw new VncError(ErrorCode.Desktop, 'desktop not started');
    return this.source.framebuffer;
  }

  start(events: DesktopEvents): Promise<void> {
    this.events = events;
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    const log = this.opts.logger;
    const fatal = (err: Error) => {
      if (this.stopped) return;
      this.events?.fatal(err);
    };
    this.source = await X11ScreenSource.open({
      display: this.opts.display,
      logger: log.child('capture'),
      handlers: {
        cursor: (image) => this.events?.cursor(image),
        resize: (w, h) => this.events?.resize(w, h),
        bell: () => this.events?.bell(),
        changed: () => this.events?.changed?.(),
        fatal,
      },
    });
    const conn = await openX11({ display: this.opts.display, shm: false });
    this.inputConn = conn;
    conn.onClose((err) => {
      if (err) fatal(err);
    });
    this.keyboard = await X11Keyboard.open({ conn, log: log.child('keyboard') });
    this.pointer = await X11Pointer.open({ conn, log: log.child('pointer'), queue: this.keyboard.queue });
    this.clipboard = await X11Clipboard.open({
      conn,
      log: log.child('clipboard'),
      maxBytes: this.opts.maxClipboardBytes,
      onChange: (text) => this.events?.clipboard(text),
    });
    const cursor = this.source.cursor;
    if (cursor) this.events?.cursor(cursor);
    log.info('desktop ready', {
      display: this.opts.display,
      size: `${this.source.framebuffer.width}x${this.source.framebuffer.height}`,
      capture: this.source.method,
    });
  }

  async poll(): Promise<void> {
    if (!this.source) return;
    const { copies, changed } = await this.source.pollMotion();
    // Copies first: damage refers to the frame after them (DesktopEvents.copy contract).
    for (const c of copies) this.events?.copy?.(c.dest, c.dx, c.dy);
    if (changed.length) this.events?.damage(changed);
  }

  keyEvent(keysym: number, down: boolean, clientId = 0): void {
    this.keyboard?.keyEvent(keysym, down, clientId);
  }

  keyCodeEvent(keysym: number, xtScancode: number, down: boolean, clientId = 0): void {
    this.keyboard?.keyCodeEvent(keysym, xtScancode, down, clientId);
  }

  pointerEvent(x: number, y: number, buttonMask: number, clientId = 0): void {
    this.pointer?.pointerEvent(x, y, buttonMask, clientId);
  }

  setClipboard(text: string): void {
    try {
      void this.clipboard?.setText(text);
    } catch (err) {
      this.opts.logger.warn('clipboard text refused', { err: err as Error });
    }
  }

  async flushInput(): Promise<void> {
    await this.keyboard?.flush();
    await this.pointer?.flush();
  }

  async resize(width: number, height: number): Promise<number> {
    if (!this.source) return 1;
    return this.source.setSize(width, height);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.starting?.catch(() => {});
    // Input first: releases held keys and restores remapped keycodes while X is still there.
    await this.keyboard?.close().catch(() => {});
    await this.pointer?.close().catch(() => {});
    await this.clipboard?.close().catch(() => {});
    await this.inputConn?.close().catch(() => {});
    await this.source?.close().catch(() => {});
  }
}
