/**
 * Tight encoding (7), rfbproto "Tight Encoding". Per piece (≤ 2048 wide, ≤ 65536 pixels):
 * - 1 colour → FillCompression (control byte + one TPIXEL);
 * - 2 colours → palette filter, 1 bit per pixel, zlib stream 1;
 * - up to `maxPaletteColours` → palette filter, 1 byte per pixel, zlib stream 2;
 * - otherwise → JPEG (sharp) when the client sent a quality level, is 16/32 bpp and the piece
 *   looks photographic (`looksPhotographic`; drawn pieces keep a palette up to the lossless
 *   limit), else basic compression with the gradient filter when TPIXELs are
 *   3 bytes (depth 24; `tight-gradient.ts`), the copy filter (plain TPIXELs) for other formats,
 *   on zlib stream 3 when the piece is repetitive (`isRepetitive`), else on stream 0.
 * Filtered data under 12 bytes goes uncompressed; otherwise it is compressed on its persistent
 * stream and prefixed with a compact length. Streams are never reset (the client keeps them).
 */
import type { Encoder, EncodeContext, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache, type PixelPacker } from './pixel-pack.js';
import { BufferPool } from './buffer-pool.js';
import { Palette, analyseColours } from './palette.js';
import { GRADIENT_TPIXEL_BYTES, gradientFilter } from './tight-gradient.js';
import { splitRect, MAX_PIECE_AREA } from './split.js';
import { ImageRunBuilder, type ImageRun } from './image-runs.js';
import { RectParts } from './rect-parts.js';
import { ZlibStream } from './zlib-stream.js';
import { CompletionOrder } from './ordered.js';
import {
  TIGHT_EXPLICIT_FILTER, TIGHT_FILL, TIGHT_FILTER_GRADIENT, TIGHT_FILTER_PALETTE, TIGHT_JPEG, TIGHT_MAX_WIDTH, TIGHT_MIN_TO_COMPRESS,
  compactLength, encodeJpeg, encodeImageRun, jpegAllowed, maxPaletteColours,
} from './tight-common.js';
import { isRepetitive, looksPhotographic, zlibLevelFor } from './content-class.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

export const DEFAULT_TIGHT_COMPRESS_LEVEL = 6;

/**
 * Tight's four zlib streams. Repetitive full-colour pieces (gradients, UI with many shades) get
 * their own stream at a lazy level, so noisy pieces (photos, video) keep theirs at a fast level
 * without switching (see ZlibStream.effectiveLevel).
 */
const STREAM_FULL = 0, STREAM_MONO = 1, STREAM_INDEXED = 2, STREAM_SMOOTH = 3;

/**
 * zlib levels per stream for a compress level. Full-colour data barely compresses better at high
 * levels (platform-findings §6: photo-like 1.3–1.7:1 at any level) but costs several times more,
 * so its stream stays at ≤ 3, and at 1 for the usual compress level 2: after the gradient filter
 * level 1 sends 4 % more bytes than level 3 for 13–15 % less CPU (measured in `npm run bench`
 * on the slideshow and video scenes). Palette data (1 byte or 1 bit per pixel: text, UI) is
 * repetitive and compressed harder (`zlibLevelFor`), as are repetitive full-colour pieces.
 */
function streamLevels(compressLevel: number): [number, number, number, number] {
  const raw = FULL_COLOUR_ZLIB_LEVEL[Math.min(compressLevel, FULL_COLOUR_ZLIB_LEVEL.length - 1)]!;
  const repetitive = zlibLevelFor(true, compressLevel);
  return [raw, repetitive, repetitive, zlibLevelFor(true, raw)];
}

/** zlib level of the full-colour stream per compress level 0, 1, 2, 3, 4+ (see streamLevels). */
const FULL_COLOUR_ZLIB_LEVEL = [0, 1, 1, 2, 3] as const;

/**
 * `buffers` lends the filtered data (back once compressed), the compressed output and the RGB of
 * JPEG images (back once the image is made).
 */
export function createTightEncoder(buffers = new BufferPool()): Encoder {
  const packerFor = packerCache('tpixel');
  const streams = [1, DEFAULT_TIGHT_COMPRESS_LEVEL, DEFAULT_TIGHT_COMPRESS_LEVEL, DEFAULT_TIGHT_COMPRESS_LEVEL].map((l) => new ZlibStream(l, buffers));
  const palette = new Palette(256);
  const order = new CompletionOrder();

  /** Basic compression of `data` on `stream`, behind `head` (control + filter + palette). */
  function basic(head: Buffer, data: Buffer, stream: number, level: number): Buffer[] | Promise<Buffer[]> {
    if (data.length < TIGHT_MIN_TO_COMPRESS) return [head, data];
    return streams[stream]!.compress(data, level).then((z) => [head, compactLength(z.length), z]);
  }

  /** One piece's rectangle, or JPEG when the piece is photographic and JPEG is allowed. */
  function encodePiece(fb: PixelBuffer, p: Rect, ctx: EncodeContext, packer: PixelPacker): Buffer[] | Promise<Buffer[]> | typeof JPEG {
    const jpeg = jpegAllowed(ctx.qualityLevel, ctx.converter.format.bitsPerPixel);
    const area = p.w * p.h;
    // With JPEG, pieces with more colours than its palette limit go as JPEG if photographic;
    // drawn ones (antialiased text) stay lossless like any other client's, up to the lossless
    // palette limit. One analysis up to the larger limit serves both.
    const losslessLimit = maxPaletteColours(area, ctx.compressLevel, false);
    const jpegLimit = jpeg ? maxPaletteColours(area, ctx.compressLevel, true) : losslessLimit;
    const n = analyseColours(fb.pixels, fb.stride, p.x, p.y, p.w, p.h, Math.max(losslessLimit, jpegLimit), palette);
    const photo = jpeg && (n < 0 || n > jpegLimit) && looksPhotographic(fb.pixels, fb.stride, p);
    if (photo) return JPEG; // joined with adjacent photographic pieces by `encode`
    const hdr = rectHeader(p.x, p.y, p.w, p.h, Encoding.Tight);
    const levels = streamLevels(ctx.compressLevel ?? DEFAULT_TIGHT_COMPRESS_LEVEL);
    const tp = packer.bytesPerPixel;

    if (n === 1) {
      const b = Buffer.allocUnsafe(1 + tp);
      b[0] = TIGHT_FILL;
      packer.pack(palette.colours[0]!, b, 1);
      return [hdr, b];
    }
    if (n > 1) {
      const head = Buffer.allocUnsafe(3 + n * tp);
      const stream = n === 2 ? STREAM_MONO : STREAM_INDEXED;
      head[0] = TIGHT_EXPLICIT_FILTER | (stream << 4);
      head[1] = TIGHT_FILTER_PALETTE;
      head[2] = n - 1;
      let o = 3;
      for (let i = 0; i < n; i++) o = packer.pack(palette.colours[i]!, head, o);
      const data = n === 2 ? monoBits(fb, p) : indices(fb, p);
      return wrap(hdr, basic(head, data, stream, levels[stream]!));
    }
    const stream = isRepetitive(fb.pixels, fb.stride, p) ? STREAM_SMOOTH : STREAM_FULL;
    if (tp === GRADIENT_TPIXEL_BYTES) {
      // Full colour is photos, video and smooth UI: the gradient residuals compress far better.
      const head = Buffer.from([TIGHT_EXPLICIT_FILTER | (stream << 4), TIGHT_FILTER_GRADIENT]);
      const filtered = gradientFilter(fb.pixels, fb.stride, p, buffers.take(area * tp));
      return wrap(hdr, basic(head, filtered, stream, levels[stream]!));
    }
    const data = buffers.take(area * tp);
    packer.packRect(fb, p, data, 0);
    return wrap(hdr, basic(Buffer.from([stream << 4]), data, stream, levels[stream]!));
  }

  /** 2-colour data: 1 bit per pixel (index in the palette), MSB = leftmost, rows byte aligned. */
  function monoBits(fb: PixelBuffer, p: Rect): Buffer {
    const rowBytes = (p.w + 7) >> 3;
    const out = Buffer.alloc(rowBytes * p.h);
    const px = fb.pixels;
    const one = palette.colours[1]!;
    for (let y = 0; y < p.h; y++) {
      let s = (p.y + y) * fb.stride + p.x;
      const row = y * rowBytes;
      for (let x = 0; x < p.w; x++, s++) if (px[s] === one) out[row + (x >> 3)] |= 0x80 >> (x & 7);
    }
    return out;
  }

  /** Palette data: one index byte per pixel. */
  function indices(fb: PixelBuffer, p: Rect): Buffer {
    const out = buffers.take(p.w * p.h);
    const px = fb.pixels;
    let o = 0;
    for (let y = 0; y < p.h; y++) {
      let s = (p.y + y) * fb.stride + p.x;
      let prev = -1, idx = 0;
      for (const end = s + p.w; s < end; s++) {
        const v = px[s]!;
        if (v !== prev) { prev = v; idx = palette.lookup(v); }
        out[o++] = idx;
      }
    }
    return out;
  }

  return {
    encoding: Encoding.Tight,
    encode(fb, r, ctx): EncodedRects | Promise<EncodedRects> {
      const packer = packerFor(ctx.converter);
      // All pieces are analysed and packed now (JPEG runs copied to RGB); only compression waits.
      const parts = new RectParts();
      const runs = new ImageRunBuilder<typeof JPEG>();
      const jpegRun = (run: ImageRun<typeof JPEG> | null): void => {
        if (!run) return;
        ctx.onLossy?.(run.rect);
        const quality = ctx.qualityLevel!;
        parts.addMany(encodeImageRun(fb, run, buffers, Encoding.Tight, TIGHT_JPEG, (rgb, w, h) => encodeJpeg(rgb, w, h, quality)));
      };
      for (const p of splitRect(r, MAX_PIECE_AREA, TIGHT_MAX_WIDTH)) {
        const out = encodePiece(fb, p, ctx, packer);
        if (out === JPEG) jpegRun(runs.add(p, JPEG));
        else parts.add(out);
      }
      jpegRun(runs.take());
      return parts.result(order);
    },
    dispose() {
      for (const s of streams) s.dispose();
    },
  };
}

/** Marks a photographic piece: sent as part of a JPEG run (`image-runs.ts`). */
const JPEG = Symbol('jpeg');

function wrap(hdr: Buffer, body: Buffer[] | Promise<Buffer[]>): Buffer[] | Promise<Buffer[]> {
  return Array.isArray(body) ? [hdr, ...body] : body.then((b) => [hdr, ...b]);
}
