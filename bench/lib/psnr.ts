/**
 * Image quality of what a viewer shows against what the screen shows: PSNR over the R, G and B
 * channels (8 bits each) of every pixel. The viewer's framebuffer is in its pixel format (the
 * decoder's client pixel values); the screen is the BGRX frame the X server returns. Pure.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { clientPixelToRgb, type DecoderPixelFormat } from './rfb-decoders.js';

/** Reported for identical images (PSNR is infinite): above any real lossy figure. */
export const IDENTICAL_PSNR_DB = 100;

export interface ImageQuality {
  /** Peak signal-to-noise ratio in dB; `IDENTICAL_PSNR_DB` when identical. */
  readonly psnrDb: number;
  readonly identical: boolean;
  /** Pixels that differ in any channel. */
  readonly differingPixels: number;
}

/**
 * Compares `shown` (`width`×`height` client pixel values in `format`, row-major) with `truth`
 * (same size). Throws a RangeError when the sizes differ.
 */
export function compareShown(shown: Uint32Array, format: DecoderPixelFormat, width: number, height: number, truth: PixelBuffer): ImageQuality {
  if (truth.width !== width || truth.height !== height || shown.length < width * height) {
    throw new RangeError(`compareShown: ${width}x${height} shown vs ${truth.width}x${truth.height} screen`);
  }
  let sum = 0;
  let differing = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = truth.pixels[y * truth.stride + x]!;
      const [r, g, b] = clientPixelToRgb(format, shown[y * width + x]!);
      const dr = r - ((t >>> 16) & 0xff);
      const dg = g - ((t >>> 8) & 0xff);
      const db = b - (t & 0xff);
      if (dr || dg || db) {
        differing++;
        sum += dr * dr + dg * dg + db * db;
      }
    }
  }
  if (sum === 0) return { psnrDb: IDENTICAL_PSNR_DB, identical: true, differingPixels: 0 };
  const mse = sum / (width * height * 3);
  return { psnrDb: Math.min(IDENTICAL_PSNR_DB - 1, 10 * Math.log10((255 * 255) / mse)), identical: false, differingPixels: differing };
}
