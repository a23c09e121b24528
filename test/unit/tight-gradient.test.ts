/**
 * Tight's gradient filter against values worked out by hand from the spec's predictor
 * (left + upper − upper-left, clamped to 0–255, zero outside the rectangle, residual mod 256).
 */
import { describe, expect, it } from 'vitest';
import { gradientFilter } from '../../server/encoding/tight-gradient.js';

describe('gradientFilter', () => {
  it('predicts from the left on the first row, from above at the left edge, clamped elsewhere', () => {
    // 2×2 TPIXELs (3 bytes each):
    //   a = (10, 200, 0)    b = (12, 190, 255)
    //   c = (11, 250, 3)    d = (20, 0, 250)
    const t = Buffer.from([10, 200, 0, 12, 190, 255, 11, 250, 3, 20, 0, 250]);
    const out = gradientFilter(t, 2, 2, Buffer.alloc(12));
    expect([...out]).toEqual([
      // a: no neighbours, prediction 0
      10, 200, 0,
      // b: prediction = a
      2, (190 - 200) & 255, 255,
      // c: prediction = a (above)
      1, 50, 3,
      // d: left c + upper b − upper-left a = (13, 240, 258→255); residual d − p mod 256
      7, (0 - 240) & 255, (250 - 255) & 255,
    ]);
  });

  it('turns a smooth ramp into near-constant residuals', () => {
    const w = 16;
    const h = 4;
    const t = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) t.set([x * 4, y * 8, 100], (y * w + x) * 3);
    const out = gradientFilter(t, w, h, Buffer.alloc(t.length));
    // Inside (x ≥ 1, y ≥ 1) a linear ramp is predicted exactly.
    for (let y = 1; y < h; y++) for (let x = 1; x < w; x++) expect([...out.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)]).toEqual([0, 0, 0]);
  });

  it('rejects an input or output whose length does not match the size', () => {
    expect(() => gradientFilter(Buffer.alloc(10), 2, 2, Buffer.alloc(10))).toThrow(RangeError);
    expect(() => gradientFilter(Buffer.alloc(12), 2, 2, Buffer.alloc(11))).toThrow(RangeError);
  });
});
