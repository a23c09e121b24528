/**
 * Row bands for partial captures: tile-aligned, clipped, merged when close, capped in number
 * (closest first), and the helpers that clip rectangles to them and find a rectangle's band.
 */
import { describe, expect, it } from 'vitest';
import { bandContaining, clipRectsToBands, rowBandsFor, rowsIn } from '../../capture/row-bands.js';

const OPTS = { tile: 16, height: 1080, mergeGap: 32, maxBands: 8 };

describe('rowBandsFor', () => {
  it('covers each rectangle with whole tile rows, clipped to the screen', () => {
    expect(rowBandsFor([{ x: 5, y: 20, w: 3, h: 5 }], OPTS)).toEqual([{ y: 16, h: 16 }]);
    expect(rowBandsFor([{ x: 0, y: 15, w: 1, h: 2 }], OPTS)).toEqual([{ y: 0, h: 32 }]);
    expect(rowBandsFor([{ x: 0, y: -40, w: 10, h: 50 }], OPTS)).toEqual([{ y: 0, h: 16 }]);
    expect(rowBandsFor([{ x: 0, y: 1070, w: 10, h: 50 }], OPTS)).toEqual([{ y: 1056, h: 24 }]);
    expect(rowBandsFor([{ x: 0, y: 2000, w: 10, h: 5 }, { x: 0, y: 10, w: 0, h: 5 }], OPTS)).toEqual([]);
  });

  it('keeps far-apart changes apart (a text cursor and a task-bar clock) and merges close ones', () => {
    const cursor = { x: 700, y: 400, w: 2, h: 17 };
    const clock = { x: 1840, y: 1052, w: 70, h: 20 };
    expect(rowBandsFor([clock, cursor], OPTS)).toEqual([{ y: 400, h: 32 }, { y: 1040, h: 32 }]);
    // A gap of exactly mergeGap rows is merged; one tile row more is not.
    expect(rowBandsFor([{ x: 0, y: 0, w: 1, h: 16 }, { x: 0, y: 48, w: 1, h: 16 }], OPTS)).toEqual([{ y: 0, h: 64 }]);
    expect(rowBandsFor([{ x: 0, y: 0, w: 1, h: 16 }, { x: 0, y: 64, w: 1, h: 16 }], OPTS)).toEqual([{ y: 0, h: 16 }, { y: 64, h: 16 }]);
    // Overlapping and nested rectangles give one band.
    expect(rowBandsFor([{ x: 0, y: 100, w: 5, h: 100 }, { x: 9, y: 120, w: 5, h: 10 }, { x: 0, y: 190, w: 1, h: 30 }], OPTS)).toEqual([{ y: 96, h: 128 }]);
  });

  it('merges the closest bands first when there are more than maxBands', () => {
    // Bands at rows 0, 100 (gap 84), 400 (gap 284), 450 (gap 34), 900 (gap 434).
    const rects = [0, 100, 400, 450, 900].map((y) => ({ x: 0, y, w: 1, h: 1 }));
    const three = rowBandsFor(rects, { ...OPTS, maxBands: 3 });
    expect(three).toEqual([{ y: 0, h: 112 }, { y: 400, h: 64 }, { y: 896, h: 16 }]);
    expect(rowBandsFor(rects, { ...OPTS, maxBands: 1 })).toEqual([{ y: 0, h: 912 }]);
  });

  it('returns sorted, disjoint bands covering every input row (random cases)', () => {
    let seed = 12345;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let trial = 0; trial < 200; trial++) {
      const rects = Array.from({ length: 1 + rnd(12) }, () => ({ x: rnd(100), y: rnd(1100) - 10, w: 1 + rnd(50), h: 1 + rnd(60) }));
      const maxBands = 1 + rnd(6);
      const bands = rowBandsFor(rects, { ...OPTS, maxBands });
      expect(bands.length).toBeLessThanOrEqual(maxBands);
      for (let i = 0; i < bands.length; i++) {
        const b = bands[i]!;
        expect(b.y % 16).toBe(0);
        expect(b.h).toBeGreaterThan(0);
        expect(b.y + b.h).toBeLessThanOrEqual(1080);
        if (i > 0) expect(b.y - (bands[i - 1]!.y + bands[i - 1]!.h)).toBeGreaterThan(32);
      }
      for (const r of rects)
        for (let y = Math.max(0, r.y); y < Math.min(1080, r.y + r.h); y++) expect(bands.some((b) => y >= b.y && y < b.y + b.h)).toBe(true);
      expect(rowsIn(bands)).toBe(bands.reduce((n, b) => n + b.h, 0));
    }
  });
});

describe('clipRectsToBands and bandContaining', () => {
  const bands = [{ y: 0, h: 32 }, { y: 100, h: 20 }];

  it('cuts a rectangle across a gap into its parts inside the bands', () => {
    expect(clipRectsToBands([{ x: 3, y: 10, w: 4, h: 200 }], bands)).toEqual([
      { x: 3, y: 10, w: 4, h: 22 },
      { x: 3, y: 100, w: 4, h: 20 },
    ]);
    expect(clipRectsToBands([{ x: 3, y: 40, w: 4, h: 50 }], bands)).toEqual([]);
  });

  it('finds the band that holds all of a row span, and none for a span across a gap', () => {
    expect(bandContaining(bands, 100, 20)).toEqual({ y: 100, h: 20 });
    expect(bandContaining(bands, 0, 32)).toEqual({ y: 0, h: 32 });
    expect(bandContaining(bands, 20, 90)).toBeUndefined();
    expect(bandContaining(bands, 110, 11)).toBeUndefined();
  });
});
