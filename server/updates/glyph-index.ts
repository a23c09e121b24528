/**
 * The glyph blocks one client shows, and where: hash of a block's pixels → those pixels and the
 * positions the client holds them at. It models the client's framebuffer, not ours: a position
 * is recorded when an update that sent the block losslessly has gone out, moves with the
 * CopyRects the client applies (a scrolled terminal's characters move up with the scroll), and
 * is forgotten as soon as an update writes over it. A copy from a recorded position therefore
 * reproduces the recorded pixels whatever our framebuffer holds there meanwhile (the capture
 * may have newer pixels whose damage is still on its way).
 *
 * Bounded: at most MAX_BLOCKS blocks, MAX_STORED_PIXELS pixels and POSITIONS_PER_KEY positions
 * per block; the least recently used block goes first. A client costs a few megabytes at most.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { rectContains, rectsOverlap, type Rect } from '../../core/geometry.js';
import type { Region } from '../../core/region.js';

/** Positions kept per block: one is enough for a copy, a few survive some being overwritten. */
export const POSITIONS_PER_KEY = 4;
/** Pixels stored over all blocks (4 bytes each). */
export const MAX_STORED_PIXELS = 256 * 1024;
/** Blocks kept (each costs a few hundred bytes of bookkeeping besides its pixels). */
export const MAX_BLOCKS = 8192;
/** Block sizes as one number: width × SIZE_KEY + height (heights are below it). */
const SIZE_KEY = 65536;
/** Larger blocks are not recorded: glyphs and words are smaller, and a big block rarely repeats. */
export const MAX_BLOCK_PIXELS = 4096;

interface Entry {
  readonly w: number;
  readonly h: number;
  readonly pixels: Uint32Array;
  /** Where the client shows these pixels, newest first. */
  readonly at: { x: number; y: number }[];
}

export class GlyphIndex {
  /** Map order is use order: the first key is the least recently used. */
  private readonly byKey = new Map<number, Entry>();
  private storedPixels = 0;
  /** How many blocks of each size are recorded, by `w * SIZE_KEY + h` (`sizes`). */
  private readonly sizeCounts = new Map<number, number>();
  /**
   * The character pitch of the monospace text last cut (`textPitch`), or 0: a hint for a
   * rectangle with too few glyphs to show it (a run of digits alone). Only where to cut is taken
   * from it; copies still need identical pixels.
   */
  pitchHint = 0;

  /** Recorded positions in all. */
  get size(): number {
    let n = 0;
    for (const e of this.byKey.values()) n += e.at.length;
    return n;
  }

  get pixelsStored(): number {
    return this.storedPixels;
  }

  /**
   * The recorded pixels of `key` when they are exactly the `w`×`h` block at `offset` of `buf`
   * (row by row), else null. The array is the index's own: pass it back to `learn`, never
   * modify it.
   */
  pixelsOf(key: number, w: number, h: number, buf: Uint32Array, offset: number): Uint32Array | null {
    const e = this.byKey.get(key);
    if (!e || e.w !== w || e.h !== h) return null;
    const px = e.pixels;
    for (let i = 0; i < px.length; i++) if (px[i] !== buf[offset + i]) return null;
    return px;
  }

  /**
   * A position where the client shows the pixels recorded for `key`, outside `avoid` (what this
   * update overwrites before its glyph copies apply), or null.
   */
  positionOutside(key: number, avoid: Region): { x: number; y: number } | null {
    const e = this.byKey.get(key);
    if (!e) return null;
    for (const at of e.at) if (!avoid.intersects({ x: at.x, y: at.y, w: e.w, h: e.h })) return at;
    return null;
  }

  /**
   * The client now shows `pixels` (block `b`'s, row by row, hashed `key`; the index keeps the
   * array) at `b`, exactly.
   */
  learn(b: Rect, key: number, pixels: Uint32Array): void {
    const area = b.w * b.h;
    if (area > MAX_BLOCK_PIXELS || pixels.length !== area) return;
    let e = this.byKey.get(key);
    if (e) {
      this.byKey.delete(key);
      if (e.w !== b.w || e.h !== b.h || !samePixelArrays(e.pixels, pixels)) {
        // Another block with the same hash: the newer one takes the slot.
        this.forget(e);
        e = undefined;
      }
    }
    if (!e) this.admit((e = { w: b.w, h: b.h, pixels, at: [] }));
    const old = e.at.findIndex((p) => p.x === b.x && p.y === b.y);
    if (old >= 0) e.at.splice(old, 1);
    e.at.unshift({ x: b.x, y: b.y });
    if (e.at.length > POSITIONS_PER_KEY) e.at.pop();
    this.byKey.set(key, e);
    for (const [k, l] of this.byKey) {
      if (this.storedPixels <= MAX_STORED_PIXELS && this.byKey.size <= MAX_BLOCKS) break;
      this.byKey.delete(k);
      this.forget(l);
    }
  }

  /**
   * The client applied CopyRects `dest` from (dest − (dx, dy)), in an order where none
   * overwrites another's source: positions wholly inside a source move with it; any other
   * position a destination touches is gone. (A scrolled terminal moves every position, so this
   * and `overwritten` run over all of them on every update; positions are updated in place.)
   */
  moved(dest: readonly Rect[], dx: number, dy: number): void {
    for (const [key, e] of this.byKey) {
      const { w, h, at } = e;
      let n = 0;
      for (const p of at) {
        const to = { x: p.x + dx, y: p.y + dy, w, h };
        if (dest.some((d) => rectContains(d, to))) { p.x = to.x; p.y = to.y; }
        else if (dest.some((d) => rectsOverlap(d, { x: p.x, y: p.y, w, h }))) continue;
        at[n++] = p;
      }
      this.trim(key, e, n);
    }
  }

  /** An update wrote pixels over `region`: positions touching it are gone. */
  overwritten(region: Region): void {
    const box = region.bounds();
    if (!box) return;
    for (const [key, e] of this.byKey) {
      const { w, h, at } = e;
      let n = 0;
      for (const p of at) {
        const r = { x: p.x, y: p.y, w, h };
        if (rectsOverlap(box, r) && region.intersects(r)) continue;
        at[n++] = p;
      }
      this.trim(key, e, n);
    }
  }

  clear(): void {
    this.byKey.clear();
    this.storedPixels = 0;
    this.sizeCounts.clear();
    this.pitchHint = 0;
  }

  /** The sizes of the recorded blocks: width → heights. */
  sizes(): Map<number, Set<number>> {
    const out = new Map<number, Set<number>>();
    for (const size of this.sizeCounts.keys()) {
      const w = Math.floor(size / SIZE_KEY);
      let hs = out.get(w);
      if (!hs) out.set(w, (hs = new Set()));
      hs.add(size % SIZE_KEY);
    }
    return out;
  }

  /** Bookkeeping for an entry joining the index (`forget` undoes it). */
  private admit(e: Entry): void {
    this.storedPixels += e.pixels.length;
    const size = e.w * SIZE_KEY + e.h;
    this.sizeCounts.set(size, (this.sizeCounts.get(size) ?? 0) + 1);
  }

  /** Bookkeeping for an entry leaving the index. */
  private forget(e: Entry): void {
    this.storedPixels -= e.pixels.length;
    const size = e.w * SIZE_KEY + e.h;
    const n = (this.sizeCounts.get(size) ?? 1) - 1;
    if (n > 0) this.sizeCounts.set(size, n);
    else this.sizeCounts.delete(size);
  }

  /** Keeps the first `n` positions of `key`'s entry; an entry left without any goes. */
  private trim(key: number, e: Entry, n: number): void {
    if (n === e.at.length) return;
    e.at.length = n;
    if (n > 0) return;
    this.byKey.delete(key);
    this.forget(e);
  }
}

/** Block `b` of `fb`, row by row, into `out` from `offset` (default: a new array). */
export function blockPixels(fb: PixelBuffer, b: Rect, out: Uint32Array = new Uint32Array(b.w * b.h), offset = 0): Uint32Array {
  const px = fb.pixels;
  let o = offset;
  // Element by element: glyph rows are a few pixels wide, a subarray per row cost more.
  for (let y = b.y; y < b.y + b.h; y++) for (let s = y * fb.stride + b.x, end = s + b.w; s < end; s++) out[o++] = px[s]!;
  return out;
}

function samePixelArrays(a: Uint32Array, b: Uint32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
