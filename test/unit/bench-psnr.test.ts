/**
 * The benchmark's picture comparison: identical pictures, a known error, and a client pixel
 * format other than the screen's.
 */
import { describe, expect, it } from 'vitest';
import { compareShown, IDENTICAL_PSNR_DB } from '../../bench/lib/psnr.js';
import { createPixelBuffer } from '../../core/pixel-buffer.js';

const NATIVE = { bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0 };

describe('compareShown', () => {
  it('reports identical pictures as identical', () => {
    const truth = createPixelBuffer(4, 3);
    for (let i = 0; i < 12; i++) truth.pixels[i] = (i * 0x010203) & 0xffffff;
    const shown = Uint32Array.from(truth.pixels.subarray(0, 12));
    expect(compareShown(shown, NATIVE, 4, 3, truth)).toEqual({ psnrDb: IDENTICAL_PSNR_DB, identical: true, differingPixels: 0 });
  });

  it('computes PSNR over R, G and B from the mean squared error', () => {
    const truth = createPixelBuffer(2, 2);
    const shown = new Uint32Array(4);
    // One pixel off by 10 in red: MSE = 100 / (4 pixels × 3 channels).
    shown[3] = 10 << 16;
    const q = compareShown(shown, NATIVE, 2, 2, truth);
    expect(q.identical).toBe(false);
    expect(q.differingPixels).toBe(1);
    expect(q.psnrDb).toBeCloseTo(10 * Math.log10((255 * 255) / (100 / 12)), 6);
  });

  it('reads the viewer\'s pixels in its own format (RGB565)', () => {
    const rgb565 = { bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 };
    const truth = createPixelBuffer(1, 1);
    truth.pixels[0] = 0xff00ff; // magenta
    expect(compareShown(new Uint32Array([(31 << 11) | 31]), rgb565, 1, 1, truth).identical).toBe(true);
    expect(() => compareShown(new Uint32Array(1), rgb565, 2, 1, truth)).toThrow(RangeError);
  });
});
