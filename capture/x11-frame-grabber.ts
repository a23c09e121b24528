/**
 * Reads the whole root window into a BGRX PixelBuffer.
 *
 * Two paths, same bytes (verified by the integration tests):
 * - MIT-SHM when the connection can attach a segment (`Shm.usable()`): about 1 ms per 1080p
 *   frame; one segment sized for the screen is reused until the size changes.
 * - core GetImage otherwise (remote display, no /dev/shm, `shm: false`): 6–11 ms per 1080p
 *   frame, read in bands so no single reply exceeds `maxReplyBytes`.
 *
 * The grabber never allocates a frame buffer itself: the caller passes the destination, so it
 * can double-buffer without copies.
 */
import { ErrorCode, VncError, isVncError } from '../core/errors.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';
import type { X11Connection } from '../core/x11-connection.js';
import { rootPixelLayout, type RootPixelLayout } from './x11-pixel-layout.js';
import type { CaptureBand } from './row-bands.js';
import { ShmSegment } from './x11-shm-segment.js';

const ZPIXMAP = 2;
/** X error code of BadMatch: GetImage of an area outside the (shrunk) root. */
const BAD_MATCH = 8;
/** The X protocol carries window sizes in 16 bits. */
const MAX_SIDE = 32767;

export interface X11FrameGrabberOptions {
  /** Try MIT-SHM first (default true). False forces core GetImage. */
  useShm?: boolean;
  /**
   * Upper bound of one core GetImage reply, in bytes (default 1 MiB). Bounds the memory the
   * `x11` package assembles per reply and lets the event loop breathe between bands; at 1080p
   * the band size made no measurable difference between 256 KiB and 16 MiB.
   */
  maxReplyBytes?: number;
}

export type GrabMethod = 'shm' | 'getimage';

export class X11FrameGrabber {
  private segment: ShmSegment | null = null;
  private closed = false;

  private constructor(
    private readonly conn: X11Connection,
    private readonly layout: RootPixelLayout,
    private shm: any | null,
    private readonly maxReplyBytes: number,
    private w: number,
    private h: number,
  ) {}

  /**
   * Prepares a grabber for the root of `conn` at its current size (GetGeometry, not the setup
   * block, because RANDR may have changed it). Throws `VNC_ERR_DESKTOP` for a visual that is
   * not BGRX-compatible.
   */
  static async create(conn: X11Connection, opts: X11FrameGrabberOptions = {}): Promise<X11FrameGrabber> {
    const layout = rootPixelLayout(conn.display, conn.screen);
    const { width, height } = await rootSize(conn);
    let shm: any | null = null;
    if (opts.useShm !== false) {
      try {
        const ext = await conn.require('shm');
        const usable = await conn.request<boolean>((cb) => ext.usable(cb), { what: 'MIT-SHM probe' });
        if (usable) shm = ext;
      } catch {
        // No MIT-SHM on this server: the core path below works everywhere.
      }
    }
    const maxReplyBytes = Math.max(64 * 1024, opts.maxReplyBytes ?? 1024 * 1024);
    const g = new X11FrameGrabber(conn, layout, shm, maxReplyBytes, width, height);
    if (shm) {
      try {
        g.segment = await ShmSegment.create(conn, shm, g.frameBytes());
      } catch {
        // The probe attached a 4 KiB segment but this size failed (e.g. /dev/shm too small).
        g.detachShm();
      }
    }
    return g;
  }

  get method(): GrabMethod {
    return this.segment ? 'shm' : 'getimage';
  }

  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  /**
   * Captures the whole root into `dest`, which must be exactly `width`×`height` with
   * stride == width. Rejects with `VNC_ERR_DESKTOP` if the X server refuses (e.g. the screen
   * shrank since the last `resize`): the caller should re-read the size then.
   */
  async grab(dest: PixelBuffer): Promise<void> {
    if (this.closed) throw new VncError(ErrorCode.Desktop, 'frame grabber is closed');
    if (dest.width !== this.w || dest.height !== this.h || dest.stride !== this.w) {
      throw new VncError(
        ErrorCode.Desktop,
        `destination ${dest.width}x${dest.height}/${dest.stride} does not match the screen ${this.w}x${this.h}`,
      );
    }
    if (!(await this.grabShm(dest, [{ x: 0, y: 0, w: this.w, h: this.h }]))) await this.grabCore(dest);
  }

  /**
   * Captures only `bands` (disjoint in rows, inside the screen) into the same place of `dest`
   * (same geometry rules as `grab`); other pixels of `dest` are left as they were. All bands
   * are requested at once, so several cost one round trip. Falls back to a full grab without
   * MIT-SHM (core GetImage of a band is no cheaper per byte, and this keeps one code path).
   */
  async grabBands(dest: PixelBuffer, bands: readonly CaptureBand[]): Promise<void> {
    const inside = bands.length > 0 && bands.every((b) => b.y >= 0 && b.h > 0 && b.y + b.h <= this.h && b.x >= 0 && b.w > 0 && b.x + b.w <= this.w);
    if (!this.segment || !inside) return this.grab(dest);
    if (dest.width !== this.w || dest.height !== this.h || dest.stride !== this.w) return this.grab(dest);
    if (!(await this.grabShm(dest, bands))) await this.grabCore(dest);
  }

  /**
   * Reads `bands` of the root into `dest` through the MIT-SHM segment. False when there is no
   * segment or it stopped working (it is then dropped; the caller reads with core GetImage).
   */
  private async grabShm(dest: PixelBuffer, bands: readonly CaptureBand[]): Promise<boolean> {
    if (!this.segment) return false;
    // A band narrower than the screen arrives packed, as rows of 4-byte pixels: so any layout
    // whose rows are padded beyond that reads whole rows.
    const packed = this.layout.bytesPerLine(1) === 4 ? bands : bands.map((b) => ({ ...b, x: 0, w: this.w }));
    try {
      const replies = await this.segment.getBands(this.conn.root, this.w, this.layout.bytesPerLine(this.w), packed, dest.data);
      for (const rep of replies) this.checkReply(rep.depth, rep.visual);
      return true;
    } catch (err) {
      // BadMatch means the screen shrank under us (the caller re-reads the size); a timeout
      // or a lost connection is not the segment's fault. Anything else (BadAccess, BadSeg,
      // /dev/shm read errors) means a segment that worked stopped working: fall back to
      // core GetImage for good rather than fail every frame.
      if (this.conn.closed || isXError(err, BAD_MATCH) || isVncError(err, ErrorCode.Timeout)) throw err;
      await this.dropShm();
      return false;
    }
  }

  /** Adopts a new screen size (after RANDR); re-creates the SHM segment if it became too small. */
  async resize(width: number, height: number): Promise<void> {
    checkSize(width, height);
    this.w = width;
    this.h = height;
    if (this.segment && this.segment.size < this.frameBytes()) {
      const old = this.segment;
      this.segment = null;
      await old.destroy();
      if (this.shm) {
        try {
          this.segment = await ShmSegment.create(this.conn, this.shm, this.frameBytes());
        } catch {
          this.detachShm();
        }
      }
    }
  }

  /** Releases the SHM segment. Does not close the connection. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dropShm();
  }

  private async grabCore(dest: PixelBuffer): Promise<void> {
    const rowBytes = this.layout.bytesPerLine(this.w);
    const bandRows = Math.max(1, Math.floor(this.maxReplyBytes / rowBytes));
    for (let y = 0; y < this.h; y += bandRows) {
      const rows = Math.min(bandRows, this.h - y);
      const rep = await this.conn.request<{ depth: number; visualId: number; data: Buffer }>(
        (cb) => this.conn.X.GetImage(ZPIXMAP, this.conn.root, 0, y, this.w, rows, 0xffffffff, cb),
        { what: 'GetImage' },
      );
      this.checkReply(rep.depth, rep.visualId);
      const bytes = rows * rowBytes;
      if (!rep.data || rep.data.length < bytes) {
        throw new VncError(ErrorCode.Desktop, `GetImage returned ${rep.data?.length ?? 0} bytes, expected ${bytes}`);
      }
      rep.data.copy(dest.data, y * rowBytes, 0, bytes);
    }
  }

  private checkReply(depth: number, visual: number): void {
    if (depth !== this.layout.depth || visual !== this.layout.visualId) {
      throw new VncError(
        ErrorCode.Desktop,
        `X image has depth ${depth} visual 0x${visual.toString(16)}, expected depth ${this.layout.depth} visual 0x${this.layout.visualId.toString(16)}`,
      );
    }
  }

  private frameBytes(): number {
    return this.layout.bytesPerLine(this.w) * this.h;
  }

  private async dropShm(): Promise<void> {
    const seg = this.segment;
    this.detachShm();
    if (seg) await seg.destroy();
  }

  private detachShm(): void {
    this.segment = null;
    this.shm = null;
  }
}

/** The root window's current size, from GetGeometry (follows RANDR changes). */
export async function rootSize(conn: X11Connection): Promise<{ width: number; height: number }> {
  const geom = await conn.request<{ width: number; height: number }>((cb) => conn.X.GetGeometry(conn.root, cb), {
    what: 'GetGeometry',
  });
  checkSize(geom.width, geom.height);
  return { width: geom.width, height: geom.height };
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) {
    throw new VncError(ErrorCode.Desktop, `invalid screen size ${width}x${height}`);
  }
}

/** Is `err` (or the X error it wraps) an X protocol error, optionally of a given code? */
export function isXError(err: unknown, code?: number): boolean {
  const cause = err instanceof VncError ? err.cause : err;
  if (!cause || typeof cause !== 'object') return false;
  const c = (cause as { error?: unknown }).error;
  return typeof c === 'number' && (code === undefined || c === code);
}
