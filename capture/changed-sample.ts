/**
 * A sample of the pixels that differ in place between two frames inside an area: every
 * `SCORE_STEP`-th pixel (or more, see `MAX_SAMPLES`) of up to `SCORE_ROWS` evenly spaced rows,
 * kept only where `cur` differs from `prev`. The motion detector scores dozens of candidate
 * shifts per searched area on the same sample; taking it once means each score reads only the
 * changed pixels' sources (it used to re-compare every sampled pixel in place for every
 * candidate: a tenth of the server's CPU in the bench's window-drag scene, measured with
 * `perf`).
 */
import type { Rect } from '../core/geometry.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';

/** Rows of the area sampled, at most. */
export const SCORE_ROWS = 24;
/** Pixel step along a sampled row, at least. */
export const SCORE_STEP = 3;
/**
 * Positions sampled per area, about at most: the step along a row grows with the area's width
 * (kept odd, so it does not fall in step with even-width glyph cells). Each candidate's score
 * reads every sampled changed pixel's source, and a drag along a curve scores ~75 candidates:
 * with a step of 3 on an 800-px window that was 6,400 reads per candidate, 9 % of the server's
 * CPU in the bench's window-drag scene (perf); 1,500 still tell a delta one pixel off apart.
 */
export const MAX_SAMPLES = 1536;

export class ChangedSample {
  private xs = new Int32Array(0);
  private ys = new Int32Array(0);
  private values = new Uint32Array(0);
  private n = 0;

  /** Samples `area` (inside both frames) afresh. */
  take(prev: PixelBuffer, cur: PixelBuffer, area: Rect): void {
    const rowStep = Math.max(1, Math.floor(area.h / SCORE_ROWS));
    const rows = Math.ceil(area.h / rowStep);
    const colStep = Math.max(SCORE_STEP, Math.ceil((area.w * rows) / MAX_SAMPLES)) | 1;
    const max = rows * Math.ceil(area.w / colStep);
    if (this.xs.length < max) {
      this.xs = new Int32Array(max);
      this.ys = new Int32Array(max);
      this.values = new Uint32Array(max);
    }
    const cp = cur.pixels;
    const pp = prev.pixels;
    let n = 0;
    for (let y = area.y + (rowStep >> 1); y < area.y + area.h; y += rowStep) {
      const cb = y * cur.stride;
      const pb = y * prev.stride;
      for (let x = area.x; x < area.x + area.w; x += colStep) {
        const c = cp[cb + x]!;
        if (c === pp[pb + x]) continue;
        this.xs[n] = x;
        this.ys[n] = y;
        this.values[n] = c;
        n++;
      }
    }
    this.n = n;
  }

  /**
   * The fraction of the sampled changed pixels that `prev` shifted by (dx, dy) explains: 0 to 1,
   * 0 when nothing in the sample changed. A cheap filter, never a verdict.
   */
  explained(prev: PixelBuffer, dx: number, dy: number): number {
    if (this.n === 0) return 0;
    const pp = prev.pixels;
    const { xs, ys, values } = this;
    const xMax = prev.width + dx, yMax = prev.height + dy;
    let explained = 0;
    for (let i = 0; i < this.n; i++) {
      const x = xs[i]!, y = ys[i]!;
      if (x >= dx && x < xMax && y >= dy && y < yMax && values[i] === pp[(y - dy) * prev.stride + x - dx]) explained++;
    }
    return explained / this.n;
  }
}
