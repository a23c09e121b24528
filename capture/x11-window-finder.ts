/**
 * Finds the window that `--display-mode window` shows, and reads its on-screen rectangle.
 *
 * Choice, in order (the issue: "chosen by `--window-title` or the active one"):
 * 1. with a title: a viewable window whose `_NET_WM_NAME` (UTF-8), else `WM_NAME` (Latin-1),
 *    equals it; failing that, one whose title contains it, ignoring case. Several candidates:
 *    the largest on screen. A title that matches nothing finds nothing (no silent fallback:
 *    showing some other window instead would surprise, and could expose it);
 * 2. without a title: the EWMH `_NET_ACTIVE_WINDOW` of the root, when a window manager sets it
 *    and that window is viewable;
 * 3. else the largest viewable top-level window (a child of the root; without a window manager
 *    these are the application windows themselves).
 *
 * Titles live on the client window, which a reparenting window manager puts inside a frame, so
 * the title search walks the whole tree (breadth first, bounded by `maxWindows`). Every request
 * goes through `X11Connection.request`, so each has a deadline; a window that disappears while
 * we look at it (BadWindow) is simply skipped.
 */
import type { Rect } from '../core/geometry.js';
import type { X11Connection } from '../core/x11-connection.js';

/** How a window was chosen. */
export type WindowChoice = 'title' | 'active' | 'largest';

/** A window to show, with its rectangle in root coordinates (inside its border). */
export interface FoundWindow {
  readonly id: number;
  /** Its title (`_NET_WM_NAME` or `WM_NAME`), '' when it has none. */
  readonly title: string;
  readonly how: WindowChoice;
  readonly rect: Rect;
}

export interface FindWindowOptions {
  /** Window title to look for (exact, else case-insensitive substring). */
  title?: string;
  /** Most windows examined in the tree walk (default 4096): bounds the work on huge desktops. */
  maxWindows?: number;
  /** Deadline per X request (ms). Default 5000. */
  requestTimeoutMs?: number;
}

/** The predefined atom WM_NAME (Latin-1 window title). */
export const WM_NAME_ATOM = 39;
const IS_VIEWABLE = 2;
const INPUT_OUTPUT = 1;
const ANY_PROPERTY_TYPE = 0;
/** Titles longer than this (in bytes) are cut: 4 KiB is far beyond any real title. */
const MAX_TITLE_LONGS = 1024;

/**
 * The window to show, or null when none qualifies (no match for the title, or no viewable
 * top-level window at all). Rejects only when the X connection fails.
 */
export async function findWindow(conn: X11Connection, opts: FindWindowOptions = {}): Promise<FoundWindow | null> {
  const x = new WindowQueries(conn, opts.requestTimeoutMs ?? 5_000);
  if (opts.title !== undefined && opts.title !== '') return findByTitle(x, opts.title, opts.maxWindows ?? 4096);
  const active = await x.activeWindow();
  if (active !== 0) {
    const rect = await windowRect(conn, active, opts);
    if (rect) return { id: active, title: (await x.title(active)) ?? '', how: 'active', rect };
  }
  let best: FoundWindow | null = null;
  for (const id of await x.children(conn.root)) {
    const rect = await windowRect(conn, id, opts);
    if (rect && (!best || area(rect, conn) > area(best.rect, conn))) best = { id, title: '', how: 'largest', rect };
  }
  return best && { ...best, title: (await x.title(best.id)) ?? '' };
}

/**
 * The window's rectangle in root coordinates (its inside, without the border), or null when it
 * no longer exists, is not viewable, or is an InputOnly window.
 */
export async function windowRect(conn: X11Connection, id: number, opts: Pick<FindWindowOptions, 'requestTimeoutMs'> = {}): Promise<Rect | null> {
  const x = new WindowQueries(conn, opts.requestTimeoutMs ?? 5_000);
  const attrs = await x.attributes(id);
  if (!attrs || attrs.mapState !== IS_VIEWABLE || attrs.klass !== INPUT_OUTPUT) return null;
  const [geom, origin] = await Promise.all([x.geometry(id), x.rootOrigin(id)]);
  if (!geom || !origin || geom.width === 0 || geom.height === 0) return null;
  return { x: origin.x, y: origin.y, w: geom.width, h: geom.height };
}

/** The window's title (`_NET_WM_NAME`, else `WM_NAME`), '' when it has none, null when it is gone. */
export async function windowTitle(conn: X11Connection, id: number, opts: Pick<FindWindowOptions, 'requestTimeoutMs'> = {}): Promise<string | null> {
  const x = new WindowQueries(conn, opts.requestTimeoutMs ?? 5_000);
  if (!(await x.attributes(id))) return null;
  return (await x.title(id)) ?? '';
}

async function findByTitle(x: WindowQueries, title: string, maxWindows: number): Promise<FoundWindow | null> {
  const conn = x.conn;
  const want = title.toLowerCase();
  const exact: FoundWindow[] = [];
  const partial: FoundWindow[] = [];
  // Breadth first: with a window manager the client window (which carries the title) is one
  // or two levels below its frame.
  let level = await x.children(conn.root);
  let seen = 0;
  while (level.length > 0 && seen < maxWindows) {
    const batch = level.slice(0, maxWindows - seen);
    seen += batch.length;
    const titles = await Promise.all(batch.map((id) => x.title(id)));
    for (let i = 0; i < batch.length; i++) {
      const t = titles[i];
      if (t === null || t === undefined) continue;
      const isExact = t === title;
      if (!isExact && !t.toLowerCase().includes(want)) continue;
      const rect = await windowRect(conn, batch[i]!);
      if (rect) (isExact ? exact : partial).push({ id: batch[i]!, title: t, how: 'title', rect });
    }
    const next = await Promise.all(batch.map((id) => x.children(id)));
    level = next.flat();
  }
  const pool = exact.length > 0 ? exact : partial;
  let best: FoundWindow | null = null;
  for (const w of pool) if (!best || area(w.rect, conn) > area(best.rect, conn)) best = w;
  return best;
}

/** Visible area: the part of the rectangle on the screen. */
function area(r: Rect, conn: X11Connection): number {
  const w = Math.min(r.x + r.w, conn.width) - Math.max(r.x, 0);
  const h = Math.min(r.y + r.h, conn.height) - Math.max(r.y, 0);
  return w > 0 && h > 0 ? w * h : 0;
}

/** The few core requests used here, each answering null for a window that vanished. */
class WindowQueries {
  private atoms = new Map<string, Promise<number>>();

  constructor(
    readonly conn: X11Connection,
    private readonly timeoutMs: number,
  ) {}

  async children(id: number): Promise<number[]> {
    const tree = await this.orNull<{ children: number[] }>((cb) => this.conn.X.QueryTree(id, cb), 'QueryTree');
    return tree?.children ?? [];
  }

  attributes(id: number): Promise<{ mapState: number; klass: number } | null> {
    return this.orNull((cb) => this.conn.X.GetWindowAttributes(id, cb), 'GetWindowAttributes');
  }

  geometry(id: number): Promise<{ width: number; height: number } | null> {
    return this.orNull((cb) => this.conn.X.GetGeometry(id, cb), 'GetGeometry');
  }

  async rootOrigin(id: number): Promise<{ x: number; y: number } | null> {
    const r = await this.orNull<{ destX: number; destY: number }>(
      (cb) => this.conn.X.TranslateCoordinates(id, this.conn.root, 0, 0, cb),
      'TranslateCoordinates',
    );
    return r && { x: r.destX, y: r.destY };
  }

  /** `_NET_ACTIVE_WINDOW` of the root, 0 when unset (no EWMH window manager). */
  async activeWindow(): Promise<number> {
    const atom = await this.atom('_NET_ACTIVE_WINDOW');
    const prop = await this.property(this.conn.root, atom, 1);
    return prop && prop.format === 32 && prop.data.length >= 4 ? prop.data.readUInt32LE(0) : 0;
  }

  /** `_NET_WM_NAME` (UTF-8), else `WM_NAME` (Latin-1); null when the window has neither or is gone. */
  async title(id: number): Promise<string | null> {
    const net = await this.property(id, await this.atom('_NET_WM_NAME'), MAX_TITLE_LONGS);
    if (net && net.format === 8 && net.data.length > 0) return net.data.toString('utf8');
    const wm = await this.property(id, WM_NAME_ATOM, MAX_TITLE_LONGS);
    if (wm && wm.format === 8 && wm.data.length > 0) return wm.data.toString('latin1');
    return null;
  }

  private atom(name: string): Promise<number> {
    let a = this.atoms.get(name);
    if (!a) {
      a = this.conn.request<number>((cb) => this.conn.X.InternAtom(false, name, cb), { what: `InternAtom ${name}`, timeoutMs: this.timeoutMs });
      this.atoms.set(name, a);
    }
    return a;
  }

  private property(id: number, atom: number, longs: number): Promise<{ format: number; data: Buffer } | null> {
    return this.orNull((cb) => this.conn.X.GetProperty(0, id, atom, ANY_PROPERTY_TYPE, 0, longs, cb), 'GetProperty');
  }

  /** Runs a request; an X protocol error (the window is gone) becomes null, anything else rejects. */
  private async orNull<T>(fn: (cb: (err: unknown, result?: T) => boolean) => void, what: string): Promise<T | null> {
    try {
      return await this.conn.request<T>(fn, { what, timeoutMs: this.timeoutMs });
    } catch (err) {
      if (this.conn.closed || !isXProtocolError(err)) throw err;
      return null;
    }
  }
}

/** X errors carry a numeric `error` code (BadWindow = 3, BadDrawable = 9, …) in the cause. */
function isXProtocolError(err: unknown): boolean {
  const cause = (err as { cause?: { error?: unknown } } | undefined)?.cause;
  return typeof cause?.error === 'number';
}
