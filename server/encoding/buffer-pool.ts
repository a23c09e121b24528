/**
 * Reusable memory for a session's large encoder buffers: the wire bytes of Raw and Hextile, the
 * data ZRLE, Zlib and Tight hand to zlib, zlib's joined output, and the packed RGB that JPEG and
 * PNG images are made from.
 *
 * Why: every such buffer is memory outside the JS heap, and V8 answers growth of that memory with
 * full collections. A fresh buffer per band, piece or image made the heavy bench cells spend about
 * a quarter of the server's CPU in garbage collection (perf, slideshow with Hextile: 21 % of all
 * samples in V8's concurrent marking threads), besides the kernel's page faults on new memory.
 *
 * Contract: `take()` lends a buffer; the borrower calls `give()` once nothing reads or writes it
 * any more (zlib or sharp finished with it, or the socket flushed it). `give()` is idempotent and
 * ignores buffers the pool did not lend, so a caller may hand back a whole list of chunks. A
 * buffer never given back is simply collected. Memory kept free is bounded by `maxFreeBytes` and
 * released after `idleReleaseMs` without a `take()`, so an idle session holds none. Each session
 * has its own pool: a lent buffer's old contents are that session's own pixels.
 */

export interface BufferPoolOptions {
  /** Free memory kept for reuse, in bytes (default `DEFAULT_POOL_FREE_BYTES`). */
  readonly maxFreeBytes?: number;
  /** Free buffers are dropped when nothing was taken for this long (default `POOL_IDLE_RELEASE_MS`). */
  readonly idleReleaseMs?: number;
}

/**
 * Enough for a full 1080p frame's bands (17 Raw or Hextile bands of 480 KiB, lent as 512 KiB)
 * plus zlib's pieces; per session, and only while it streams large changes.
 */
export const DEFAULT_POOL_FREE_BYTES = 12 * 1024 * 1024;
export const POOL_IDLE_RELEASE_MS = 2000;
/**
 * Requests below this get an ordinary buffer: node serves small ones from its slab, and they
 * are not what drives the collector.
 */
export const POOL_MIN_BYTES = 16 * 1024;
/** Size classes per doubling: capacities are rounded up by at most 1/8, so near sizes share buffers. */
const CLASS_STEPS = 8;

/** The capacity lent for a request of `bytes`: rounded up to one of 8 steps per power of two. */
export function poolCapacity(bytes: number): number {
  const step = Math.max(POOL_MIN_BYTES, 2 ** Math.floor(Math.log2(bytes)) / CLASS_STEPS);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly maxFreeBytes: number;
  private readonly idleReleaseMs: number;
  /** Free buffers, each a whole ArrayBuffer of ours. */
  private free: Buffer[] = [];
  private freeBytes = 0;
  /** ArrayBuffers lent and not yet given back: what makes `give()` safe to repeat. */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private releaseTimer: NodeJS.Timeout | null = null;
  private disposed = false;

  constructor(options: BufferPoolOptions = {}) {
    this.maxFreeBytes = options.maxFreeBytes ?? DEFAULT_POOL_FREE_BYTES;
    this.idleReleaseMs = options.idleReleaseMs ?? POOL_IDLE_RELEASE_MS;
  }

  /** A buffer of exactly `bytes` bytes (contents undefined), the caller's until `give()`. */
  take(bytes: number): Buffer {
    if (bytes < POOL_MIN_BYTES || this.disposed) return Buffer.allocUnsafe(bytes);
    this.armRelease();
    // Best fit: the smallest free buffer that is large enough.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.length;
      if (len >= bytes && (best < 0 || len < this.free[best]!.length)) best = i;
    }
    let whole: Buffer;
    if (best >= 0) {
      whole = this.free[best]!;
      this.free[best] = this.free[this.free.length - 1]!;
      this.free.pop();
      this.freeBytes -= whole.length;
    } else {
      // Its own ArrayBuffer (never node's shared slab), so a lent buffer is identified by it.
      whole = Buffer.allocUnsafeSlow(poolCapacity(bytes));
    }
    this.lent.add(whole.buffer);
    return whole.subarray(0, bytes);
  }

  /** Hands back a buffer from `take()` (or any view of it); anything else is ignored. */
  give(buf: Uint8Array): void {
    const ab = buf.buffer;
    if (!this.lent.delete(ab) || this.disposed) return;
    this.armRelease();
    const whole = Buffer.from(ab);
    this.free.push(whole);
    this.freeBytes += whole.length;
    if (this.freeBytes > this.maxFreeBytes) {
      // Keep the largest: a full-screen update must not reallocate because small ones came back.
      this.free.sort((a, b) => b.length - a.length);
      while (this.freeBytes > this.maxFreeBytes) this.freeBytes -= this.free.pop()!.length;
    }
  }

  /** `give()` for each buffer of a list (an update's chunks, whoever allocated them). */
  giveAll(bufs: readonly Uint8Array[]): void {
    for (const b of bufs) this.give(b);
  }

  /** Free memory held now (for tests and diagnostics). */
  get freeByteCount(): number {
    return this.freeBytes;
  }

  /** Frees everything; later takes allocate plainly and gives are ignored. */
  dispose(): void {
    this.disposed = true;
    this.dropFree();
  }

  private dropFree(): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    this.free = [];
    this.freeBytes = 0;
  }

  private armRelease(): void {
    if (this.releaseTimer) this.releaseTimer.refresh();
    else {
      this.releaseTimer = setTimeout(() => this.dropFree(), this.idleReleaseMs);
      this.releaseTimer.unref();
    }
  }
}
