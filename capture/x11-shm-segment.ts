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
import { closeSync, ftruncateSync, openSync, readSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ErrorCode, VncError } from '../core/errors.js';
import type { X11Connection } from '../core/x11-connection.js';

const SHM_DIR = '/dev/shm';
const ZPIXMAP = 2;

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
   * Reads `width`×`height` pixels at (x, y) of `drawable` as ZPixmap into the segment, then
   * copies `expectedBytes` of them into `dest` at `destOffset`. Rejects if the server reports a
   * different size (so a visual or size change never silently yields shifted pixels).
   */
  async getImage(
    drawable: number,
    x: number,
    y: number,
    width: number,
    height: number,
    expectedBytes: number,
    dest: Buffer,
    destOffset: number,
  ): Promise<{ depth: number; visual: number }> {
    if (this.fd === null || !this.attached) throw new VncError(ErrorCode.Desktop, 'MIT-SHM segment is detached');
    if (expectedBytes > this.size) throw new VncError(ErrorCode.TooLarge, `image of ${expectedBytes} bytes exceeds the segment`);
    const rep = await this.conn.request<{ depth: number; visual: number; size: number }>(
      (cb) => this.shm.GetImage(drawable, x, y, width, height, 0xffffffff, ZPIXMAP, this.xid, 0, cb),
      { what: 'ShmGetImage' },
    );
    if (rep.size !== expectedBytes) {
      throw new VncError(ErrorCode.Desktop, `ShmGetImage returned ${rep.size} bytes, expected ${expectedBytes}`);
    }
    let done = 0;
    while (done < expectedBytes) {
      const n = readSync(this.fd, dest, destOffset + done, expectedBytes - done, done);
      if (n <= 0) throw new VncError(ErrorCode.Desktop, `MIT-SHM: short read at ${done} of ${expectedBytes} bytes`);
      done += n;
    }
    return rep;
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
