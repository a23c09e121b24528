/**
 * CopyRect encoding (1): "copy these pixels from (srcX, srcY) of your own framebuffer". It does
 * not read pixels, so it does not fit the Encoder interface; the encode manager calls it for
 * copy information from the update tracker (desktop `copy` events).
 */
import type { Rect } from '../../core/geometry.js';
import type { EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { ErrorCode, VncError } from '../../core/errors.js';

/** One CopyRect rectangle: `dest` gets the pixels at (`srcX`, `srcY`) of the same size. */
export function encodeCopyRect(dest: Rect, srcX: number, srcY: number): EncodedRects {
  for (const v of [dest.x, dest.y, dest.w, dest.h, srcX, srcY]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new VncError(ErrorCode.TooLarge, `CopyRect field ${v} outside 0..65535`);
    }
  }
  const b = Buffer.allocUnsafe(16);
  rectHeader(dest.x, dest.y, dest.w, dest.h, Encoding.CopyRect).copy(b, 0);
  b.writeUInt16BE(srcX, 12);
  b.writeUInt16BE(srcY, 14);
  return { count: 1, chunks: [b] };
}
