/**
 * TightPNG encoding (-260), noVNC's variant of Tight: FillCompression, JpegCompression (when the
 * client sent a quality level) or PngCompression; BasicCompression is forbidden (noVNC throws
 * "BasicCompression received in TightPNG rect"). Per piece: one colour → fill; up to 256
 * colours → a palette PNG (`png-indexed.ts`, 1–8 bits per pixel); more → JPEG when the client
 * sent a quality level and the piece looks photographic, else an RGB PNG with row filters
 * (sharp). There is no zlib state between rectangles; the browser decodes PNG and JPEG natively.
 */
import type { Encoder, EncodeContext, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache, type PixelPacker } from './pixel-pack.js';
import { splitRect, MAX_PIECE_AREA } from './split.js';
import { CompletionOrder } from './ordered.js';
import {
  TIGHT_FILL, TIGHT_JPEG, TIGHT_MAX_WIDTH, TIGHT_PNG, compactLength, encodeJpeg, encodePng, jpegAllowed, toRgb,
} from './tight-common.js';
import { looksPhotographic } from './content-class.js';
import { encodeIndexedPng } from './png-indexed.js';
import { Palette, analyseColours } from './palette.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

export const DEFAULT_PNG_COMPRESS_LEVEL = 6;

/** Pieces with more colours than this may go as JPEG (Tight's limit with a quality level). */
const JPEG_MIN_COLOURS = 96;

export function createTightPngEncoder(): Encoder {
  const packerFor = packerCache('tpixel');
  const order = new CompletionOrder();
  const palette = new Palette(256);

  function encodePiece(fb: PixelBuffer, p: Rect, ctx: EncodeContext, packer: PixelPacker): Buffer[] | Promise<Buffer[]> {
    const hdr = rectHeader(p.x, p.y, p.w, p.h, Encoding.TightPNG);
    const n = analyseColours(fb.pixels, fb.stride, p.x, p.y, p.w, p.h, 256, palette);
    if (n === 1) {
      const b = Buffer.allocUnsafe(1 + packer.bytesPerPixel);
      b[0] = TIGHT_FILL;
      packer.pack(palette.colours[0]!, b, 1);
      return [hdr, b];
    }
    const level = ctx.compressLevel ?? DEFAULT_PNG_COMPRESS_LEVEL;
    // JPEG only for continuous-tone pieces: few-coloured and drawn content stays lossless.
    const photo = jpegAllowed(ctx.qualityLevel, ctx.converter.format.bitsPerPixel) &&
      (n < 0 || n > JPEG_MIN_COLOURS) && looksPhotographic(fb.pixels, fb.stride, p);
    let image: Promise<Buffer>;
    if (photo) {
      ctx.onLossy?.(p);
      image = encodeJpeg(toRgb(fb, p), p.w, p.h, ctx.qualityLevel!);
    } else if (n > 0) {
      image = encodeIndexedPng(fb, p, palette, level);
    } else {
      image = encodePng(toRgb(fb, p), p.w, p.h, level);
    }
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
