/**
 * Pieces shared by Tight (7) and TightPNG (-260): compact lengths, the BGRX → RGB swizzle that
 * sharp needs, JPEG and PNG compression through sharp, and the content analysis thresholds.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { clampZlibLevel } from './zlib-stream.js';
import { rectHeader } from './encoder.js';
import type { ImageRun } from './image-runs.js';
import { LITTLE_ENDIAN_HOST } from './pixel-pack.js';
import type { BufferPool } from './buffer-pool.js';

/** Control-byte compression types (high nibble). */
export const TIGHT_FILL = 0x80;
export const TIGHT_JPEG = 0x90;
export const TIGHT_PNG = 0xa0;
/** Basic compression with a filter-id byte (bit 6), stream id in bits 4–5. */
export const TIGHT_EXPLICIT_FILTER = 0x40;
export const TIGHT_FILTER_PALETTE = 1;
export const TIGHT_FILTER_GRADIENT = 2;
/** Payloads under this many bytes are sent uncompressed (rfbproto; clients rely on it). */
export const TIGHT_MIN_TO_COMPRESS = 12;
/** Tight's maximum rectangle width. */
export const TIGHT_MAX_WIDTH = 2048;
/** Largest length the 1–3 byte compact form can carry. */
export const TIGHT_MAX_LENGTH = 4194303;

/** The compact 1–3 byte length representation. */
export function compactLength(len: number): Buffer {
  if (len < 0 || len > TIGHT_MAX_LENGTH) throw new VncError(ErrorCode.TooLarge, `Tight payload of ${len} bytes exceeds ${TIGHT_MAX_LENGTH}`);
  if (len < 0x80) return Buffer.from([len]);
  if (len < 0x4000) return Buffer.from([(len & 0x7f) | 0x80, len >> 7]);
  return Buffer.from([(len & 0x7f) | 0x80, ((len >> 7) & 0x7f) | 0x80, len >> 14]);
}

/**
 * Pixels of `r` as packed R,G,B bytes (sharp's raw input; alpha-free so JPEGs are not black),
 * into `out` (exactly r.w × r.h × 3 bytes, e.g. from a `BufferPool`); returns `out`.
 */
export function toRgb(fb: PixelBuffer, r: Rect, out: Buffer): Buffer {
  const px = fb.pixels;
  if (LITTLE_ENDIAN_HOST && r.w % 4 === 0 && out.byteOffset % 4 === 0) {
    // Four pixels (0x00RRGGBB) make three little-endian words R G B R | G B R G | B R G B: a
    // third of the stores (the bench's video: 460 → 134 ms of conversion in a 26 s profile).
    const words = new Uint32Array(out.buffer, out.byteOffset, (r.w * r.h * 3) >> 2);
    let o = 0;
    for (let y = 0; y < r.h; y++) {
      let s = (r.y + y) * fb.stride + r.x;
      for (const end = s + r.w; s < end; s += 4) {
        const a = px[s]!, b = px[s + 1]!, c = px[s + 2]!, d = px[s + 3]!;
        words[o++] = ((a >>> 16) & 0xff) | (a & 0xff00) | ((a & 0xff) << 16) | ((b & 0xff0000) << 8);
        words[o++] = ((b >>> 8) & 0xff) | ((b & 0xff) << 8) | (c & 0xff0000) | ((c & 0xff00) << 16);
        words[o++] = (c & 0xff) | ((d >>> 8) & 0xff00) | ((d & 0xff00) << 8) | ((d & 0xff) << 24);
      }
    }
    return out;
  }
  let o = 0;
  for (let y = 0; y < r.h; y++) {
    let s = (r.y + y) * fb.stride + r.x;
    for (const end = s + r.w; s < end; s++) {
      const v = px[s]!;
      out[o] = v >>> 16;
      out[o + 1] = v >>> 8;
      out[o + 2] = v;
      o += 3;
    }
  }
  return out;
}

/**
 * JPEG quality per RFB quality level 0–9. Low levels trade fidelity for bandwidth; levels 8–9
 * are near-lossless and keep full chroma resolution (text edges in colour stay sharp).
 */
const JPEG_QUALITY = [15, 25, 35, 45, 55, 65, 75, 82, 90, 97];

export function jpegQuality(level: number): { quality: number; chromaSubsampling: string } {
  const l = Math.max(0, Math.min(9, Math.round(level)));
  return { quality: JPEG_QUALITY[l]!, chromaSubsampling: l >= 8 ? '4:4:4' : '4:2:0' };
}

/**
 * sharp (libvips) is loaded at the first image, not at startup: most sessions never ask for
 * JPEG or PNG, and loading it cost every server start time and resident memory. The first image
 * of the process waits for the load once (about 0.13 s on the project's machine); the module
 * loader caches it, so later calls only await a settled promise.
 */
async function loadSharp(): Promise<typeof import('sharp').default> {
  return (await import('sharp')).default;
}

export async function encodeJpeg(rgb: Buffer, w: number, h: number, level: number): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).jpeg(jpegQuality(level)).toBuffer();
}

/**
 * A full-colour (RGB) PNG. Row filters on (libpng picks one per row): on photos and video they
 * halve the bytes (measured in `npm run bench`: TightPNG video 17.2 → 8.8 MB/s, slideshow
 * 3.2 → 1.8 MB/s); few-coloured pieces, where filters hurt, go as palette PNGs instead.
 */
export async function encodePng(rgb: Buffer, w: number, h: number, compressLevel: number): Promise<Buffer> {
  const compressionLevel = clampZlibLevel(compressLevel);
  const sharp = await loadSharp();
  return sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png({ compressionLevel, palette: false, adaptiveFiltering: true }).toBuffer();
}

/** Compresses packed RGB (`toRgb`) of a `w`×`h` rectangle into an image (JPEG or PNG). */
export type RgbImageCoder = (rgb: Buffer, w: number, h: number) => Promise<Buffer>;

/**
 * `imageRunRects` for `run` of `fb`, its RGB converted into a buffer lent by `buffers` that goes
 * back once every image of the run is done (on failure it is dropped: an image of another piece
 * may still be reading it).
 */
export function encodeImageRun(
  fb: PixelBuffer, run: ImageRun<unknown>, buffers: BufferPool, encoding: number, control: number, coder: RgbImageCoder,
): Promise<Buffer[][]> {
  const rgb = toRgb(fb, run.rect, buffers.take(run.rect.w * run.rect.h * 3));
  return imageRunRects(run, rgb, encoding, control, coder).then((rects) => {
    buffers.give(rgb);
    return rects;
  });
}

/**
 * The rectangles for a run of pieces sent as one image (JpegCompression or PngCompression,
 * per `control`): one rectangle for the whole run, or, when that image would overflow Tight's
 * compact length, one per piece. `rgb` holds the run's pixels (`toRgb` of `run.rect`, so each
 * piece is a contiguous band of it) and must stay unmodified until the promise settles.
 */
export async function imageRunRects(
  run: ImageRun<unknown>, rgb: Buffer, encoding: number, control: number, coder: RgbImageCoder,
): Promise<Buffer[][]> {
  const rect = (r: Rect, image: Buffer): Buffer[] =>
    [rectHeader(r.x, r.y, r.w, r.h, encoding), Buffer.from([control]), compactLength(image.length), image];
  const { rect: whole, pieces } = run;
  const image = await coder(rgb, whole.w, whole.h);
  if (image.length <= TIGHT_MAX_LENGTH || pieces.length === 1) return [rect(whole, image)];
  return Promise.all(pieces.map(async (p) => {
    const start = (p.y - whole.y) * whole.w * 3;
    return rect(p, await coder(rgb.subarray(start, start + p.w * p.h * 3), p.w, p.h));
  }));
}

/**
 * How many colours a piece may have and still be sent with a palette (TigerVNC's rule of
 * thumb, EncodeManager::writeSubRect): about one colour per `8 × compressLevel` pixels (16 when
 * no level was sent, at least 4), but 24 or 96 when JPEG takes the full-colour pieces, since
 * JPEG is cheap for anything with more colours than that.
 */
export function maxPaletteColours(area: number, compressLevel: number | undefined, jpeg: boolean, cap = 256): number {
  let max: number;
  if (jpeg) max = compressLevel !== undefined && compressLevel < 2 ? 24 : 96;
  else max = Math.floor(area / (compressLevel === undefined ? 16 : Math.max(4, compressLevel * 8)));
  return Math.max(2, Math.min(cap, max));
}

/** JPEG is possible: the client sent a quality level and its pixels are 16 or 32 bits. */
export function jpegAllowed(qualityLevel: number | undefined, bitsPerPixel: number): boolean {
  return qualityLevel !== undefined && (bitsPerPixel === 16 || bitsPerPixel === 32);
}
