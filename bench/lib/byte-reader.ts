/**
 * Exact-length reads from a socket with deadlines, for the benchmark's RFB client. Large bodies
 * can be skipped chunk by chunk without ever being assembled (a Raw 1080p frame is 8 MB and the
 * benchmark only needs to know when its last byte arrived).
 */
import type { Readable } from 'node:stream';
import { ErrorCode, VncError } from '../../core/errors.js';

export class ByteReader {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private length = 0;
  private waiter: (() => void) | null = null;
  private ended: Error | null = null;
  /** Total bytes received so far. */
  received = 0;

  /** `source` is a socket (or any readable byte stream, e.g. in tests). */
  constructor(socket: Readable) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.length += c.length;
      this.received += c.length;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended ??= new VncError(ErrorCode.Closed, 'connection closed by the server');
      this.waiter?.();
    });
    socket.on('error', (e) => {
      this.ended ??= new VncError(ErrorCode.Closed, `socket error: ${e.message}`, { cause: e });
      this.waiter?.();
    });
  }

  /** Bytes buffered and not yet consumed. */
  get available(): number {
    return this.length;
  }

  /** Waits until at least `n` bytes are buffered or `deadline` (performance.now() ms) passes. */
  private async need(n: number, deadline: number): Promise<void> {
    while (this.length < n) {
      if (this.ended) throw this.ended;
      const left = deadline - performance.now();
      if (left <= 0) throw new VncError(ErrorCode.Timeout, `timed out waiting for ${n} bytes from the server (have ${this.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.waiter = null;
          resolve();
        }, left);
        this.waiter = () => {
          clearTimeout(t);
          this.waiter = null;
          resolve();
        };
      });
    }
  }

  /** Resolves true once a byte is buffered, false if `deadline` passes first; throws if closed. */
  async waitForData(deadline: number): Promise<boolean> {
    try {
      await this.need(1, deadline);
      return true;
    } catch (err) {
      if (err instanceof VncError && err.code === ErrorCode.Timeout) return false;
      throw err;
    }
  }

  /** Reads exactly `n` bytes (a copy only when they span chunks). */
  async read(n: number, deadline: number): Promise<Buffer> {
    await this.need(n, deadline);
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.consume(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const take = Math.min(n - off, c.length - this.head);
      c.copy(out, off, this.head, this.head + take);
      off += take;
      this.consume(take);
    }
    return out;
  }

  async u8(deadline: number): Promise<number> {
    return (await this.read(1, deadline))[0]!;
  }

  /** Discards exactly `n` bytes as they arrive, without assembling them. */
  async skip(n: number, deadline: number): Promise<void> {
    let left = n;
    while (left > 0) {
      await this.need(1, deadline);
      const take = Math.min(left, this.length);
      this.consume(take);
      left -= take;
    }
  }

  private consume(n: number): void {
    this.length -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const rest = c.length - this.head;
      if (n < rest) {
        this.head += n;
        return;
      }
      n -= rest;
      this.chunks.shift();
      this.head = 0;
    }
  }
}
