/**
 * A small seeded pseudo-random generator (mulberry32) for the scene generators. Every scene is a
 * pure function of its seed, so two runs (and two servers in one run) see the same pixels;
 * `Math.random` is never used for content.
 */

/** A deterministic stream of numbers in [0, 1). */
export interface Prng {
  /** Next number in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
}

/** Creates the generator for `seed` (any 32-bit integer; other numbers are truncated). */
export function createPrng(seed: number): Prng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => {
      if (list.length === 0) throw new RangeError('pick from an empty list');
      return list[Math.floor(next() * list.length)]!;
    },
  };
}

/** Mixes a seed with a sub-stream index, so related generators do not share a sequence. */
export function subSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
