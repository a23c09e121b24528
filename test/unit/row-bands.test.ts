/**
 * Row bands for partial captures: tile-aligned in rows and columns, clipped, merged when close,
 * capped in number (closest first), and the helpers that clip rectangles to them and find a rectangle's band.
 */
import { describe, expect, it } from 'vitest';
import { bandContaining, clipRectsToBands, pixelsIn, rowBandsFor } from '../../capture/row-bands.js';

const OPTS = { tile: 16, width: 1920, height: 1080, mergeGap: 32, maxBands: 8 };

describe('rowBandsFor', () => {
  it('covers each rectangle with whole tiles (rows and columns), clipped to the screen', () => {
    expect(rowBandsFor([{ x: 5, y: 20, w: 3, h: 5 }], OPTS)).toEqual([{ x: 0, y: 16, w: 16, h: 16 }]);
    expect(rowBandsFor([{ x: 20, y: 15, w: 13, h: 2 }], OPTS)).toEqual([{ x: 16, y: 0, w: 32, h: 32 }]);
    expect(rowBandsFor([{ x: -30, y: -40, w: 40, h: 50 }], OPTS)).toEqual([{ x: 0, y: 0, w: 16, h: 16 }]);
    expect(rowBandsFor([{ x: 1900, y: 1070, w: 50, h: 50 }], OPTS)).toEqual([{ x: 1888, y: 1056, w: 32, h: 24 }]);
    expect(rowBandsFor([{ x: 0, y: 2000, w: 10, h: 5 }, { x: 0, y: 10, w: 0, h: 5 }, { x: 1920, y: 10, w: 5, h: 5 }], OPTS)).toEqual([]);
  });

  it('reads a band from its leftmost to its rightmost rectangle, tile-aligned', () => {
    // A 640×360 video: its own columns, not the screen's width.
    expect(rowBandsFor([{ x: 520, y: 260, w: 640, h: 360 }], OPTS)).toEqual([{ x: 512, y: 256, w: 656, h: 368 }]);
    // Two changes in rows close enough to share a band: the band spans both.
    expect(rowBandsFor([{ x: 100, y: 100, w: 10, h: 10 }, { x: 900, y: 120, w: 10, h: 10 }], OPTS)).toEqual([{ x: 96, y: 96, w: 816, h: 48 }]);
  });

  it('keeps far-apart changes apart (a text cursor and a task-bar clock) and merges close ones', () => {
    const cursor = { x: 700, y: 400, w: 2, h: 17 };
    const clock = { x: 1840, y: 1052, w: 70, h: 20 };
    expect(rowBandsFor([clock, cursor], OPTS)).toEqual([{ x: 688, y: 400, w: 16, h: 32 }, { x: 1840, y: 1040, w: 80, h: 32 }]);
    // A gap of exactly mergeGap rows is merged; one tile row more is not.
    expect(rowBandsFor([{ x: 0, y: 0, w: 1, h: 16 }, { x: 0, y: 48, w: 1, h: 16 }], OPTS)).toEqual([{ x: 0, y: 0, w: 16, h: 64 }]);
    expect(rowBandsFor([{ x: 0, y: 0, w: 1, h: 16 }, { x: 0, y: 64, w: 1, h: 16 }], OPTS)).toEqual([{ x: 0, y: 0, w: 16, h: 16 }, { x: 0, y: 64, w: 16, h: 16 }]);
    // Overlapping and nested rectangles give one band.
    expect(rowBandsFor([{ x: 0, y: 100, w: 5, h: 100 }, { x: 9, y: 120, w: 5, h: 10 }, { x: 0, y: 190, w: 1, h: 30 }], OPTS)).toEqual([{ x: 0, y: 96, w: 16, h: 128 }]);
  });

  it('merges the closest bands first when there are more than maxBands', () => {
    // Bands at rows 0, 100 (gap 84), 400 (gap 284), 450 (gap 34), 900 (gap 434).
    const rects = [0, 100, 400, 450, 900].map((y) => ({ x: 0, y, w: 1, h: 1 }));
    const three = rowBandsFor(rects, { ...OPTS, maxBands: 3 });
    expect(three).toEqual([{ x: 0, y: 0, w: 16, h: 112 }, { x: 0, y: 400, w: 16, h: 64 }, { x: 0, y: 896, w: 16, h: 16 }]);
    expect(rowBandsFor(rects, { ...OPTS, maxBands: 1 })).toEqual([{ x: 0, y: 0, w: 16, h: 912 }]);
  });

  it('returns sorted, disjoint, tile-aligned bands covering every input pixel (random cases)', () => {
    let seed = 12345;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
    for (let trial = 0; trial < 200; trial++) {
      const rects = Array.from({ length: 1 + rnd(12) }, () => ({ x: rnd(1950) - 10, y: rnd(1100) - 10, w: 1 + rnd(200), h: 1 + rnd(60) }));
      const maxBands = 1 + rnd(6);
      const bands = rowBandsFor(rects, { ...OPTS, maxBands });
      expect(bands.length).toBeLessThanOrEqual(maxBands);
      for (let i = 0; i < bands.length; i++) {
        const b = bands[i]!;
        expect(b.y % 16).toBe(0);
        expect(b.x % 16).toBe(0);
        expect(b.h).toBeGreaterThan(0);
        expect(b.w).toBeGreaterThan(0);
        expect(b.y + b.h).toBeLessThanOrEqual(1080);
        expect(b.x + b.w).toBeLessThanOrEqual(1920);
        // Each band ends on a tile boundary or the screen's edge.
        expect((b.x + b.w) % 16 === 0 || b.x + b.w === 1920).toBe(true);
        if (i > 0) expect(b.y - (bands[i - 1]!.y + bands[i - 1]!.h)).toBeGreaterThan(32);
      }
      for (const r of rects) {
        const x1 = Math.max(0, r.x);
        const x2 = Math.min(1920, r.x + r.w);
        if (x2 <= x1) continue;
        for (let y = Math.max(0, r.y); y < Math.min(1080, r.y + r.h); y++) {
          expect(bands.some((b) => y >= b.y && y < b.y + b.h && x1 >= b.x && x2 <= b.x + b.w)).toBe(true);
        }
      }
      expect(pixelsIn(bands)).toBe(bands.reduce((n, b) => n + b.w * b.h, 0));
    }
  });
});

describe('clipRectsToBands and bandContaining', () => {
  const bands = [{ x: 0, y: 0, w: 64, h: 32 }, { x: 32, y: 100, w: 32, h: 20 }];

  it('cuts a rectangle across a gap into its parts inside the bands, rows and columns', () => {
    expect(clipRectsToBands([{ x: 3, y: 10, w: 40, h: 200 }], bands)).toEqual([
      { x: 3, y: 10, w: 40, h: 22 },
      { x: 32, y: 100, w: 11, h: 20 },
    ]);
    expect(clipRectsToBands([{ x: 3, y: 40, w: 4, h: 50 }], bands)).toEqual([]);
    expect(clipRectsToBands([{ x: 3, y: 100, w: 29, h: 5 }, { x: 64, y: 0, w: 9, h: 5 }], bands)).toEqual([]);
  });

  it('finds the band that holds all of a rectangle, and none for one across a gap or beside a band', () => {
    expect(bandContaining(bands, { x: 32, y: 100, w: 32, h: 20 })).toEqual(bands[1]);
    expect(bandContaining(bands, { x: 0, y: 0, w: 64, h: 32 })).toEqual(bands[0]);
    expect(bandContaining(bands, { x: 40, y: 20, w: 4, h: 90 })).toBeUndefined();
    expect(bandContaining(bands, { x: 40, y: 110, w: 4, h: 11 })).toBeUndefined();
    expect(bandContaining(bands, { x: 31, y: 100, w: 4, h: 10 })).toBeUndefined();
  });
});
