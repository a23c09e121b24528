/**
 * Raw encoding (0): the rectangle's pixels in the client's pixel format, row after row. Every
 * client must accept it, so it is also the fallback of the encode manager. Raw has no state and
 * no size limit of its own: a full frame is one rectangle (written in row bands, `encodeRows`).
 */
import type { EncodeContext, Encoder, EncodedRects } from './encoder.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache } from './pixel-pack.js';
import { BufferPool } from './buffer-pool.js';

/** `buffers` lends the output (the session gives it back once the socket has flushed it). */
export function createRawEncoder(buffers = new BufferPool()): Encoder {
  const packerFor = packerCache('pixel');
  /** `reserve` bytes left free at the start, then the pixels. */
  const pixels = (fb: PixelBuffer, r: Rect, ctx: EncodeContext, reserve: number): Buffer => {
    const packer = packerFor(ctx.converter);
    const out = buffers.take(reserve + r.w * r.h * packer.bytesPerPixel);
    packer.packRect(fb, r, out, reserve);
    return out;
  };
  return {
    encoding: Encoding.Raw,
    rowAlign: 1,
    encode(fb, r, ctx): EncodedRects {
      const out = pixels(fb, r, ctx, 12);
      rectHeader(r.x, r.y, r.w, r.h, Encoding.Raw).copy(out, 0);
      return { count: 1, chunks: [out] };
    },
    encodeRows(fb, r, ctx): Buffer {
      return pixels(fb, r, ctx, 0);
    },
    dispose() {},
  };
}
