/**
 * Turns a dirty-tile bitmap into a few rectangles for the encoders.
 *
 * 16×16 detection is finer than what is worth sending: every rectangle costs a 12-byte header
 * and per-rectangle encoder overhead (a zlib flush, a JPEG header). So (design-notes §4.1):
 * 1. each tile row becomes horizontal runs of dirty tiles;
 * 2. runs with the same column span in consecutive rows merge into bands;
 * 3. if that still leaves more than `maxRects`, or the dirty tiles fill at least `fillRatio` of
 *    their bounding box, the bounding box is returned instead (the encoders' solid-area search
 *    removes the flat parts cheaply).
 *
 * Output rectangles are clipped to the frame, never overlap, and together cover every dirty
 * tile.
 */
import type { Rect } from '../core/geometry.js';
import { TILE_SIZE, type TileMap } from './tile-diff.js';

export interface CoalesceOptions {
  /** More bands than this → bounding box. Default 50 (libvncserver's maxRectsPerUpdate). */
  maxRects?: number;
  /** Dirty area / bounding-box area at or above this → bounding box. Default 0.75 (x11vnc fs_frac). */
  fillRatio?: number;
}

interface OpenBand {
  tx1: number;
  tx2: number;
  ty1: number;
  ty2: number;
}

export function coalesceTiles(map: TileMap, opts: CoalesceOptions = {}): Rect[] {
  const maxRects = opts.maxRects ?? 50;
  const fillRatio = opts.fillRatio ?? 0.75;
  const { cols, rows, bits } = map;

  const done: OpenBand[] = [];
  let open: OpenBand[] = [];
  let dirtyTiles = 0;
  let bx1 = Infinity, by1 = Infinity, bx2 = -Infinity, by2 = -Infinity;

  for (let ty = 0; ty < rows; ty++) {
    const next: OpenBand[] = [];
    let oi = 0; // open bands are sorted by tx1 and disjoint, like the runs of one row
    let tx = 0;
    const base = ty * cols;
    while (tx < cols) {
      while (tx < cols && !bits[base + tx]) tx++;
      if (tx === cols) break;
      const start = tx;
      while (tx < cols && bits[base + tx]) tx++;
      dirtyTiles += tx - start;
      if (start < bx1) bx1 = start;
      if (tx > bx2) bx2 = tx;
      if (ty < by1) by1 = ty;
      by2 = ty + 1;
      // Close open bands that end before this run; extend the one with the same span.
      while (oi < open.length && open[oi]!.tx1 < start) done.push(open[oi++]!);
      const o = open[oi];
      if (o && o.tx1 === start && o.tx2 === tx) {
        o.ty2 = ty + 1;
        next.push(o);
        oi++;
      } else {
        next.push({ tx1: start, tx2: tx, ty1: ty, ty2: ty + 1 });
      }
    }
    while (oi < open.length) done.push(open[oi++]!);
    open = next;
  }
  done.push(...open);
  if (done.length === 0) return [];

  const toRect = (tx1: number, ty1: number, tx2: number, ty2: number): Rect => {
    const x = tx1 * TILE_SIZE;
    const y = ty1 * TILE_SIZE;
    return { x, y, w: Math.min(map.width, tx2 * TILE_SIZE) - x, h: Math.min(map.height, ty2 * TILE_SIZE) - y };
  };
  const boxTiles = (bx2 - bx1) * (by2 - by1);
  if (done.length > 1 && (done.length > maxRects || dirtyTiles >= fillRatio * boxTiles)) {
    return [toRect(bx1, by1, bx2, by2)];
  }
  done.sort((a, b) => a.ty1 - b.ty1 || a.tx1 - b.tx1);
  return done.map((b) => toRect(b.tx1, b.ty1, b.tx2, b.ty2));
}
