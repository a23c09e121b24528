/**
 * CopyRect encoding (1): "copy these pixels from (srcX, srcY) of your own framebuffer". It does
 * not read pixels, so it does not fit the Encoder interface; the encode manager calls it for
 * copy information from the update tracker (desktop `copy` events).
 */
import type { Rect } from '../../core/geometry.js';
import type { EncodedRects } from './encoder.js';
import { Encoding } from './encodings.js';
import { ErrorCode, VncError } from '../../core/errors.js';

/** One CopyRect to apply: `dest` gets the pixels at (`srcX`, `srcY`) of the same size. */
export interface CopyRectSpec {
  readonly dest: Rect;
  readonly srcX: number;
  readonly srcY: number;
}

/**
 * CopyRect rectangles in one buffer (glyph copies come by the dozen per update; one socket
 * write each cost more than the bytes).
 */
export function encodeCopyRects(copies: readonly CopyRectSpec[]): EncodedRects {
  const b = Buffer.allocUnsafe(16 * copies.length);
  let o = 0;
  const u16 = (v: number): number => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new VncError(ErrorCode.TooLarge, `CopyRect field ${v} outside 0..65535`);
    return (o = b.writeUInt16BE(v, o));
  };
  for (const { dest, srcX, srcY } of copies) {
    u16(dest.x); u16(dest.y); u16(dest.w); u16(dest.h);
    o = b.writeInt32BE(Encoding.CopyRect, o);
    u16(srcX); u16(srcY);
  }
  return { count: copies.length, chunks: [b] };
}
