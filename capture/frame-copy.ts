/**
 * CopyRect semantics on a frame buffer: whether a copy lies inside the frame, and applying a
 * verified copy to the comparison baseline (TigerVNC's `ComparingUpdateTracker` applies
 * copies to its old framebuffer the same way, or the next diff sees phantom changes).
 */
import type { Rect } from '../core/geometry.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';

/**
 * One detected motion, in `DesktopEvents.copy` terms: the pixels of `dest` in the new frame
 * equal the pixels at `dest` translated by (−dx, −dy) in the previous frame.
 */
export interface FrameCopy {
  readonly dest: Rect;
  readonly dx: number;
  readonly dy: number;
  /**
   * The part of `dest` the detector proved equal, pixel for pixel, to its source (its exact
   * core; `dest` may add edge rows that match but for a few pixels). Lets the caller skip
   * re-comparing it after applying the copy. Absent: nothing is known beyond what the caller
   * compares itself.
   */
  readonly verified?: Rect;
}

/** Whether `copy` lies inside a `width`×`height` frame on both ends (dest and source). */
export function copyInFrame(copy: FrameCopy, width: number, height: number): boolean {
  const { dest, dx, dy } = copy;
  if (!Number.isInteger(dest.x) || !Number.isInteger(dest.y) || !Number.isInteger(dest.w) || !Number.isInteger(dest.h)) return false;
  if (!Number.isInteger(dx) || !Number.isInteger(dy)) return false;
  if (dest.w <= 0 || dest.h <= 0) return false;
  const inside = (x: number, y: number): boolean => x >= 0 && y >= 0 && x + dest.w <= width && y + dest.h <= height;
  return inside(dest.x, dest.y) && inside(dest.x - dx, dest.y - dy);
}

/**
 * Performs the copy inside `frame`: afterwards `frame[dest]` holds what `frame[dest − (dx, dy)]`
 * held before, even when source and destination overlap (rows are visited in the order that
 * never reads an already overwritten row; `Buffer.copy` is a memmove within a row).
 * Throws a `RangeError` for a copy that leaves the frame.
 */
export function applyCopy(frame: PixelBuffer, copy: FrameCopy): void {
  if (!copyInFrame(copy, frame.width, frame.height)) throw new RangeError('applyCopy: copy outside the frame');
  const { dest, dx, dy } = copy;
  const bytes = dest.w * 4;
  const row = (y: number): void => {
    const d = (y * frame.stride + dest.x) * 4;
    const s = ((y - dy) * frame.stride + dest.x - dx) * 4;
    frame.data.copy(frame.data, d, s, s + bytes);
  };
  // Moving down (dy > 0): the source rows lie above, so write the bottom rows first.
  if (dy > 0) for (let y = dest.y + dest.h - 1; y >= dest.y; y--) row(y);
  else for (let y = dest.y; y < dest.y + dest.h; y++) row(y);
}
