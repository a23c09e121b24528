/**
 * A small colour → index table for palette analysis (Tight, ZRLE, Hextile, the manager's
 * classification). Open addressing over 512 slots with generation stamps, so `clear()` is O(1)
 * and a 64×64 tile or a 65536-pixel piece can be analysed without allocating.
 */
import { ErrorCode, VncError } from '../../core/errors.js';

const SLOTS = 512;
const MASK = SLOTS - 1;

export class Palette {
  /** Colours in insertion order (internal `0x00RRGGBB`); only `[0, size)` is meaningful. */
  readonly colours = new Uint32Array(256);
  /** Pixel counts per colour, maintained by `add`. */
  readonly counts = new Uint32Array(256);
  size = 0;
  private readonly keys = new Uint32Array(SLOTS);
  private readonly index = new Uint16Array(SLOTS);
  private readonly stamp = new Uint32Array(SLOTS);
  private gen = 1;

  constructor(readonly capacity = 256) {
    if (capacity < 1 || capacity > 256) throw new VncError(ErrorCode.Config, 'palette capacity must be 1..256');
  }

  clear(): void {
    this.size = 0;
    this.gen = (this.gen + 1) >>> 0;
    if (this.gen === 0) {
      // Wrapped after 4 billion clears: reset stamps so stale slots cannot look current.
      this.stamp.fill(0);
      this.gen = 1;
    }
  }

  /** Index of `colour`, or -1 when absent. */
  lookup(colour: number): number {
    const h = this.slotOf(colour);
    return this.stamp[h] === this.gen ? this.index[h]! : -1;
  }

  /**
   * Counts `n` more pixels of `colour`, inserting it if new. Returns its index, or -1 when the
   * palette is already full (the colour is then not recorded).
   */
  add(colour: number, n: number): number {
    const h = this.slotOf(colour);
    if (this.stamp[h] === this.gen) {
      const i = this.index[h]!;
      this.counts[i] = this.counts[i]! + n;
      return i;
    }
    if (this.size >= this.capacity) return -1;
    const i = this.size++;
    this.stamp[h] = this.gen;
    this.keys[h] = colour;
    this.index[h] = i;
    this.colours[i] = colour;
    this.counts[i] = n;
    return i;
  }

  /**
   * Reorders the colours by value (ascending), so that indices no longer depend on where in the
   * area each colour first appeared; `lookup` and `counts` follow. Insertion sort: palettes that
   * are sorted hold few colours (ZRLE sorts at most PALETTE_MODE_MAX_COLOURS).
   */
  sortByColour(): void {
    const c = this.colours, k = this.counts;
    for (let i = 1; i < this.size; i++) {
      const v = c[i]!, n = k[i]!;
      let j = i - 1;
      for (; j >= 0 && c[j]! > v; j--) {
        c[j + 1] = c[j]!;
        k[j + 1] = k[j]!;
      }
      c[j + 1] = v;
      k[j + 1] = n;
    }
    for (let i = 0; i < this.size; i++) this.index[this.slotOf(c[i]!)] = i;
  }

  /** The slot holding `colour` (current generation), or else the free slot where it would go. */
  private slotOf(colour: number): number {
    let h = (Math.imul(colour, 0x9e3779b1) >>> 23) & MASK;
    while (this.stamp[h] === this.gen && this.keys[h] !== colour) h = (h + 1) & MASK;
    return h;
  }

  /** Index of the most frequent colour (0 when empty). */
  mostFrequent(): number {
    let best = 0;
    for (let i = 1; i < this.size; i++) if (this.counts[i]! > this.counts[best]!) best = i;
    return best;
  }
}

/**
 * Fills `palette` with the colours of `r` (cleared first), counting pixels per colour.
 * Returns the colour count, or -1 as soon as there are more than `maxColours`.
 * Lookups happen only where the colour changes, so flat areas cost one compare per pixel.
 */
export function analyseColours(
  px: Uint32Array, stride: number, x: number, y: number, w: number, h: number,
  maxColours: number, palette: Palette,
): number {
  palette.clear();
  const limit = Math.min(maxColours, palette.capacity);
  let prev = px[y * stride + x]!;
  let run = 0;
  for (let j = 0; j < h; j++) {
    let s = (y + j) * stride + x;
    const end = s + w;
    for (; s < end; s++) {
      const v = px[s]!;
      if (v === prev) { run++; continue; }
      if (palette.add(prev, run) < 0 || palette.size > limit) return -1;
      prev = v;
      run = 1;
    }
  }
  if (palette.add(prev, run) < 0 || palette.size > limit) return -1;
  return palette.size;
}

/** Is every pixel of the area equal to `colour`? Exits at the first difference. */
export function isSolidArea(px: Uint32Array, stride: number, x: number, y: number, w: number, h: number, colour: number): boolean {
  for (let j = 0; j < h; j++) {
    let s = (y + j) * stride + x;
    const end = s + w;
    for (; s < end; s++) if (px[s] !== colour) return false;
  }
  return true;
}
