/**
 * TightPNG encoding (-260), noVNC's variant of Tight: FillCompression, JpegCompression (when the
 * client sent a quality level) or PngCompression; BasicCompression is forbidden (noVNC throws
 * "BasicCompression received in TightPNG rect"). Per piece: one colour → fill; up to 256
 * colours → a palette PNG (`png-indexed.ts`, 1–8 bits per pixel; greyscale when all are greys);
 * more → JPEG when the client sent a quality level and the piece looks photographic, else an
 * RGB PNG with row filters (sharp); adjacent full-colour pieces of one kind go as one image
 * (`image-runs.ts`). There is no zlib state between rectangles; the browser decodes PNG and JPEG
 * natively.
 */
import type { Encoder, EncodeContext, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache, type PixelPacker } from './pixel-pack.js';
import { BufferPool } from './buffer-pool.js';
import { splitRect, MAX_PIECE_AREA } from './split.js';
import { CompletionOrder } from './ordered.js';
import { ImageRunBuilder, type ImageRun } from './image-runs.js';
import { RectParts } from './rect-parts.js';
import {
  TIGHT_FILL, TIGHT_JPEG, TIGHT_MAX_WIDTH, TIGHT_PNG, compactLength, encodeJpeg, encodePng, encodeImageRun, jpegAllowed,
} from './tight-common.js';
import { looksPhotographic, zlibLevelFor } from './content-class.js';
import { encodeIndexedPng } from './png-indexed.js';
import { Palette, analyseColours } from './palette.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

export const DEFAULT_PNG_COMPRESS_LEVEL = 6;

/** The full-colour pieces that are joined into one image per run (`image-runs.ts`). */
type RgbKind = 'jpeg' | 'png';

/** Pieces with more colours than this may go as JPEG (Tight's limit with a quality level). */
const JPEG_MIN_COLOURS = 96;

/** `buffers` lends the RGB of full-colour images (back once the image is made). */
export function createTightPngEncoder(buffers = new BufferPool()): Encoder {
  const packerFor = packerCache('tpixel');
  const order = new CompletionOrder();
  const palette = new Palette(256);

  /**
   * One piece's rectangle, or the kind of image it joins: full-colour pieces go as JPEG (when
   * photographic and allowed) or RGB PNG, joined with adjacent pieces of the same kind.
   */
  function encodePiece(fb: PixelBuffer, p: Rect, ctx: EncodeContext, packer: PixelPacker): Buffer[] | Promise<Buffer[]> | RgbKind {
    const n = analyseColours(fb.pixels, fb.stride, p.x, p.y, p.w, p.h, 256, palette);
    // JPEG only for continuous-tone pieces: few-coloured and drawn content stays lossless.
    const photo = jpegAllowed(ctx.qualityLevel, ctx.converter.format.bitsPerPixel) &&
      (n < 0 || n > JPEG_MIN_COLOURS) && looksPhotographic(fb.pixels, fb.stride, p);
    if (photo) return 'jpeg';
    if (n < 0) return 'png';
    const hdr = rectHeader(p.x, p.y, p.w, p.h, Encoding.TightPNG);
    if (n === 1) {
      const b = Buffer.allocUnsafe(1 + packer.bytesPerPixel);
      b[0] = TIGHT_FILL;
      packer.pack(palette.colours[0]!, b, 1);
      return [hdr, b];
    }
    // Palette and grey data (text, UI) is repetitive: compressed harder, as Tight's palette
    // streams are (terminal −5 % in `npm run bench` at compress level 2).
    return encodeIndexedPng(fb, p, palette, zlibLevelFor(true, ctx.compressLevel ?? DEFAULT_PNG_COMPRESS_LEVEL))
      .then((data) => [hdr, Buffer.from([TIGHT_PNG]), compactLength(data.length), data]);
  }

  return {
    encoding: Encoding.TightPNG,
    encode(fb, r, ctx): EncodedRects | Promise<EncodedRects> {
      const packer = packerFor(ctx.converter);
      const parts = new RectParts();
      const runs = new ImageRunBuilder<RgbKind>();
      const level = ctx.compressLevel ?? DEFAULT_PNG_COMPRESS_LEVEL;
      const quality = ctx.qualityLevel!;
      const imageRun = (run: ImageRun<RgbKind> | null): void => {
        if (!run) return;
        const jpeg = run.kind === 'jpeg';
        if (jpeg) ctx.onLossy?.(run.rect);
        parts.addMany(encodeImageRun(fb, run, buffers, Encoding.TightPNG, jpeg ? TIGHT_JPEG : TIGHT_PNG,
          jpeg ? (rgb, w, h) => encodeJpeg(rgb, w, h, quality) : (rgb, w, h) => encodePng(rgb, w, h, level)));
      };
      for (const p of splitRect(r, MAX_PIECE_AREA, TIGHT_MAX_WIDTH)) {
        const out = encodePiece(fb, p, ctx, packer);
        if (typeof out === 'string') imageRun(runs.add(p, out));
        else parts.add(out);
      }
      imageRun(runs.take());
      return parts.result(order);
    },
    dispose() {},
  };
}
