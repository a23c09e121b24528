/**
 * 32-bit hashes of scanline spans, the cheap fingerprint motion detection uses to find which
 * rows of the previous frame reappear, shifted, in the current one (design-notes §4.5).
 *
 * A hash equality is only ever a *candidate*: every match is verified by an exact comparison
 * before it is reported, so collisions cost time, never correctness.
 */
import type { PixelBuffer } from '../core/pixel-buffer.js';

/** FNV-1a style multiplier (odd, well mixed in the low bits). */
const PRIME = 0x01000193;
const SEED = 0x811c9dc5 | 0;

/**
 * Hash of `frame` row `y`, pixels `[x1, x2)`. All 32 bits of each pixel count, as they do in the
 * tile diff and the verification (a copy is only reported when the bytes are identical).
 */
export function hashRowSpan(frame: PixelBuffer, y: number, x1: number, x2: number): number {
  const p = frame.pixels;
  let h = SEED;
  for (let i = y * frame.stride + x1, end = y * frame.stride + x2; i < end; i++) {
    h = Math.imul(h ^ p[i]!, PRIME);
  }
  // Final avalanche so that nearby inputs do not give nearby hashes.
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h | 0;
}

/** Whether row `y` over `[x1, x2)` is one flat colour (matches any shift: useless as evidence). */
export function isFlatSpan(frame: PixelBuffer, y: number, x1: number, x2: number): boolean {
  const p = frame.pixels;
  const base = y * frame.stride;
  const first = p[base + x1]!;
  for (let i = base + x1 + 1, end = base + x2; i < end; i++) if (p[i]! !== first) return false;
  return true;
}

/**
 * Hashes rows `[y1, y2)` of `frame` over the column span `[x1, x2)` into `out[y - y1]`, and
 * marks flat rows in `flat[y - y1]` (1 = flat). Both arrays must hold `y2 - y1` entries.
 */
export function hashRows(
  frame: PixelBuffer,
  x1: number,
  x2: number,
  y1: number,
  y2: number,
  out: Int32Array,
  flat: Uint8Array,
): void {
  if (y2 - y1 > out.length || y2 - y1 > flat.length) throw new RangeError('hashRows: output arrays too short');
  const p = frame.pixels;
  for (let y = y1; y < y2; y++) {
    const base = y * frame.stride;
    const first = p[base + x1]!;
    let h = SEED;
    let isFlat = 1;
    for (let i = base + x1, end = base + x2; i < end; i++) {
      const v = p[i]!;
      if (v !== first) isFlat = 0;
      h = Math.imul(h ^ v, PRIME);
    }
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    out[y - y1] = h | 0;
    flat[y - y1] = isFlat;
  }
}
