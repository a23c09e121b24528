/**
 * changedRects: every differing pixel covered, nothing outside the area, rectangles disjoint,
 * and stacked changes of different widths cut apart instead of one bounding box.
 */
import { describe, expect, it } from 'vitest';
import { changedRects } from '../../capture/changed-rects.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

function clone(b: PixelBuffer): PixelBuffer {
  const c = createPixelBuffer(b.width, b.height, b.stride);
  b.data.copy(c.data);
  return c;
}

function paint(b: PixelBuffer, r: Rect, v: number): void {
  for (let y = r.y; y < r.y + r.h; y++) b.pixels.fill(v, y * b.stride + r.x, y * b.stride + r.x + r.w);
}

const area = (rs: readonly Rect[]): number => rs.reduce((a, r) => a + r.w * r.h, 0);
const overlaps = (a: Rect, b: Rect): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe('changedRects', () => {
  it('returns nothing for equal frames and the exact box for one change', () => {
    const prev = createPixelBuffer(64, 48);
    const cur = clone(prev);
    expect(changedRects(prev, cur, { x: 0, y: 0, w: 64, h: 48 })).toEqual([]);
    paint(cur, { x: 10, y: 5, w: 7, h: 3 }, 0xff0000);
    expect(changedRects(prev, cur, { x: 0, y: 0, w: 64, h: 48 })).toEqual([{ x: 10, y: 5, w: 7, h: 3 }]);
  });

  it('cuts a narrow change above a wide one into two rectangles (a cursor cell over a new line)', () => {
    const prev = createPixelBuffer(640, 64);
    const cur = clone(prev);
    paint(cur, { x: 400, y: 0, w: 8, h: 7 }, 0xeeeeee); // the rest of a cursor cell
    paint(cur, { x: 10, y: 7, w: 560, h: 17 }, 0x777777); // the new line right below it
    const rs = changedRects(prev, cur, { x: 0, y: 0, w: 640, h: 64 });
    expect(rs).toEqual([
      { x: 400, y: 0, w: 8, h: 7 },
      { x: 10, y: 7, w: 560, h: 17 },
    ]);
  });

  it('keeps one rectangle where cutting would save less than a rectangle costs', () => {
    const prev = createPixelBuffer(64, 64);
    const cur = clone(prev);
    paint(cur, { x: 10, y: 10, w: 20, h: 5 }, 1);
    paint(cur, { x: 11, y: 15, w: 20, h: 5 }, 2); // one column wider on the right
    expect(changedRects(prev, cur, { x: 0, y: 0, w: 64, h: 64 })).toEqual([{ x: 10, y: 10, w: 21, h: 10 }]);
  });

  it('covers every differing pixel with disjoint rectangles inside the area (random changes)', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let round = 0; round < 200; round++) {
      const prev = createPixelBuffer(96, 80);
      for (let i = 0; i < prev.pixels.length; i++) prev.pixels[i] = rand(4);
      const cur = clone(prev);
      for (let k = rand(6); k >= 0; k--) paint(cur, { x: rand(90), y: rand(75), w: 1 + rand(6), h: 1 + rand(5) }, 100 + rand(5));
      const a: Rect = { x: rand(20), y: rand(20), w: 40 + rand(36), h: 30 + rand(30) };
      const rs = changedRects(prev, cur, a);
      for (const r of rs) {
        expect(r.x >= a.x && r.y >= a.y && r.x + r.w <= a.x + a.w && r.y + r.h <= a.y + a.h).toBe(true);
      }
      for (let i = 0; i < rs.length; i++) for (let j = i + 1; j < rs.length; j++) expect(overlaps(rs[i]!, rs[j]!)).toBe(false);
      for (let y = a.y; y < a.y + a.h; y++)
        for (let x = a.x; x < a.x + a.w; x++) {
          if (prev.pixels[y * prev.stride + x] === cur.pixels[y * cur.stride + x]) continue;
          expect(rs.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)).toBe(true);
        }
      // Never more than one bounding box's worth.
      if (rs.length) {
        const x1 = Math.min(...rs.map((r) => r.x));
        const y1 = Math.min(...rs.map((r) => r.y));
        const x2 = Math.max(...rs.map((r) => r.x + r.w));
        const y2 = Math.max(...rs.map((r) => r.y + r.h));
        expect(area(rs)).toBeLessThanOrEqual((x2 - x1) * (y2 - y1));
      }
    }
  });
});
