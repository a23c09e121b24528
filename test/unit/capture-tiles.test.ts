import { describe, expect, it } from 'vitest';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { TILE_SIZE, countTiles, createTileMap, diffTiles, markRects, type TileMap } from '../../capture/tile-diff.js';
import { coalesceTiles } from '../../capture/tile-coalesce.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mapFrom(rows: string[], width?: number, height?: number): TileMap {
  const cols = rows[0]!.length;
  const m = createTileMap(width ?? cols * TILE_SIZE, height ?? rows.length * TILE_SIZE);
  rows.forEach((r, ty) => [...r].forEach((c, tx) => (m.bits[ty * cols + tx] = c === '#' ? 1 : 0)));
  return m;
}

function randomFrame(w: number, h: number, rnd: () => number, stride = w): PixelBuffer {
  const fb = createPixelBuffer(w, h, stride);
  for (let i = 0; i < fb.pixels.length; i++) fb.pixels[i] = (rnd() * 0x1000000) >>> 0;
  return fb;
}

function copyFrame(src: PixelBuffer, stride = src.stride): PixelBuffer {
  const fb = createPixelBuffer(src.width, src.height, stride);
  for (let y = 0; y < src.height; y++) {
    fb.pixels.set(src.pixels.subarray(y * src.stride, y * src.stride + src.width), y * stride);
  }
  return fb;
}

/** Reference: the set of tiles whose pixels differ, by brute force. */
function bruteDirty(a: PixelBuffer, b: PixelBuffer): Set<number> {
  const cols = Math.ceil(a.width / TILE_SIZE);
  const s = new Set<number>();
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++)
      if (a.pixels[y * a.stride + x] !== b.pixels[y * b.stride + x]) s.add(Math.floor(y / TILE_SIZE) * cols + Math.floor(x / TILE_SIZE));
  return s;
}

function setOf(m: TileMap): Set<number> {
  const s = new Set<number>();
  m.bits.forEach((v, i) => v && s.add(i));
  return s;
}

function assertCovers(rects: Rect[], m: TileMap): void {
  for (const r of rects) {
    expect(r.w).toBeGreaterThan(0);
    expect(r.h).toBeGreaterThan(0);
    expect(r.x).toBeGreaterThanOrEqual(0);
    expect(r.y).toBeGreaterThanOrEqual(0);
    expect(r.x + r.w).toBeLessThanOrEqual(m.width);
    expect(r.y + r.h).toBeLessThanOrEqual(m.height);
  }
  for (let ty = 0; ty < m.rows; ty++)
    for (let tx = 0; tx < m.cols; tx++) {
      if (!m.bits[ty * m.cols + tx]) continue;
      const x2 = Math.min(m.width, (tx + 1) * TILE_SIZE);
      const y2 = Math.min(m.height, (ty + 1) * TILE_SIZE);
      const covered = rects.some((r) => r.x <= tx * TILE_SIZE && r.y <= ty * TILE_SIZE && r.x + r.w >= x2 && r.y + r.h >= y2);
      expect(covered, `tile ${tx},${ty} not covered`).toBe(true);
    }
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

describe('diffTiles', () => {
  it('finds nothing in identical frames and exactly the changed tile otherwise', () => {
    const rnd = prng(1);
    const a = randomFrame(100, 50, rnd);
    const b = copyFrame(a);
    const out = createTileMap(100, 50);
    expect(diffTiles(a, b, out)).toBe(0);
    expect(countTiles(out)).toBe(0);
    b.pixels[37 * 100 + 99] ^= 1; // last column (partial tile 6), tile row 2
    expect(diffTiles(a, b, out)).toBe(1);
    expect([...setOf(out)]).toEqual([2 * 7 + 6]);
  });

  it('clears the output map before diffing', () => {
    const a = createPixelBuffer(32, 32);
    const out = createTileMap(32, 32);
    out.bits.fill(1);
    expect(diffTiles(a, copyFrame(a), out)).toBe(0);
    expect(countTiles(out)).toBe(0);
  });

  /** diffTiles agrees with the brute-force reference, tile for tile and in its count. */
  function expectReferenceDiff(a: PixelBuffer, b: PixelBuffer): void {
    const out = createTileMap(a.width, a.height);
    const n = diffTiles(a, b, out);
    const ref = bruteDirty(a, b);
    expect(setOf(out)).toEqual(ref);
    expect(n).toBe(ref.size);
  }

  function bumpPixel(b: PixelBuffer, x: number, y: number): void {
    b.pixels[y * b.stride + x] = (b.pixels[y * b.stride + x]! + 1) >>> 0;
  }

  it('matches a brute-force reference on random frames, strides and sizes', () => {
    const rnd = prng(42);
    for (let iter = 0; iter < 40; iter++) {
      const w = 1 + Math.floor(rnd() * 90);
      const h = 1 + Math.floor(rnd() * 70);
      const a = randomFrame(w, h, rnd, w + Math.floor(rnd() * 5));
      const b = copyFrame(a, w + Math.floor(rnd() * 5));
      const changes = Math.floor(rnd() * 12);
      for (let i = 0; i < changes; i++) bumpPixel(b, Math.floor(rnd() * w), Math.floor(rnd() * h));
      expectReferenceDiff(a, b);
    }
  });

  it('matches the reference when whole rows change but some tiles of them do not (runs of clean tiles)', () => {
    const rnd = prng(7);
    for (let iter = 0; iter < 40; iter++) {
      const w = 17 + Math.floor(rnd() * 300);
      const h = 1 + Math.floor(rnd() * 60);
      const a = randomFrame(w, h, rnd, w + Math.floor(rnd() * 3));
      const b = copyFrame(a, w);
      // Like a scrolled terminal: every row changes in a random prefix, and a few pixels beyond.
      for (let y = 0; y < h; y++) {
        const upTo = Math.floor(rnd() * w);
        for (let x = 0; x < upTo; x++) b.pixels[y * b.stride + x] = (b.pixels[y * b.stride + x]! ^ 0x10101) >>> 0;
        if (rnd() < 0.2) bumpPixel(b, Math.floor(rnd() * w), y);
      }
      expectReferenceDiff(a, b);
    }
  });

  it('compares only candidate tiles when hints are given', () => {
    const a = createPixelBuffer(64, 64);
    const b = copyFrame(a);
    b.pixels[5 * 64 + 5] = 1; // tile 0,0
    b.pixels[40 * 64 + 40] = 1; // tile 2,2
    const hints = markRects(createTileMap(64, 64), [{ x: 33, y: 33, w: 10, h: 10 }]);
    const out = createTileMap(64, 64);
    expect(diffTiles(a, b, out, hints)).toBe(1);
    expect([...setOf(out)]).toEqual([2 * 4 + 2]);
  });

  it('rejects frames of another size', () => {
    expect(() => diffTiles(createPixelBuffer(16, 16), createPixelBuffer(17, 16), createTileMap(16, 16))).toThrow(RangeError);
  });
});

describe('markRects', () => {
  it('marks every tile a rectangle touches, clipped to the frame', () => {
    const m = markRects(createTileMap(50, 40), [{ x: 15, y: -5, w: 2, h: 22 }, { x: 45, y: 35, w: 100, h: 100 }]);
    expect(m.cols).toBe(4);
    expect(m.rows).toBe(3);
    expect([...setOf(m)].sort((x, y) => x - y)).toEqual([0, 1, 4, 5, 10, 11]);
  });
});

describe('coalesceTiles', () => {
  it('returns nothing for a clean map', () => {
    expect(coalesceTiles(mapFrom(['....', '....']))).toEqual([]);
  });

  it('merges runs into bands', () => {
    const m = mapFrom([
      '.##.....',
      '.##.....',
      '.##..#..',
      '.....#..',
    ]);
    expect(coalesceTiles(m, { fillRatio: 1.1 })).toEqual([
      { x: 16, y: 0, w: 32, h: 48 },
      { x: 80, y: 32, w: 16, h: 32 },
    ]);
  });

  it('keeps bands with different spans separate and disjoint', () => {
    const m = mapFrom([
      '###.....',
      '.##.##..',
      '.####...',
    ]);
    const rects = coalesceTiles(m, { fillRatio: 1.1 });
    assertCovers(rects, m);
    for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) expect(overlaps(rects[i]!, rects[j]!)).toBe(false);
    expect(rects).toHaveLength(4);
  });

  it('clips partial edge tiles to the frame', () => {
    const m = mapFrom(['..#', '..#'], 40, 20);
    expect(coalesceTiles(m)).toEqual([{ x: 32, y: 0, w: 8, h: 20 }]);
  });

  it('falls back to the bounding box when most of it is dirty', () => {
    const m = mapFrom([
      '####',
      '#.##',
      '####',
    ]);
    expect(coalesceTiles(m)).toEqual([{ x: 0, y: 0, w: 64, h: 48 }]);
  });

  it('falls back to the bounding box when there are too many rectangles', () => {
    const m = mapFrom(['#.#.#.#.', '........', '.#.#.#.#']);
    expect(coalesceTiles(m, { maxRects: 4 })).toEqual([{ x: 0, y: 0, w: 128, h: 48 }]);
    expect(coalesceTiles(m, { maxRects: 8 })).toHaveLength(8);
  });

  it('property: output covers every dirty tile, lies inside the frame, never overlaps', () => {
    const rnd = prng(7);
    for (let iter = 0; iter < 300; iter++) {
      const w = 1 + Math.floor(rnd() * 300);
      const h = 1 + Math.floor(rnd() * 200);
      const m = createTileMap(w, h);
      const density = rnd();
      for (let i = 0; i < m.bits.length; i++) m.bits[i] = rnd() < density * 0.5 ? 1 : 0;
      const rects = coalesceTiles(m, { maxRects: 1 + Math.floor(rnd() * 60), fillRatio: 0.3 + rnd() });
      assertCovers(rects, m);
      for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) expect(overlaps(rects[i]!, rects[j]!)).toBe(false);
      if (countTiles(m) === 0) expect(rects).toEqual([]);
    }
  });
});

describe('diff + coalesce on a 1920x1080 frame', () => {
  it('reports exactly the drawn rectangle', () => {
    const a = createPixelBuffer(1920, 1080);
    const b = copyFrame(a);
    for (let y = 100; y < 164; y++) b.pixels.fill(0xff0000, y * 1920 + 320, y * 1920 + 480);
    const out = createTileMap(1920, 1080);
    expect(diffTiles(a, b, out)).toBe(5 * 10);
    expect(coalesceTiles(out)).toEqual([{ x: 320, y: 96, w: 160, h: 80 }]);
  });
});
