/**
 * How a Tight piece is cut into rectangles. Tight has one palette per rectangle, so a 65536-pixel
 * piece of a smooth gradient (a wallpaper) has thousands of colours and would go out as
 * full-colour TPIXELs (3 bytes a pixel before zlib), while any 64×32 part of it has a handful.
 * ZRLE gets this for free from its 64×64 tiles; Tight gets it here.
 *
 * The piece is cut across its longer side into slabs of about SLAB_AREA pixels, each analysed
 * once (a slab stops at 257 colours, so noise costs little). Neighbouring slabs are then merged
 * greedily while their colours together still fit one palette: flat content ends up as one
 * rectangle, exactly as without the cut. A merged group is sent with a palette only when it
 * passes TigerVNC's colours-per-area rule for its own area; the others, and slabs that overflowed,
 * are merged into as few full-colour rectangles as possible, because every rectangle costs a
 * 12-byte header and a zlib flush (a thread-pool hop).
 */
import type { Rect } from '../../core/geometry.js';
import { analyseColours, Palette } from './palette.js';

/** Pixels per slab: small enough to find local palettes, large enough to keep rectangles few. */
export const SLAB_AREA = 2048;

/** Receives the parts of a piece in order; they tile it exactly. */
export interface TightPartSink {
  /** A part whose `palette.size` colours (1–256) are in `palette` (valid during this call only). */
  palette(r: Rect, palette: Palette): void;
  /** A part to send in full colour. */
  fullColour(r: Rect): void;
}

/**
 * Reusable state for `cutPiece` (two palettes): one per encoder, never shared between
 * concurrent callers (cutPiece is synchronous, so an encoder's calls never overlap).
 */
export class TightCutter {
  private readonly slab = new Palette(256);
  private readonly group = new Palette(256);

  /**
   * Cuts `r` into palette and full-colour parts and hands them to `sink` in reading order of the
   * cut. `maxColours(area)` is the palette limit for a part of `area` pixels.
   */
  cutPiece(px: Uint32Array, stride: number, r: Rect, maxColours: (area: number) => number, sink: TightPartSink): void {
    const alongX = r.w >= r.h;
    const long = alongX ? r.w : r.h, short = alongX ? r.h : r.w;
    const step = Math.max(1, Math.ceil(SLAB_AREA / short));
    const slabRect = (from: number, to: number): Rect => alongX
      ? { x: r.x + from, y: r.y, w: to - from, h: r.h }
      : { x: r.x, y: r.y + from, w: r.w, h: to - from };
    const group = this.group, slab = this.slab;
    let groupFrom = 0; // start of the palette group being built (valid when group.size > 0)
    let fullFrom = -1; // start of the pending full-colour run, or -1
    group.clear();

    const flushFull = (to: number): void => {
      if (fullFrom >= 0) sink.fullColour(slabRect(fullFrom, to));
      fullFrom = -1;
    };
    const closeGroup = (to: number): void => {
      if (group.size === 0) return;
      const g = slabRect(groupFrom, to);
      if (group.size <= maxColours(g.w * g.h)) {
        flushFull(groupFrom);
        sink.palette(g, group);
      } else if (fullFrom < 0) {
        fullFrom = groupFrom;
      }
      group.clear();
    };

    for (let from = 0; from < long; from += step) {
      const to = Math.min(long, from + step);
      const s = slabRect(from, to);
      if (analyseColours(px, stride, s.x, s.y, s.w, s.h, 256, slab) < 0) {
        closeGroup(from);
        if (fullFrom < 0) fullFrom = from;
        continue;
      }
      if (group.size > 0 && !fitsUnion(group, slab)) closeGroup(from);
      if (group.size === 0) groupFrom = from;
      for (let i = 0; i < slab.size; i++) group.add(slab.colours[i]!, slab.counts[i]!);
    }
    closeGroup(long);
    flushFull(long);
  }
}

/** Would `a ∪ b` still fit `a`'s capacity? */
function fitsUnion(a: Palette, b: Palette): boolean {
  let extra = 0;
  for (let i = 0; i < b.size; i++) if (a.lookup(b.colours[i]!) < 0) extra++;
  return a.size + extra <= a.capacity;
}
