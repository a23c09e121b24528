/**
 * Tight's gradient filter (filter id 2) for 3-byte TPIXELs: each colour byte is predicted from
 * its left, upper and upper-left neighbours (left + upper − upper-left, clamped to 0–255; zero
 * outside the rectangle) and only the difference modulo 256 is compressed. On photos, video and
 * smooth UI the residuals are small and repetitive, and zlib shrinks them far better than the
 * pixels themselves (measured in `npm run bench`: a 1080p slideshow −36 %, grainy video −47 %).
 *
 * With 8-bit channels every TPIXEL byte is one colour channel, so filtering bytes is the
 * per-channel filter of the spec whatever the channel order; decoders (TigerVNC, noVNC) invert
 * it per channel the same way. Pure.
 */
import type { Rect } from '../../core/geometry.js';

/** Bytes per TPIXEL the filter is applied to (depth 24, 8 bits per channel). */
export const GRADIENT_TPIXEL_BYTES = 3;

/**
 * Writes the filtered TPIXELs of `r` (inside the internal `0x00RRGGBB` pixels `px`, row stride
 * `stride`) into `out` (exactly r.w × r.h × 3 bytes, R, G, B residuals per pixel) and returns it.
 * Reading the pixels directly rather than packed TPIXELs halves the work: packing plus a byte
 * filter took 22 ms per 1080p photo frame, this 12 ms, with the same bytes. Throws a RangeError
 * when `out` has the wrong length.
 */
export function gradientFilter(px: Uint32Array, stride: number, r: Rect, out: Buffer): Buffer {
  const w = r.w, h = r.h;
  if (out.length !== w * h * GRADIENT_TPIXEL_BYTES) {
    throw new RangeError(`gradientFilter: ${out.length} bytes for ${w}x${h} TPIXELs`);
  }
  let o = 0;
  for (let y = 0; y < h; y++) {
    let s = (r.y + y) * stride + r.x;
    if (y === 0) {
      // First row: no upper neighbours, so the prediction is the left pixel (0 at the left edge).
      for (let x = 0, left = 0; x < w; x++, s++) {
        const v = px[s]!;
        out[o++] = ((v >>> 16) - (left >>> 16)) & 255;
        out[o++] = ((v >>> 8) - (left >>> 8)) & 255;
        out[o++] = (v - left) & 255;
        left = v;
      }
      continue;
    }
    // Left edge: left and upper-left are 0, so the prediction is the upper pixel.
    for (let x = 0, left = 0, upLeft = 0; x < w; x++, s++) {
      const v = px[s]!, up = px[s - stride]!;
      let p = ((left >>> 16) & 255) + ((up >>> 16) & 255) - ((upLeft >>> 16) & 255);
      out[o++] = ((v >>> 16) - (p < 0 ? 0 : p > 255 ? 255 : p)) & 255;
      p = ((left >>> 8) & 255) + ((up >>> 8) & 255) - ((upLeft >>> 8) & 255);
      out[o++] = ((v >>> 8) - (p < 0 ? 0 : p > 255 ? 255 : p)) & 255;
      p = (left & 255) + (up & 255) - (upLeft & 255);
      out[o++] = (v - (p < 0 ? 0 : p > 255 ? 255 : p)) & 255;
      left = v;
      upLeft = up;
    }
  }
  return out;
}
