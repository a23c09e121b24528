/**
 * The tests' independent check of a motion copy: the detector proves its copies while it
 * builds them, and these tests judge that proof with a plain comparison of their own.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { copyInFrame, type FrameCopy } from '../../capture/frame-copy.js';

/**
 * Exact check, one native `Buffer.compare` (memcmp) per row: does `cur[dest]` equal
 * `prev[dest − (dx, dy)]` byte for byte? Frames must have the same size; strides may differ.
 */
export function verifyCopy(prev: PixelBuffer, cur: PixelBuffer, copy: FrameCopy): boolean {
  if (prev.width !== cur.width || prev.height !== cur.height) return false;
  if (!copyInFrame(copy, cur.width, cur.height)) return false;
  const { dest, dx, dy } = copy;
  const bytes = dest.w * 4;
  for (let y = dest.y; y < dest.y + dest.h; y++) {
    const c = (y * cur.stride + dest.x) * 4;
    const p = ((y - dy) * prev.stride + dest.x - dx) * 4;
    if (cur.data.compare(prev.data, p, p + bytes, c, c + bytes) !== 0) return false;
  }
  return true;
}
