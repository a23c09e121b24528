/**
 * 32-bit fingerprints of scanline spans, the cheap test motion detection uses to find which
 * rows of the previous frame reappear, shifted, in the current one (design-notes §4.5).
 *
 * A hash equality is only ever a *candidate*: every match is verified by an exact comparison
 * before it is reported, so collisions (including those that column sampling makes likelier)
 * cost time, never correctness. That is also why wide rows may be hashed over every n-th pixel
 * only: at 1080p hashing every pixel of two frames would cost ~10 ms, sampling ~1 ms.
 */
import type { PixelBuffer } from '../core/pixel-buffer.js';

/** FNV-1a constants over 32-bit pixels. */
const PRIME = 0x01000193;
const SEED = 0x811c9dc5 | 0;

/** Which rows and columns {@link hashRows} reads. */
export interface RowHashSpan {
  /** Columns `[x1, x2)`, every `colStep`-th starting at `x1`. */
  x1: number;
  x2: number;
  colStep: number;
  /** Rows `[y1, y2)`, every `rowStep`-th starting at `y1`. */
  y1: number;
  y2: number;
  rowStep: number;
}

/**
 * For each hashed row `y`, writes its hash to `out[y - y1]` and 1 to `flat[y - y1]` if every
 * sampled pixel has the same value (a flat row matches any vertical shift, so it is no
 * evidence). Entries of rows skipped by `rowStep` are left untouched. All 32 bits of a pixel
 * count, as in the tile diff and the verification.
 */
export function hashRows(frame: PixelBuffer, span: RowHashSpan, out: Int32Array, flat: Uint8Array): void {
  const { x1, x2, y1, y2 } = span;
  if (y2 - y1 > out.length || y2 - y1 > flat.length) throw new RangeError('hashRows: output arrays too short');
  if (x1 < 0 || x2 > frame.width || y1 < 0 || y2 > frame.height || x2 <= x1) throw new RangeError('hashRows: span outside the frame');
  const colStep = Math.max(1, Math.floor(span.colStep));
  const rowStep = Math.max(1, Math.floor(span.rowStep));
  const p = frame.pixels;
  for (let y = y1; y < y2; y += rowStep) {
    const base = y * frame.stride;
    const first = p[base + x1]!;
    let h = SEED;
    let isFlat = 1;
    for (let i = base + x1, end = base + x2; i < end; i += colStep) {
      const v = p[i]!;
      if (v !== first) isFlat = 0;
      h = Math.imul(h ^ v, PRIME);
    }
    // Final mix so that rows differing in one pixel do not get nearby hashes.
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    out[y - y1] = h | 0;
    flat[y - y1] = isFlat;
  }
}
