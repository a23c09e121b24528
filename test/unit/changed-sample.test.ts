/**
 * `ChangedSample` scores a shift on the sampled pixels that changed in place: its answer must be
 * the plain definition's (every SCORE_STEP-th pixel, or every odd step that keeps the positions
 * near MAX_SAMPLES, of up to SCORE_ROWS evenly spaced rows;
 * of those that differ in place, the share whose source under the shift is equal and inside
 * the old frame), whatever the area, the shift and the strides.
 */
import { describe, it, expect } from 'vitest';
import { ChangedSample, MAX_SAMPLES, SCORE_ROWS, SCORE_STEP } from '../../capture/changed-sample.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0), s);
}

function definition(prev: PixelBuffer, cur: PixelBuffer, area: Rect, dx: number, dy: number): number {
  const rowStep = Math.max(1, Math.floor(area.h / SCORE_ROWS));
  const rows = Math.ceil(area.h / rowStep);
  const colStep = Math.max(SCORE_STEP, Math.ceil((area.w * rows) / MAX_SAMPLES)) | 1;
  let changed = 0, explained = 0;
  for (let y = area.y + (rowStep >> 1); y < area.y + area.h; y += rowStep) {
    for (let x = area.x; x < area.x + area.w; x += colStep) {
      const c = cur.pixels[y * cur.stride + x];
      if (c === prev.pixels[y * prev.stride + x]) continue;
      changed++;
      const sx = x - dx, sy = y - dy;
      if (sx >= 0 && sx < prev.width && sy >= 0 && sy < prev.height && c === prev.pixels[sy * prev.stride + sx]) explained++;
    }
  }
  return changed ? explained / changed : 0;
}

describe('ChangedSample', () => {
  it('matches the definition on shifted content, for many areas and shifts, and is reusable', () => {
    const rand = rng(7);
    const W = 300, H = 200;
    const sample = new ChangedSample();
    for (let round = 0; round < 60; round++) {
      const prev = createPixelBuffer(W, H, W + (round % 3) * 8);
      const cur = createPixelBuffer(W, H, W + (round % 2) * 16);
      // A few colours so that wrong shifts also match sometimes; cur = prev shifted, partly repainted.
      // Row padding (stride > width) holds content colours too: a source read past a row's end
      // would find matches there.
      for (let y = 0; y < H; y++) for (let x = 0; x < prev.stride; x++) prev.pixels[y * prev.stride + x] = rand() % 5;
      const sdx = (rand() % 21) - 10, sdy = (rand() % 21) - 10;
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const sx = x - sdx, sy = y - sdy;
        cur.pixels[y * cur.stride + x] = sx >= 0 && sx < W && sy >= 0 && sy < H && rand() % 4 !== 0 ? prev.pixels[sy * prev.stride + sx]! : 7 + (rand() % 3);
      }
      const x = rand() % 100, y = rand() % 80;
      // Half the areas reach the right and bottom edges, where shifts push sources outside.
      const area = round % 2 ? { x, y, w: W - x, h: H - y } : { x, y, w: 1 + (rand() % (W - x)), h: 1 + (rand() % (H - y)) };
      sample.take(prev, cur, area);
      for (const [dx, dy] of [[sdx, sdy], [0, 1], [-1, 0], [-2, 0], [-3, 2], [0, -1], [sdx + 1, sdy], [W, 0], [0, -H]] as const) {
        expect(sample.explained(prev, dx, dy), `round ${round} area ${JSON.stringify(area)} shift ${dx},${dy}`).toBe(definition(prev, cur, area, dx, dy));
      }
    }
  });

  it('is 0 when nothing in the area changed', () => {
    const a = createPixelBuffer(40, 30);
    const sample = new ChangedSample();
    sample.take(a, a, { x: 0, y: 0, w: 40, h: 30 });
    expect(sample.explained(a, 1, 0)).toBe(0);
  });
});
