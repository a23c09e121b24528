/**
 * The X bell through XKB: SelectEvents(BellNotify) on the core keyboard gives one event per
 * XBell/XkbBell from any client (a terminal's `\a`, a dialog's beep), which the server turns into
 * an RFB Bell message.
 */
import type { X11Connection } from '../core/x11-connection.js';

export interface BellWatcherOptions {
  onBell: () => void;
  /**
   * Bells closer together than this are merged into one (default 100 ms), so a client beeping
   * in a loop cannot flood every VNC client with Bell messages.
   */
  minIntervalMs?: number;
}

export class BellWatcher {
  private last = -Infinity;
  private closed = false;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly conn: X11Connection,
    private readonly xkb: any,
    private readonly opts: BellWatcherOptions,
  ) {
    this.unsubscribe = conn.onEvent((ev) => {
      if (ev?.name !== 'XkbBellNotify' || this.closed) return;
      const now = performance.now();
      if (now - this.last < (this.opts.minIntervalMs ?? 100)) return;
      this.last = now;
      this.opts.onBell();
    });
  }

  /** Returns null when the server has no usable XKB. */
  static async create(conn: X11Connection, opts: BellWatcherOptions): Promise<BellWatcher | null> {
    let xkb: any;
    try {
      xkb = await conn.require('xkb');
    } catch {
      return null;
    }
    if (!xkb.supported) return null;
    const w = new BellWatcher(conn, xkb, opts);
    const bell = xkb.EventType.BellNotify;
    // selectAll for BellNotify: no per-event detail mask needed.
    xkb.SelectEvents(xkb.UseCoreKbd, bell, 0, bell, 0, 0);
    try {
      await conn.sync();
    } catch {
      w.close();
      return null;
    }
    return w;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (!this.conn.closed) {
      try {
        const bell = this.xkb.EventType.BellNotify;
        this.xkb.SelectEvents(this.xkb.UseCoreKbd, bell, bell, 0, 0, 0);
      } catch {
        // connection going away
      }
    }
  }
}
