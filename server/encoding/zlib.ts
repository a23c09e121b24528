/**
 * Zlib encoding (6): Raw pixels compressed on one persistent deflate stream per session, each
 * rectangle as a U32 length plus the bytes up to a sync flush (rfbproto "zlib Encoding").
 *
 * Repetitive pieces (text, UI) are compressed at least at REPETITIVE_MIN_ZLIB_LEVEL (`zlibLevelFor`).
 * Large rectangles go out as several bands of at most MAX_PIECE_AREA pixels so neither the
 * uncompressed copy nor the latency of one flush grows with the rectangle.
 */
import type { Encoder, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache } from './pixel-pack.js';
import { splitRect, MAX_PIECE_AREA } from './split.js';
import { ZlibStream } from './zlib-stream.js';
import { BufferPool } from './buffer-pool.js';
import { isRepetitive, zlibLevelFor } from './content-class.js';

/** zlib level when the client sent no compression level. */
export const DEFAULT_ZLIB_LEVEL = 6;

export interface ZlibEncoderOptions {
  /** Upper bound on pixels per emitted rectangle (default MAX_PIECE_AREA). */
  maxPieceArea?: number;
}

/** `buffers` lends the packed pixels (back once compressed) and the compressed output. */
export function createZlibEncoder(options: ZlibEncoderOptions = {}, buffers = new BufferPool()): Encoder {
  const maxArea = options.maxPieceArea ?? MAX_PIECE_AREA;
  const packerFor = packerCache('pixel');
  const stream = new ZlibStream(DEFAULT_ZLIB_LEVEL, buffers);
  return {
    encoding: Encoding.Zlib,
    encode(fb, r, ctx): Promise<EncodedRects> {
      const packer = packerFor(ctx.converter);
      const clientLevel = ctx.compressLevel ?? DEFAULT_ZLIB_LEVEL;
      // Every piece is packed now (the framebuffer may change once we return) and handed to
      // the stream in order; the flushes then complete in the same order.
      const parts = splitRect(r, maxArea, 65535).map(async (p) => {
        const raw = buffers.take(p.w * p.h * packer.bytesPerPixel);
        packer.packRect(fb, p, raw, 0);
        const z = stream.compress(raw, zlibLevelFor(isRepetitive(fb.pixels, fb.stride, p), clientLevel));
        const head = Buffer.allocUnsafe(16);
        rectHeader(p.x, p.y, p.w, p.h, Encoding.Zlib).copy(head, 0);
        const data = await z;
        head.writeUInt32BE(data.length, 12);
        return [head, data];
      });
      return Promise.all(parts).then((list) => ({ count: list.length, chunks: list.flat() }));
    },
    dispose() {
      stream.dispose();
    },
  };
}
