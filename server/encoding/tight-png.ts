/**
 * TightPNG encoding (-260), noVNC's variant of Tight: FillCompression, JpegCompression (when the
 * client sent a quality level) or PngCompression; BasicCompression is forbidden (noVNC throws
 * "BasicCompression received in TightPNG rect"). There is no zlib state: PNG and JPEG come from
 * sharp, and the browser decodes them natively.
 */
import type { Encoder, EncodeContext, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache, type PixelPacker } from './pixel-pack.js';
import { splitRect, MAX_PIECE_AREA } from './split.js';
import { CompletionOrder } from './ordered.js';
import { TIGHT_FILL, TIGHT_JPEG, TIGHT_MAX_WIDTH, TIGHT_PNG, compactLength, encodeJpeg, encodePng, jpegAllowed, toRgb } from './tight-common.js';
import { Palette, analyseColours, isSolidArea } from './palette.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

export const DEFAULT_PNG_COMPRESS_LEVEL = 6;

export function createTightPngEncoder(): Encoder {
  const packerFor = packerCache('tpixel');
  const order = new CompletionOrder();
  const palette = new Palette(256);

  function encodePiece(fb: PixelBuffer, p: Rect, ctx: EncodeContext, packer: PixelPacker): Buffer[] | Promise<Buffer[]> {
    const hdr = rectHeader(p.x, p.y, p.w, p.h, Encoding.TightPNG);
    const c = fb.pixels[p.y * fb.stride + p.x]!;
    if (isSolidArea(fb.pixels, fb.stride, p.x, p.y, p.w, p.h, c)) {
      const b = Buffer.allocUnsafe(1 + packer.bytesPerPixel);
      b[0] = TIGHT_FILL;
      packer.pack(c, b, 1);
      return [hdr, b];
    }
    const rgb = toRgb(fb, p);
    // JPEG only for continuous-tone pieces: palette-like content (text, UI) stays lossless PNG.
    const photo = jpegAllowed(ctx.qualityLevel, ctx.converter.format.bitsPerPixel) &&
      analyseColours(fb.pixels, fb.stride, p.x, p.y, p.w, p.h, 96, palette) < 0;
    if (photo) ctx.onLossy?.(p);
    const image = photo
      ? encodeJpeg(rgb, p.w, p.h, ctx.qualityLevel!)
      : encodePng(rgb, p.w, p.h, ctx.compressLevel ?? DEFAULT_PNG_COMPRESS_LEVEL);
    return image.then((data) => [hdr, Buffer.from([photo ? TIGHT_JPEG : TIGHT_PNG]), compactLength(data.length), data]);
  }

  return {
    encoding: Encoding.TightPNG,
    encode(fb, r, ctx): EncodedRects | Promise<EncodedRects> {
      const packer = packerFor(ctx.converter);
      const parts = splitRect(r, MAX_PIECE_AREA, TIGHT_MAX_WIDTH).map((p) => encodePiece(fb, p, ctx, packer));
      if (order.idle && parts.every((x) => Array.isArray(x))) {
        return { count: parts.length, chunks: (parts as Buffer[][]).flat() };
      }
      return order.then(Promise.all(parts).then((list) => ({ count: list.length, chunks: list.flat() })));
    },
    dispose() {},
  };
}
