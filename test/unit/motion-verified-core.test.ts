/**
 * After applying copies, `diffWithMotion` re-compares only what the detector did not already
 * prove: tiles wholly inside a copy's verified core are skipped, unless another copy's
 * destination reaches into them. Checked with a stand-in detector whose "verified" claim is
 * deliberately false, so a skipped tile shows as a difference left unreported; and against the
 * real detector, whose result must stay exact.
 */
import { describe, expect, it } from 'vitest';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { applyCopy, type FrameCopy } from '../../capture/frame-copy.js';
import { diffWithMotion } from '../../capture/motion-diff.js';
import { MotionDetector } from '../../capture/motion-detect.js';
import { clearTilesInside, createTileMap, diffTiles, markRects } from '../../capture/tile-diff.js';
import { coalesceTiles } from '../../capture/tile-coalesce.js';

function noise(w: number, h: number, seed: number): PixelBuffer {
  const b = createPixelBuffer(w, h);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < b.pixels.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    b.pixels[i] = s & 0xffffff;
  }
  return b;
}

function clone(b: PixelBuffer): PixelBuffer {
  const c = createPixelBuffer(b.width, b.height);
  b.data.copy(c.data);
  return c;
}

/** Runs diffWithMotion with a detector that returns `copies` as they are. */
function runWith(prev: PixelBuffer, cur: PixelBuffer, copies: FrameCopy[]): { changed: Rect[]; copies: FrameCopy[] } {
  const dirty = createTileMap(prev.width, prev.height);
  diffTiles(prev, cur, dirty);
  const rects = coalesceTiles(dirty);
  const detector = { detect: () => copies } as unknown as MotionDetector;
  return diffWithMotion({ prev, cur, dirty, rects, scratch: createTileMap(prev.width, prev.height), detector });
}

/** Does `rects` cover pixel (x, y)? */
const covers = (rects: Rect[], x: number, y: number): boolean => rects.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h);

describe('clearTilesInside', () => {
  it('clears whole tiles only, and edge tiles when the rectangle reaches the frame edge', () => {
    const map = markRects(createTileMap(70, 50), [{ x: 0, y: 0, w: 70, h: 50 }]); // 5×4 tiles, last column 6 px, last row 2 px
    clearTilesInside(map, { x: 10, y: 16, w: 60, h: 34 });
    const set = (tx: number, ty: number): number => map.bits[ty * map.cols + tx]!;
    // Column 0 (x 0–15) is only partly inside; columns 1–4 wholly (column 4 ends at the edge).
    expect([0, 1, 2, 3].map((ty) => [0, 1, 2, 3, 4].map((tx) => set(tx, ty)))).toEqual([
      [1, 1, 1, 1, 1],
      [1, 0, 0, 0, 0],
      [1, 0, 0, 0, 0],
      [1, 0, 0, 0, 0],
    ]);
    const inner = markRects(createTileMap(64, 64), [{ x: 0, y: 0, w: 64, h: 64 }]);
    clearTilesInside(inner, { x: 1, y: 0, w: 47, h: 63 }); // x 1–47, y 0–62: tiles 1–2 × 0–2 whole
    expect([0, 1, 2, 3].map((ty) => [0, 1, 2, 3].map((tx) => inner.bits[ty * 4 + tx]))).toEqual([
      [1, 0, 0, 1],
      [1, 0, 0, 1],
      [1, 0, 0, 1],
      [1, 1, 1, 1],
    ]);
  });
});

describe('diffWithMotion and verified cores', () => {
  const W = 128, H = 96;
  const copy: FrameCopy = { dest: { x: 0, y: 0, w: 128, h: 80 }, dx: 0, dy: -16 };

  it('does not re-compare tiles inside the verified core (a false claim there goes unseen)', () => {
    const prev = noise(W, H, 3);
    const cur = clone(prev);
    applyCopy(cur, copy);
    cur.pixels[40 * W + 50] ^= 0xff; // inside the core, where the claim below is false
    const r = runWith(clone(prev), cur, [{ ...copy, verified: { x: 0, y: 32, w: 128, h: 32 } }]);
    expect(covers(r.changed, 50, 40)).toBe(false);
  });

  it('re-compares the rest of the destination, and the core where another copy writes', () => {
    const prev = noise(W, H, 4);
    const cur = clone(prev);
    applyCopy(cur, copy);
    cur.pixels[10 * W + 50] ^= 0xff; // in the destination but outside the core
    cur.pixels[40 * W + 20] ^= 0xff; // in the core, under a second copy's destination
    const other: FrameCopy = { dest: { x: 16, y: 32, w: 16, h: 16 }, dx: 0, dy: 0 };
    const r = runWith(clone(prev), cur, [{ ...copy, verified: { x: 0, y: 32, w: 128, h: 32 } }, other]);
    expect(covers(r.changed, 50, 10)).toBe(true);
    expect(covers(r.changed, 20, 40)).toBe(true);
    // Without a verified core everything under the copy is compared again.
    const plain = runWith(clone(prev), cur, [copy]);
    expect(covers(plain.changed, 20, 40)).toBe(true);
  });

  it('with the real detector the result stays exact: prev + copies + changed pixels == cur', () => {
    const prev = noise(W * 4, H * 4, 9);
    const cur = clone(prev);
    const scroll: FrameCopy = { dest: { x: 32, y: 40, w: 400, h: 300 }, dx: 0, dy: -13 };
    applyCopy(cur, scroll);
    for (let i = 0; i < 40; i++) cur.pixels[(340 + (i % 3)) * cur.stride + 40 + i * 9] = 0x123456; // new text under the scroll
    cur.pixels[100 * cur.stride + 100] = 0xabcdef; // a change inside the scrolled area
    const work = clone(prev);
    const dirty = createTileMap(work.width, work.height);
    diffTiles(work, cur, dirty);
    const result = diffWithMotion({
      prev: work, cur, dirty, rects: coalesceTiles(dirty), scratch: createTileMap(work.width, work.height),
      detector: new MotionDetector({ budgetMs: 1e9, now: () => 0 }),
    });
    expect(result.copies.length).toBeGreaterThan(0);
    expect(result.copies[0]!.verified).toBeDefined();
    const rebuilt = clone(prev);
    for (const c of result.copies) applyCopy(rebuilt, c);
    for (const r of result.changed) {
      for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) rebuilt.pixels[y * rebuilt.stride + x] = cur.pixels[y * cur.stride + x]!;
    }
    expect(rebuilt.data.equals(cur.data)).toBe(true);
  });
});
