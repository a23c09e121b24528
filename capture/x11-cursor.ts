/**
 * The pointer shape through XFIXES: SelectCursorInput on the root gives a CursorNotify each time
 * the displayed cursor changes, and GetCursorImage returns it as premultiplied ARGB, which we
 * convert to the non-premultiplied `0xAARRGGBB` the RFB Cursor pseudo-encoding path expects.
 */
import { ErrorCode, VncError } from '../core/errors.js';
import type { X11Connection } from '../core/x11-connection.js';

/**
 * A cursor image; the same shape as `CursorImage` in server/desktop.ts (capture must not import
 * server/, so it is declared here and kept structurally identical).
 */
export interface CursorImage {
  readonly width: number;
  readonly height: number;
  readonly hotX: number;
  readonly hotY: number;
  /** `width*height` pixels, non-premultiplied `0xAARRGGBB`. */
  readonly argb: Uint32Array;
}

export interface CursorWatcherOptions {
  /** Larger cursors are refused (logged by the caller through onError). Default 512. */
  maxSide?: number;
  /** A new shape (not called for the initial one, which is in `current`). */
  onCursor: (image: CursorImage) => void;
  /** A cursor could not be fetched; not fatal. */
  onError?: (err: VncError) => void;
}

/**
 * Undoes alpha premultiplication. `src` is read as little-endian uint32 pixels
 * (`0xAARRGGBB`, as XFIXES sends them on a little-endian connection).
 */
export function unpremultiplyArgb(src: Uint32Array): Uint32Array {
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const p = src[i]!;
    const a = p >>> 24;
    if (a === 255 || a === 0) {
      // Fully transparent pixels carry no colour; keep them canonical (all zero).
      out[i] = a === 0 ? 0 : p;
      continue;
    }
    const r = Math.min(255, Math.round((((p >>> 16) & 0xff) * 255) / a));
    const g = Math.min(255, Math.round((((p >>> 8) & 0xff) * 255) / a));
    const b = Math.min(255, Math.round(((p & 0xff) * 255) / a));
    out[i] = ((a << 24) | (r << 16) | (g << 8) | b) >>> 0;
  }
  return out;
}

export class CursorWatcher {
  /** The shape displayed now (fetched at creation, updated on every change). */
  current: CursorImage | null = null;
  private serial = -1;
  private fetching = false;
  private refetch = false;
  private closed = false;
  private readonly unsubscribe: () => void;

  private constructor(
    private readonly conn: X11Connection,
    private readonly fixes: any,
    private readonly opts: CursorWatcherOptions,
  ) {
    this.unsubscribe = conn.onEvent((ev) => {
      if (ev?.name === 'CursorNotify' && ev.cursorSerial !== this.serial) this.fetch();
    });
  }

  /** Returns null when the server has no XFIXES (no cursor shapes then). */
  static async create(conn: X11Connection, opts: CursorWatcherOptions): Promise<CursorWatcher | null> {
    let fixes: any;
    try {
      fixes = await conn.require('fixes');
    } catch {
      return null;
    }
    const w = new CursorWatcher(conn, fixes, opts);
    fixes.SelectCursorInput(conn.root, fixes.CursorNotifyMask.DisplayCursor);
    try {
      const img = await w.read();
      w.current = img.image;
      w.serial = img.serial;
    } catch (err) {
      opts.onError?.(err instanceof VncError ? err : new VncError(ErrorCode.Desktop, 'GetCursorImage failed', { cause: err }));
    }
    return w;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (!this.conn.closed) {
      try {
        this.fixes.SelectCursorInput(this.conn.root, 0);
      } catch {
        // connection going away
      }
    }
  }

  /** Fetches the current image; coalesces bursts of notifies into one request in flight. */
  private fetch(): void {
    if (this.closed) return;
    if (this.fetching) {
      this.refetch = true;
      return;
    }
    this.fetching = true;
    this.read()
      .then(({ image, serial }) => {
        if (this.closed || serial === this.serial) return;
        this.serial = serial;
        this.current = image;
        this.opts.onCursor(image);
      })
      .catch((err: unknown) => {
        if (!this.closed && !this.conn.closed) {
          this.opts.onError?.(err instanceof VncError ? err : new VncError(ErrorCode.Desktop, 'GetCursorImage failed', { cause: err }));
        }
      })
      .finally(() => {
        this.fetching = false;
        if (this.refetch) {
          this.refetch = false;
          this.fetch();
        }
      });
  }

  private async read(): Promise<{ image: CursorImage; serial: number }> {
    const rep = await this.conn.request<{
      width: number;
      height: number;
      xhot: number;
      yhot: number;
      cursorSerial: number;
      cursorImage: Buffer;
    }>((cb) => this.fixes.GetCursorImage(cb), { what: 'GetCursorImage' });
    const maxSide = this.opts.maxSide ?? 512;
    const { width, height } = rep;
    if (width < 1 || height < 1 || width > maxSide || height > maxSide) {
      throw new VncError(ErrorCode.TooLarge, `cursor of ${width}x${height} is outside 1..${maxSide}`);
    }
    if (rep.cursorImage.length < width * height * 4) {
      throw new VncError(ErrorCode.Desktop, `cursor image truncated: ${rep.cursorImage.length} bytes for ${width}x${height}`);
    }
    // Copy into an aligned array: the reply slice may start at any byte offset.
    const raw = new Uint32Array(width * height);
    for (let i = 0; i < raw.length; i++) raw[i] = rep.cursorImage.readUInt32LE(i * 4);
    return {
      serial: rep.cursorSerial,
      image: {
        width,
        height,
        hotX: Math.min(rep.xhot, width - 1),
        hotY: Math.min(rep.yhot, height - 1),
        argb: unpremultiplyArgb(raw),
      },
    };
  }
}
