/**
 * Encodes an update without blocking the event loop for long. A full 1080p frame costs tens of
 * milliseconds of synchronous work (colour analysis, packing) before zlib/JPEG run on the
 * thread pool; done in one go, every client's input would wait behind it. Large updates are
 * therefore encoded from a private snapshot of the changed pixels (so the desktop may keep
 * capturing meanwhile) in slices of bounded area, yielding to the event loop between slices.
 * With Raw and Hextile a large rectangle's slices are bands of one rectangle (`rowWriter`), as
 * x11vnc sends a full frame; other encodings bound their pieces anyway.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Rect } from '../../core/geometry.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { EncodeContext, EncodedRects } from '../encoding/encoder.js';
import type { EncodeManager } from '../encoding/encode-manager.js';
import { splitRect } from '../encoding/split.js';

/** Updates up to this many pixels are encoded in one synchronous go (cheap enough). */
export const SLICE_PIXELS = 128 * 1024;

/** A snapshot unused for this long is freed (an idle viewer should not hold 8 MB). */
export const SNAPSHOT_IDLE_RELEASE_MS = 2000;

/**
 * The private copy a large update is encoded from. One update is encoded at a time per session,
 * so one buffer per session serves them all: allocating a fresh zero-filled frame per update
 * (8 MB at 1080p) cost more main-thread time than the JPEG calls of a 30 fps video (measured
 * with `BENCH_CPU_PROF` in the bench's video scene). Only the copied rectangles are valid. The
 * buffer is freed `SNAPSHOT_IDLE_RELEASE_MS` after the last update (`idle`), so sessions that
 * are not streaming large changes keep no copy.
 */
export class SnapshotBuffer {
  private buffer: PixelBuffer | null = null;
  private releaseTimer: NodeJS.Timeout | null = null;

  /** `fb`'s pixels inside `rects`, in a buffer of `fb`'s geometry owned by this object. */
  copy(fb: PixelBuffer, rects: readonly Rect[]): PixelBuffer {
    this.cancelRelease();
    let snap = this.buffer;
    if (!snap || snap.width !== fb.width || snap.height !== fb.height || snap.stride !== fb.stride) {
      snap = this.buffer = createPixelBuffer(fb.width, fb.height, fb.stride);
    }
    for (const r of rects) {
      for (let y = r.y; y < r.y + r.h; y++) {
        const start = (y * fb.stride + r.x) * 4;
        fb.data.copy(snap.data, start, start, start + r.w * 4);
      }
    }
    return snap;
  }

  /** An update finished: free the buffer unless another one starts soon. */
  idle(): void {
    if (!this.buffer || this.releaseTimer) return;
    this.releaseTimer = setTimeout(() => this.release(), SNAPSHOT_IDLE_RELEASE_MS);
    this.releaseTimer.unref();
  }

  /** Frees the memory now (session end). */
  release(): void {
    this.cancelRelease();
    this.buffer = null;
  }

  private cancelRelease(): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
  }
}

export async function encodeInSlices(
  encoder: EncodeManager,
  fb: PixelBuffer,
  rects: readonly Rect[],
  ctx: EncodeContext,
  isAborted: () => boolean,
  snapshot: SnapshotBuffer,
): Promise<EncodedRects> {
  let area = 0;
  for (const r of rects) area += r.w * r.h;
  if (area <= SLICE_PIXELS) return encoder.encodeRegion(fb, rects, ctx);
  const src = snapshot.copy(fb, rects);
  const chunks: Buffer[] = [];
  let count = 0;
  let batch: Rect[] = [];
  let batchArea = 0;
  const flush = async () => {
    const e = await encoder.encodeRegion(src, batch, ctx);
    count += e.count;
    chunks.push(...e.chunks);
    batch = [];
    batchArea = 0;
    await yieldToEventLoop();
  };
  for (const r of rects) {
    // Raw and Hextile: a large rectangle stays one rectangle, written band by band.
    const writer = r.w * r.h > SLICE_PIXELS ? encoder.rowWriter(src, r, ctx) : null;
    if (writer) {
      if (batch.length) await flush();
      if (isAborted()) return { count, chunks };
      const { rect: w, rowAlign } = writer;
      const bandRows = Math.max(rowAlign, Math.floor(SLICE_PIXELS / w.w / rowAlign) * rowAlign);
      for (let y = w.y; y < w.y + w.h; y += bandRows) {
        const e = writer.write(src, y, Math.min(bandRows, w.y + w.h - y));
        count += e.count;
        chunks.push(...e.chunks);
        await yieldToEventLoop();
        if (isAborted()) return { count, chunks };
      }
      continue;
    }
    // Slices keep whole rows of 64 so ZRLE/Hextile tiles are not cut more than they must be.
    for (const piece of splitRect(r, SLICE_PIXELS, Math.max(r.w, 1), 64)) {
      batch.push(piece);
      batchArea += piece.w * piece.h;
      if (batchArea >= SLICE_PIXELS) {
        await flush();
        if (isAborted()) return { count, chunks };
      }
    }
  }
  if (batch.length) await flush();
  return { count, chunks };
}
