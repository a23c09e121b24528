/**
 * `--display-mode window`: one window of the X screen as the whole desktop.
 *
 * A decorator around the root-screen desktop (X11Desktop): capture stays the root's (SHM,
 * DAMAGE, tile diff, motion), and this class exposes a framebuffer of the window's rectangle,
 * kept in step by copying exactly the rectangles the root capture reported. Damage and CopyRects
 * are translated into window coordinates; a copy that reaches outside the window becomes damage.
 * Pointer coordinates are offset into the window and clamped to it, so a client can never click
 * outside; keys, clipboard, cursor shape and bell pass through unchanged.
 *
 * The window is tracked: its StructureNotify events (moved, resized, unmapped, destroyed) mark
 * the geometry stale, and every `recheckMs` it is re-read anyway (a reparenting window manager
 * moves the frame, which the client window is not told about). A new size is announced with
 * `resize`; a move repaints the whole window. If the window disappears the same choice is made
 * again (title, active, largest); while nothing qualifies the last rectangle keeps being shown.
 *
 * The desktop's name is "<display name> – <window title>", and follows the title: its
 * PropertyNotify events for WM_NAME / _NET_WM_NAME (a browser showing another page, a terminal
 * whose program sets the title) or a switch to another window report `nameChanged`, so viewers
 * that support the DesktopName pseudo-encoding retitle themselves.
 *
 * What is shown is what is on screen inside that rectangle: a window covering it shows too (as
 * in `xwd -id`); content of an obscured window is not reconstructed.
 */
import { ErrorCode, VncError } from '../core/errors.js';
import { intersectRect, translateRect, type Rect } from '../core/geometry.js';
import type { Logger } from '../core/log.js';
import { createPixelBuffer, type PixelBuffer } from '../core/pixel-buffer.js';
import { openX11, type X11Connection } from '../core/x11-connection.js';
import { WM_NAME_ATOM, findWindow, windowRect, windowTitle, type FoundWindow } from '../capture/x11-window-finder.js';
import type { CursorImage, Desktop, DesktopEvents } from '../server/desktop.js';

export interface WindowDesktopOptions {
  /** The root-screen desktop to crop (started and stopped by this one). */
  inner: Desktop;
  /** X display of `inner` (":N"), for the tracking connection. */
  display: string;
  /** `--window-title`; absent: the active window, else the largest top-level one. */
  title?: string;
  logger: Logger;
  /** How long start() waits for a qualifying window to appear. Default 10 s. */
  findTimeoutMs?: number;
  /** Re-read the window rectangle at least this often while polled. Default 1000 ms. */
  recheckMs?: number;
}

const STRUCTURE_NOTIFY = 0x0002_0000;
const PROPERTY_CHANGE = 0x0040_0000;
const FIND_RETRY_MS = 200;

export class WindowDesktop implements Desktop {
  private conn: X11Connection | null = null;
  private window: FoundWindow | null = null;
  /** The window's rectangle on the root, clipped to the screen. */
  private rect: Rect = { x: 0, y: 0, w: 1, h: 1 };
  private fb: PixelBuffer = createPixelBuffer(1, 1);
  private events: DesktopEvents | null = null;
  private starting: Promise<void> | null = null;
  private stale = false;
  private lastCheck = 0;
  private lostLogged = false;
  private stopped = false;
  /** What the root capture reported since the last poll, in root coordinates. */
  private copies: { dest: Rect; dx: number; dy: number }[] = [];
  private damage: Rect[] = [];
  /** The shown window's title as last read ('' before the window is found or when it has none). */
  private title = '';
  private titleStale = false;
  private netWmName = -1;

  constructor(private readonly opts: WindowDesktopOptions) {}

  get name(): string {
    return `${this.opts.inner.name} – ${this.title || this.opts.title || 'window'}`;
  }

  get framebuffer(): PixelBuffer {
    return this.fb;
  }

  get reportsChanges(): boolean {
    return this.opts.inner.reportsChanges ?? false;
  }

  start(events: DesktopEvents): Promise<void> {
    this.events = events;
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    try {
      await this.openOrThrow();
    } catch (err) {
      // Leave nothing open behind a failed start (the inner desktop restores the keymap).
      await this.conn?.close().catch(() => {});
      await this.opts.inner.stop().catch(() => {});
      throw err;
    }
  }

  private async openOrThrow(): Promise<void> {
    const log = this.opts.logger;
    await this.opts.inner.start({
      damage: (rects) => this.damage.push(...rects),
      copy: (dest, dx, dy) => this.copies.push({ dest, dx, dy }),
      // The root changed size: the window's visible part may have too.
      resize: () => (this.stale = true),
      cursor: (image: CursorImage) => this.events?.cursor(image),
      clipboard: (text) => this.events?.clipboard(text),
      bell: () => this.events?.bell(),
      changed: () => this.events?.changed?.(),
      fatal: (err) => this.events?.fatal(err),
    });
    const conn = await openX11({ display: this.opts.display, shm: false });
    this.conn = conn;
    conn.onClose((err) => {
      if (err && !this.stopped) this.events?.fatal(err);
    });
    this.netWmName = await conn.request<number>((cb) => conn.X.InternAtom(false, '_NET_WM_NAME', cb), { what: 'InternAtom _NET_WM_NAME' });
    conn.onEvent((ev) => {
      if (!this.window || !(ev?.wid === this.window.id || ev?.wid1 === this.window.id || ev?.event === this.window.id)) return;
      if (ev.name === 'PropertyNotify') {
        if (ev.atom !== WM_NAME_ATOM && ev.atom !== this.netWmName) return;
        this.titleStale = this.stale = true;
        // A new title need not come with drawing: have the clock poll (which reads it) soon.
        this.events?.changed?.();
        return;
      }
      this.stale = true;
    });
    const deadline = Date.now() + (this.opts.findTimeoutMs ?? 10_000);
    let found = await this.find();
    // `--run` programs map their window a moment after the display came up: wait, bounded.
    while (!found && Date.now() < deadline && !this.stopped) {
      await new Promise((r) => setTimeout(r, FIND_RETRY_MS));
      found = await this.find();
    }
    if (!found) {
      throw new VncError(
        ErrorCode.Desktop,
        this.opts.title ? `no window titled "${this.opts.title}" on ${this.opts.display}` : `no window to show on ${this.opts.display}`,
      );
    }
    await this.select(found);
    this.rect = this.clip(found.rect);
    this.fb = createPixelBuffer(this.rect.w, this.rect.h);
    this.copyFromRoot([{ x: 0, y: 0, w: this.rect.w, h: this.rect.h }]);
    this.lastCheck = Date.now();
    log.info('showing one window', { window: `0x${found.id.toString(16)}`, title: found.title, chosen: found.how, rect: fmt(this.rect) });
  }

  private find(): Promise<FoundWindow | null> {
    return findWindow(this.conn!, this.opts.title ? { title: this.opts.title } : {});
  }

  /**
   * Follow `w`: its StructureNotify events mark the rectangle stale, its title changes the name
   * (PropertyChange).
   */
  private async select(w: FoundWindow): Promise<void> {
    this.window = w;
    this.setTitle(w.title);
    const conn = this.conn!;
    await conn
      .request((cb) => conn.X.ChangeWindowAttributes(w.id, { eventMask: STRUCTURE_NOTIFY | PROPERTY_CHANGE }, cb), {
        what: 'ChangeWindowAttributes(window)',
      })
      .catch(() => (this.stale = true)); // gone already: the next poll looks again
  }

  private setTitle(title: string): void {
    if (title === this.title) return;
    this.title = title;
    this.events?.nameChanged?.();
  }

  async poll(): Promise<void> {
    if (!this.window || this.stopped) return;
    await this.track();
    await this.opts.inner.poll();
    const copies = this.copies;
    const damage = this.damage;
    this.copies = [];
    this.damage = [];
    const w = this.rect;
    const outCopies: { dest: Rect; dx: number; dy: number }[] = [];
    const outDamage: Rect[] = [];
    for (const c of copies) {
      const src = translateRect(c.dest, -c.dx, -c.dy);
      const destIn = intersectRect(c.dest, w);
      if (destIn && sameRect(destIn, c.dest) && sameRect(intersectRect(src, w), src)) {
        outCopies.push({ dest: translateRect(c.dest, -w.x, -w.y), dx: c.dx, dy: c.dy });
      } else if (destIn) {
        outDamage.push(translateRect(destIn, -w.x, -w.y));
      }
    }
    for (const r of damage) {
      const i = intersectRect(r, w);
      if (i) outDamage.push(translateRect(i, -w.x, -w.y));
    }
    // Our framebuffer mirrors the root's crop: bring every reported area across.
    this.copyFromRoot([...outCopies.map((c) => c.dest), ...outDamage]);
    for (const c of outCopies) this.events?.copy?.(c.dest, c.dx, c.dy);
    if (outDamage.length) this.events?.damage(outDamage);
  }

  /** Re-read the window rectangle when it is stale or due; apply a move or resize. */
  private async track(): Promise<void> {
    if (!this.stale && Date.now() - this.lastCheck < (this.opts.recheckMs ?? 1_000)) return;
    this.stale = false;
    this.lastCheck = Date.now();
    if (this.titleStale) {
      this.titleStale = false;
      const t = await windowTitle(this.conn!, this.window!.id);
      if (t !== null) this.setTitle(t);
    }
    let raw = await windowRect(this.conn!, this.window!.id);
    if (!raw) {
      const again = await this.find();
      if (again) {
        this.opts.logger.info('window gone; showing another', { window: `0x${again.id.toString(16)}`, title: again.title, chosen: again.how });
        await this.select(again);
        raw = again.rect;
        this.lostLogged = false;
      } else {
        if (!this.lostLogged) this.opts.logger.warn('window gone and none to replace it; keeping the last area');
        this.lostLogged = true;
        return;
      }
    }
    const next = this.clip(raw);
    const cur = this.rect;
    if (sameRect(next, cur)) return;
    this.rect = next;
    const whole = { x: 0, y: 0, w: next.w, h: next.h };
    if (next.w !== cur.w || next.h !== cur.h) {
      this.fb = createPixelBuffer(next.w, next.h);
      this.copyFromRoot([whole]);
      this.opts.logger.info('window resized', { rect: fmt(next) });
      this.events?.resize(next.w, next.h);
    } else {
      this.copyFromRoot([whole]);
      this.events?.damage([whole]);
    }
  }

  /** The part of `r` on the root framebuffer; the current rectangle when none is. */
  private clip(r: Rect): Rect {
    const root = this.opts.inner.framebuffer;
    return intersectRect(r, { x: 0, y: 0, w: root.width, h: root.height }) ?? this.rect;
  }

  /** Copy `rects` (window coordinates) from the root framebuffer, clipped to both buffers. */
  private copyFromRoot(rects: readonly Rect[]): void {
    const root = this.opts.inner.framebuffer;
    const fb = this.fb;
    for (const r of rects) {
      const vis = intersectRect(r, { x: 0, y: 0, w: fb.width, h: fb.height });
      const onRoot = vis && intersectRect(translateRect(vis, this.rect.x, this.rect.y), { x: 0, y: 0, w: root.width, h: root.height });
      if (!vis || !onRoot) continue;
      for (let y = onRoot.y; y < onRoot.y + onRoot.h; y++) {
        const s = (y * root.stride + onRoot.x) * 4;
        root.data.copy(fb.data, ((y - this.rect.y) * fb.stride + (onRoot.x - this.rect.x)) * 4, s, s + onRoot.w * 4);
      }
    }
  }

  keyEvent(keysym: number, down: boolean, clientId?: number): void {
    this.opts.inner.keyEvent(keysym, down, clientId);
  }

  keyCodeEvent(keysym: number, xtScancode: number, down: boolean, clientId?: number): void {
    if (this.opts.inner.keyCodeEvent) this.opts.inner.keyCodeEvent(keysym, xtScancode, down, clientId);
    else this.opts.inner.keyEvent(keysym, down, clientId);
  }

  pointerEvent(x: number, y: number, buttonMask: number, clientId?: number): void {
    const r = this.rect;
    this.opts.inner.pointerEvent(r.x + clamp(x, 0, r.w - 1), r.y + clamp(y, 0, r.h - 1), buttonMask, clientId);
  }

  setClipboard(text: string): void {
    this.opts.inner.setClipboard(text);
  }

  flushInput(): Promise<void> {
    return this.opts.inner.flushInput();
  }

  /** The window's size belongs to its application: SetDesktopSize is prohibited (status 1). */
  async resize(): Promise<number> {
    return 1;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.starting?.catch(() => {});
    await this.conn?.close().catch(() => {});
    await this.opts.inner.stop();
  }
}

function sameRect(a: Rect | null, b: Rect): boolean {
  return a !== null && a.x === b.x && a.y === b.y && a.w === b.w && a.h === b.h;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function fmt(r: Rect): string {
  return `${r.w}x${r.h}+${r.x}+${r.y}`;
}
