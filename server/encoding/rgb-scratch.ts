/**
 * Reusable buffers for the packed RGB that JPEG and PNG images are made from (sharp reads its
 * input on the thread pool, so a buffer is busy until its image is done).
 *
 * A fresh buffer per image was most of the garbage of a JPEG stream: a 640×360 video at 30 fps
 * allocated 20 MB/s of RGB outside the JS heap, and V8 answers external memory growth with full
 * collections (15 % of the main thread in a profile of the bench's video with Tight + JPEG, 0.4 %
 * with this pool). With the faster conversion in `toRgb`, the server's CPU samples on that cell
 * fell by 11–24 % (all threads). At most `MAX_FREE` buffers are kept, and none once images stop
 * for `RGB_SCRATCH_IDLE_RELEASE_MS`, so an idle session holds no RGB copy.
 */

/** Free buffers kept for reuse (one image in flight while the next is converted). */
const MAX_FREE = 2;
/** Free buffers are dropped when no image was taken for this long. */
export const RGB_SCRATCH_IDLE_RELEASE_MS = 2000;

export class RgbScratch {
  private readonly free: Buffer[] = [];
  /** Memory allocated here (each buffer has its own ArrayBuffer, never node's shared pool). */
  private readonly ours = new WeakSet<ArrayBufferLike>();
  private releaseTimer: NodeJS.Timeout | null = null;

  /** A buffer of exactly `bytes` bytes, owned by the caller until `give()`. */
  take(bytes: number): Buffer {
    this.armRelease();
    const i = this.free.findIndex((b) => b.length >= bytes);
    let whole: Buffer;
    if (i >= 0) whole = this.free.splice(i, 1)[0]!;
    else {
      whole = Buffer.allocUnsafeSlow(bytes);
      this.ours.add(whole.buffer);
    }
    return whole.subarray(0, bytes);
  }

  /** Returns a buffer from `take()`: its image is done. */
  give(buf: Buffer): void {
    if (!this.ours.has(buf.buffer)) return;
    const whole = Buffer.from(buf.buffer);
    if (this.free.length < MAX_FREE) this.free.push(whole);
    else {
      // Keep the largest ones: a full-screen image must not reallocate because a small one came back.
      this.free.sort((a, b) => a.length - b.length);
      if (this.free[0]!.length < whole.length) this.free[0] = whole;
    }
  }

  /** Frees everything now (encoder disposed). */
  dispose(): void {
    if (this.releaseTimer) clearTimeout(this.releaseTimer);
    this.releaseTimer = null;
    this.free.length = 0;
  }

  private armRelease(): void {
    if (this.releaseTimer) this.releaseTimer.refresh();
    else {
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = null;
        this.free.length = 0;
      }, RGB_SCRATCH_IDLE_RELEASE_MS);
      this.releaseTimer.unref();
    }
  }
}
