/**
 * One MIT-SHM segment that the X server writes screen pixels into, read back with `pread`
 * straight into a destination buffer of our choosing.
 *
 * Why not the `x11` package's `createSegment()`: its segment object always reads back into its
 * own internal buffer, which would cost an extra 8 MB copy per 1080p frame. We reuse its wire
 * requests (`AttachFd`, `GetImage`, `Detach`) and its `usable()` probe, but own the backing
 * file: an unlinked file on /dev/shm, so it disappears once both our fd and the server's
 * mapping are gone, even if this process crashes.
 */
import { closeSync, ftruncateSync, openSync, readSync, readvSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ErrorCode, VncError } from '../core/errors.js';
import type { X11Connection } from '../core/x11-connection.js';
import type { CaptureBand } from './row-bands.js';

const SHM_DIR = '/dev/shm';
const ZPIXMAP = 2;
/** Linux's IOV_MAX: buffers per readv call. */
const MAX_IOV = 1024;

/** What ShmGetImage reports about the image it wrote. */
export interface ImageReply {
  readonly depth: number;
  readonly visual: number;
}

export class ShmSegment {
  private fd: number | null;
  private attached = false;

  private constructor(
    private readonly conn: X11Connection,
    private readonly shm: any,
    readonly xid: number,
    fd: number,
    /** Capacity in bytes. */
    readonly size: number,
  ) {
    this.fd = fd;
  }

  /** Creates and attaches a segment of `size` bytes. The caller must have checked `Shm.usable()`. */
  static async create(conn: X11Connection, shm: any, size: number): Promise<ShmSegment> {
    const path = `${SHM_DIR}/vnc-runner-${process.pid}-${randomBytes(6).toString('hex')}`;
    let fd: number;
    try {
      fd = openSync(path, 'wx+', 0o600);
    } catch (err) {
      throw new VncError(ErrorCode.Desktop, `MIT-SHM: cannot create ${path}`, { cause: err });
    }
    try {
      ftruncateSync(fd, size);
    } catch (err) {
      closeSync(fd);
      throw new VncError(ErrorCode.Desktop, `MIT-SHM: cannot size segment to ${size} bytes`, { cause: err });
    } finally {
      // Anonymous from here on: only open descriptors (ours, then the server's mapping) keep it.
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
    const xid = conn.X.AllocID();
    const seg = new ShmSegment(conn, shm, xid, fd, size);
    try {
      await conn.request((cb) => shm.AttachFd(xid, fd, false, cb), { what: 'ShmAttachFd' });
      seg.attached = true;
    } catch (err) {
      seg.releaseLocal();
      throw err;
    }
    return seg;
  }

  /**
   * Reads bands of `drawable` as ZPixmap into the same place of `dest`, a `frameWidth`-wide
   * frame of 4-byte pixels whose rows are `rowBytes` long. Each band is one ShmGetImage into
   * the segment at its first row's frame offset (`y * rowBytes`): a band of whole rows lands
   * exactly as in a full frame and is read back with one pread; a narrower band lands as a packed
   * `w`-wide image (which fits in its own rows' part of the segment, so bands never overlap)
   * and is scattered into its rows of `dest` with one preadv. All requests are in flight at
   * once, so the bands cost one round trip. Bands must be disjoint in rows and inside a frame
   * that fits the segment. Rejects if the server reports a different size (so a visual or size
   * change never silently yields shifted pixels).
   */
  async getBands(drawable: number, frameWidth: number, rowBytes: number, bands: readonly CaptureBand[], dest: Buffer): Promise<ImageReply[]> {
    const replies = await Promise.all(bands.map((b) => this.requestBand(drawable, b, b.y * rowBytes, b.w === frameWidth ? rowBytes : b.w * 4)));
    for (const b of bands) {
      if (b.w === frameWidth) this.readInto(b.y * rowBytes, b.h * rowBytes, dest);
      else this.scatterInto(b, b.y * rowBytes, rowBytes, dest);
    }
    return replies;
  }

  /** One ShmGetImage of `band` into the segment at `offset`, rows `bandRowBytes` apart. */
  private async requestBand(drawable: number, band: CaptureBand, offset: number, bandRowBytes: number): Promise<ImageReply> {
    if (this.fd === null || !this.attached) throw new VncError(ErrorCode.Desktop, 'MIT-SHM segment is detached');
    const expectedBytes = band.h * bandRowBytes;
    if (offset < 0 || offset + expectedBytes > this.size) throw new VncError(ErrorCode.TooLarge, `image of ${expectedBytes} bytes at ${offset} exceeds the segment`);
    const rep = await this.conn.request<{ depth: number; visual: number; size: number }>(
      (cb) => this.shm.GetImage(drawable, band.x, band.y, band.w, band.h, 0xffffffff, ZPIXMAP, this.xid, offset, cb),
      { what: 'ShmGetImage' },
    );
    if (rep.size !== expectedBytes) {
      throw new VncError(ErrorCode.Desktop, `ShmGetImage returned ${rep.size} bytes, expected ${expectedBytes}`);
    }
    return { depth: rep.depth, visual: rep.visual };
  }

  /** Copies `bytes` from the segment at `offset` into the same offset of `dest` (pread). */
  private readInto(offset: number, bytes: number, dest: Buffer): void {
    if (this.fd === null) throw new VncError(ErrorCode.Desktop, 'MIT-SHM segment is closed');
    let done = 0;
    while (done < bytes) {
      const n = readSync(this.fd, dest, offset + done, bytes - done, offset + done);
      if (n <= 0) throw new VncError(ErrorCode.Desktop, `MIT-SHM: short read at ${done} of ${bytes} bytes`);
      done += n;
    }
  }

  /**
   * Copies the packed image of `band` (rows of `band.w` pixels) from the segment at `offset`
   * into its rows of `dest` (preadv, up to MAX_IOV rows per call).
   */
  private scatterInto(band: CaptureBand, offset: number, rowBytes: number, dest: Buffer): void {
    if (this.fd === null) throw new VncError(ErrorCode.Desktop, 'MIT-SHM segment is closed');
    const bytes = band.w * 4;
    const rows: Buffer[] = [];
    for (let y = band.y; y < band.y + band.h; y++) {
      const at = y * rowBytes + band.x * 4;
      rows.push(dest.subarray(at, at + bytes));
    }
    for (let i = 0; i < rows.length; i += MAX_IOV) {
      const part = rows.slice(i, i + MAX_IOV);
      const want = part.length * bytes;
      const n = readvSync(this.fd, part, offset + i * bytes);
      // A short read from a tmpfs file means the segment shrank under us: never silently keep
      // stale rows.
      if (n !== want) throw new VncError(ErrorCode.Desktop, `MIT-SHM: short read of ${n} of ${want} bytes`);
    }
  }

  /** Detaches from the server and closes our descriptor. Idempotent; never rejects. */
  async destroy(): Promise<void> {
    if (this.attached && !this.conn.closed) {
      this.attached = false;
      try {
        await this.conn.request((cb) => this.shm.Detach(this.xid, cb), { what: 'ShmDetach', timeoutMs: 2000 });
        this.conn.X.ReleaseID(this.xid);
      } catch {
        // The server frees the mapping with our connection anyway.
      }
    }
    this.attached = false;
    this.releaseLocal();
  }

  private releaseLocal(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = null;
    }
  }
}
