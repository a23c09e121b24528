/**
 * Raw encoding (0): the rectangle's pixels in the client's pixel format, row after row. Every
 * client must accept it, so it is also the fallback of the encode manager. Raw has no state and
 * no size limit of its own: a full frame is one rectangle.
 */
import type { Encoder, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache } from './pixel-pack.js';

export function createRawEncoder(): Encoder {
  const packerFor = packerCache('pixel');
  return {
    encoding: Encoding.Raw,
    encode(fb, r, ctx): EncodedRects {
      const packer = packerFor(ctx.converter);
      const out = Buffer.allocUnsafe(12 + r.w * r.h * packer.bytesPerPixel);
      rectHeader(r.x, r.y, r.w, r.h, Encoding.Raw).copy(out, 0);
      packer.packRect(fb, r, out, 12);
      return { count: 1, chunks: [out] };
    },
    dispose() {},
  };
}
