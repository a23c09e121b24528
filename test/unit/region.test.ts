/**
 * Region against a pixel-set model: random sequences of add, addRegion, subtract,
 * subtractRegion, intersect, intersectRegion and translate on a small grid must give the same
 * pixels as a bitmap, and the rectangles must stay disjoint, non-empty and merged where whole
 * edges touch (the batched operations merge once at the end, the single ones after each step).
 */
import { describe, expect, it } from 'vitest';
import { xorshift32 } from '../helpers/rng.js';
import type { Rect } from '../../core/geometry.js';
import { Region } from '../../core/region.js';

const N = 48;

const rng = xorshift32;

/** Pixel set over an (N + 20)² grid offset by 10, so translated regions stay inside. */
class Bitmap {
  readonly bits = new Uint8Array((N + 20) * (N + 20));
  private at(x: number, y: number): number {
    return (y + 10) * (N + 20) + x + 10;
  }
  set(r: Rect, v: 0 | 1): this {
    for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) this.bits[this.at(x, y)] = v;
    return this;
  }
  static of(region: Region): Bitmap {
    const b = new Bitmap();
    for (const r of region.rects()) {
      for (let y = r.y; y < r.y + r.h; y++)
        for (let x = r.x; x < r.x + r.w; x++) {
          // Disjoint: no pixel is covered twice.
          if (b.bits[b.at(x, y)]) throw new Error(`pixel (${x}, ${y}) covered twice by ${JSON.stringify(region.rects())}`);
          b.bits[b.at(x, y)] = 1;
        }
    }
    return b;
  }
  and(o: Bitmap): Bitmap {
    const b = new Bitmap();
    for (let i = 0; i < b.bits.length; i++) b.bits[i] = this.bits[i]! & o.bits[i]!;
    return b;
  }
  or(o: Bitmap): Bitmap {
    const b = new Bitmap();
    for (let i = 0; i < b.bits.length; i++) b.bits[i] = this.bits[i]! | o.bits[i]!;
    return b;
  }
  minus(o: Bitmap): Bitmap {
    const b = new Bitmap();
    for (let i = 0; i < b.bits.length; i++) b.bits[i] = this.bits[i]! & (1 - o.bits[i]!);
    return b;
  }
  shifted(dx: number, dy: number): Bitmap {
    const b = new Bitmap();
    for (let y = -10; y < N + 10; y++)
      for (let x = -10; x < N + 10; x++) if (this.bits[this.at(x, y)]) b.bits[b.at(x + dx, y + dy)] = 1;
    return b;
  }
}

function sameBits(a: Bitmap, b: Bitmap): boolean {
  return Buffer.from(a.bits).equals(Buffer.from(b.bits));
}

function randomRect(rand: () => number): Rect {
  const x = rand() % N;
  const y = rand() % N;
  return { x, y, w: rand() % (N - x + 1), h: rand() % (N - y + 1) };
}

function randomRegion(rand: () => number): Region {
  const r = new Region();
  for (let k = rand() % 6; k > 0; k--) r.add(randomRect(rand));
  return r;
}

/** No two rectangles of `region` share a whole edge (they would have been merged). */
function expectMerged(region: Region): void {
  const rs = region.rects();
  for (const a of rs) {
    for (const b of rs) {
      if ((a.y === b.y && a.h === b.h && a.x + a.w === b.x) || (a.x === b.x && a.w === b.w && a.y + a.h === b.y)) {
        throw new Error(`${JSON.stringify(a)} and ${JSON.stringify(b)} share a whole edge`);
      }
    }
  }
}

describe('Region against a pixel-set model', () => {
  it('gives the same pixels for random sequences of every operation', () => {
    const rand = rng(2024);
    for (let trial = 0; trial < 150; trial++) {
      const region = new Region();
      let model = new Bitmap();
      for (let step = 0; step < 25; step++) {
        const op = rand() % 7;
        if (op === 0) {
          const r = randomRect(rand);
          region.add(r);
          model = model.or(new Bitmap().set(r, 1));
        } else if (op === 1) {
          const o = randomRegion(rand);
          region.addRegion(o);
          model = model.or(Bitmap.of(o));
        } else if (op === 2) {
          const r = randomRect(rand);
          region.subtract(r);
          model = model.minus(new Bitmap().set(r, 1));
        } else if (op === 3) {
          const o = randomRegion(rand);
          region.subtractRegion(o);
          model = model.minus(Bitmap.of(o));
        } else if (op === 4) {
          const r = randomRect(rand);
          expect(sameBits(Bitmap.of(region.intersect(r)), model.and(new Bitmap().set(r, 1))), 'intersect').toBe(true);
        } else if (op === 5) {
          const o = randomRegion(rand);
          expect(sameBits(Bitmap.of(region.intersectRegion(o)), model.and(Bitmap.of(o))), 'intersectRegion').toBe(true);
        } else {
          const dx = (rand() % 9) - 4;
          const dy = (rand() % 9) - 4;
          expect(sameBits(Bitmap.of(region.clone().translate(dx, dy)), model.shifted(dx, dy)), 'translate').toBe(true);
        }
        expect(sameBits(Bitmap.of(region), model), `trial ${trial}, step ${step}, op ${op}`).toBe(true);
        expect(region.area()).toBe(model.bits.reduce((s, v) => s + v, 0));
        expectMerged(region);
      }
    }
  });

  it('adds and subtracts a region to and from itself', () => {
    const r = Region.of({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 0, w: 5, h: 5 });
    expect(r.clone().addRegion(r).rects()).toEqual(r.rects());
    expect(r.clone().subtractRegion(r).isEmpty()).toBe(true);
  });
});
