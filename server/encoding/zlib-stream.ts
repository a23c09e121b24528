/**
 * A persistent deflate stream with one Z_SYNC_FLUSH per rectangle, as the Zlib, ZRLE and Tight
 * encodings require: the client keeps one inflate stream per server stream, so every rectangle's
 * bytes must continue the same stream and end on a byte boundary the client can inflate up to.
 *
 * Node offers this only asynchronously (the synchronous `_processChunk` path breaks on the second
 * call in Node 20, platform-findings §6). The stream's default flush is Z_SYNC_FLUSH, so each
 * rectangle is one `write()` and one trip to the thread pool; a `write()` followed by
 * `flush(Z_SYNC_FLUSH)` made two, and each trip costs a thread wakeup and a main-thread callback
 * (per typed key in `npm run bench`, more than the deflating). Calls may be pipelined: writes
 * are queued in call order, and every write's 'data' events arrive before its callback, so each
 * callback takes exactly the bytes produced since the previous one.
 *
 * Node bundles Chromium's zlib fork, whose match finder hashes 4 bytes instead of 3 and so
 * never finds 3-byte matches (a repeated 24-bit pixel): on pixel data it compresses about 11 %
 * worse than the system zlib the C servers link (measured on 20 MB of ZRLE tiles from the
 * bench's video scene: 15.73 MB against 14.01 MB for zlib 1.2.13 at level 2; no level,
 * memLevel, window or strategy closes the gap). pako 3 reproduces node's bytes exactly, and
 * with its `legacyHash` option (the 3-byte hash) the system zlib's, which confirms the cause,
 * but as JavaScript it takes 2.2× node's CPU on large inputs. That, not the tile choice, is
 * why our ZRLE sends more than TigerVNC's and x11vnc's on photos and video; Tight's filters
 * more than make up for it.
 */
import zlib from 'node:zlib';
import { ErrorCode, VncError } from '../../core/errors.js';
import type { BufferPool } from './buffer-pool.js';

/** Deflate levels accepted by node's zlib (0 = stored … 9 = best). */
export function clampZlibLevel(level: number): number {
  return Math.max(0, Math.min(9, Math.round(level)));
}

/**
 * Node's deflate output buffer. Each time it fills, node goes back to the thread pool (a wakeup
 * and a JS callback): with the default 16 KiB, a 300 KiB video update took 19 round trips.
 * 64 KiB cut Tight's CPU on the bench's video by ~6 % (encode loop, total process CPU); 256 KiB
 * gained little more and each stream allocates one at creation (Tight has four).
 */
const OUTPUT_CHUNK_BYTES = 64 * 1024;

/** zlib's levels 1–3 use its fast matcher, 4–9 lazy matching. */
const LEAST_LAZY_LEVEL = 4;

interface Job {
  readonly data: Uint8Array;
  readonly level: number;
  readonly resolve: (out: Buffer) => void;
  readonly reject: (err: Error) => void;
}

export class ZlibStream {
  private readonly deflate: zlib.Deflate;
  private chunks: Buffer[] = [];
  /** Jobs not yet written to the deflate stream (waiting for a level change). */
  private readonly queue: Job[] = [];
  /** Jobs written, waiting for their write callback, oldest first. */
  private readonly inFlight: Job[] = [];
  private level: number;
  /** Has data been compressed at a lazy level (≥ 4)? See `effectiveLevel`. */
  private lazyUsed = false;
  private changingLevel = false;
  /** Native operations (writes, a params change) whose callbacks have not run yet. */
  private nativePending = 0;
  private failed: Error | null = null;
  private disposed = false;

  /**
   * With a `pool`, input lent by it goes back once compressed, and output made of several zlib
   * chunks is joined into a buffer from it (given back by whoever sends it).
   */
  constructor(level: number, private readonly pool?: BufferPool) {
    this.level = clampZlibLevel(level);
    this.deflate = zlib.createDeflate({ level: this.level, chunkSize: OUTPUT_CHUNK_BYTES, flush: zlib.constants.Z_SYNC_FLUSH });
    this.deflate.on('data', (c: Buffer) => this.chunks.push(c));
    this.deflate.on('error', (err: Error) => this.fail(new VncError(ErrorCode.Closed, `zlib stream failed: ${err.message}`, { cause: err })));
  }

  /**
   * Compresses `data` as the next part of the stream and resolves with the bytes that the client
   * must inflate for it. `data` must not be modified until the promise settles (zlib reads it
   * later, on the thread pool); if it is from the stream's pool, it is given back then (on
   * success: after a failure the native side may not be done with it). A different `level`
   * applies from this call on.
   */
  compress(data: Uint8Array, level = this.level): Promise<Buffer> {
    if (this.disposed) return Promise.reject(new VncError(ErrorCode.Closed, 'zlib stream disposed'));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<Buffer>((resolve, reject) => {
      this.queue.push({ data, level: this.effectiveLevel(clampZlibLevel(level)), resolve, reject });
      this.pump();
    });
  }

  /**
   * The level actually used for a request of `level`. Once data went through a lazy level, a fast
   * level (1–3) becomes level 4: node's zlib (Chromium's fork) then compresses about 9 % worse
   * for good at levels 1–3 (measured: 20 photo-like bands at level 1 took 3.39 MB on a fresh
   * stream and 3.70 MB after one band at level 6; at level 4 after it, 3.35 MB for ~8 % more CPU).
   */
  private effectiveLevel(level: number): number {
    if (level >= LEAST_LAZY_LEVEL) this.lazyUsed = true;
    else if (level > 0 && this.lazyUsed) return LEAST_LAZY_LEVEL;
    return level;
  }

  /** Rejects pending calls and frees the native stream. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.fail(new VncError(ErrorCode.Closed, 'zlib stream disposed'));
    // Closing under a pending params() trips node's "zlib binding closed" assertion from its
    // callback: close once the native side is idle.
    if (this.nativePending === 0) this.deflate.close();
  }

  /** Bookkeeping for every native callback; closes a disposed stream once idle. */
  private settled(): void {
    this.nativePending--;
    if (this.disposed && this.nativePending === 0) this.deflate.close();
  }

  /**
   * Writes queued jobs. A level change waits until nothing is in flight: node's params() switches
   * the level from a flush callback of its own, and by then the Writable may already have handed
   * the next chunk to the thread pool, so changing it under pipelined writes races with the
   * compressor (seen as wrong levels and a segfault on Node 20).
   */
  private pump(): void {
    while (this.queue.length && !this.changingLevel && !this.failed) {
      const job = this.queue[0]!;
      if (job.level !== this.level) {
        if (this.inFlight.length) return; // resumed by the last write callback
        this.changingLevel = true;
        this.nativePending++;
        this.deflate.params(job.level, zlib.constants.Z_DEFAULT_STRATEGY, () => {
          this.settled();
          if (this.disposed) return;
          this.level = job.level;
          this.changingLevel = false;
          this.pump();
        });
        return;
      }
      this.queue.shift();
      this.inFlight.push(job);
      this.nativePending++;
      this.deflate.write(job.data, (err) => {
        this.settled();
        // A failed write also emits 'error', which fails every job: nothing to resolve here.
        if (!err) this.flushed(job);
      });
    }
  }

  private flushed(job: Job): void {
    // Write callbacks arrive in write order; after fail() the job is gone and nothing is sent.
    if (this.inFlight[0] !== job) return;
    this.inFlight.shift();
    this.pool?.give(job.data);
    const out = this.chunks.length === 1 ? this.chunks[0]! : this.join(this.chunks);
    this.chunks = [];
    job.resolve(out);
    if (!this.inFlight.length) this.pump();
  }

  /** One buffer of `chunks` (from the pool when there is one). */
  private join(chunks: readonly Buffer[]): Buffer {
    if (!this.pool) return Buffer.concat(chunks);
    let total = 0;
    for (const c of chunks) total += c.length;
    const out = this.pool.take(total);
    let o = 0;
    for (const c of chunks) o += c.copy(out, o);
    return out;
  }

  private fail(err: Error): void {
    this.failed ??= err;
    for (const job of [...this.inFlight, ...this.queue]) job.reject(err);
    this.inFlight.length = 0;
    this.queue.length = 0;
    this.chunks = [];
  }
}
