/**
 * Finds which 16×16 tiles differ between two frames of the same size.
 *
 * Row-first, because that is what is fast in Node (platform-findings §7, design-notes §4.1):
 * one native `Buffer.compare` (memcmp) per scanline span says whether anything differs at all;
 * only on the rare rows that differ does a `Uint32Array` loop find the dirty tiles, skipping
 * tiles already known dirty. An unchanged 1080p frame costs about 1080 memcmp calls.
 *
 * The result is a tile bitmap ({@link TileMap}); turning it into rectangles is
 * `tile-coalesce.ts`'s job.
 */
import type { Rect } from '../core/geometry.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';

/** Tile side in pixels. */
export const TILE_SIZE = 16;

/**
 * One byte per tile, row-major (`bits[ty * cols + tx]`), non-zero = set. The last column and
 * row of tiles may be partial when the frame size is not a multiple of {@link TILE_SIZE}.
 */
export interface TileMap {
  readonly cols: number;
  readonly rows: number;
  /** Frame size the map covers, in pixels. */
  readonly width: number;
  readonly height: number;
  readonly bits: Uint8Array;
}

export function createTileMap(width: number, height: number): TileMap {
  const cols = Math.ceil(width / TILE_SIZE);
  const rows = Math.ceil(height / TILE_SIZE);
  return { cols, rows, width, height, bits: new Uint8Array(cols * rows) };
}

/** Number of set tiles. */
export function countTiles(map: TileMap): number {
  let n = 0;
  const b = map.bits;
  for (let i = 0; i < b.length; i++) if (b[i]) n++;
  return n;
}

/**
 * Sets every tile that overlaps one of `rects` (clipped to the frame) and returns `map`. Used
 * to turn damage hints into the set of tiles worth comparing.
 */
export function markRects(map: TileMap, rects: Iterable<Rect>): TileMap {
  for (const r of rects) {
    const x1 = Math.max(0, r.x);
    const y1 = Math.max(0, r.y);
    const x2 = Math.min(map.width, r.x + r.w);
    const y2 = Math.min(map.height, r.y + r.h);
    if (x2 <= x1 || y2 <= y1) continue;
    const tx1 = Math.floor(x1 / TILE_SIZE);
    const tx2 = Math.ceil(x2 / TILE_SIZE);
    const ty2 = Math.ceil(y2 / TILE_SIZE);
    for (let ty = Math.floor(y1 / TILE_SIZE); ty < ty2; ty++) map.bits.fill(1, ty * map.cols + tx1, ty * map.cols + tx2);
  }
  return map;
}

/**
 * Clears every tile of `map` that lies wholly inside `r` (a tile at the frame's right or bottom
 * edge counts as whole when `r` reaches that edge) and returns `map`.
 */
export function clearTilesInside(map: TileMap, r: Rect): TileMap {
  const x2 = Math.min(map.width, r.x + r.w);
  const y2 = Math.min(map.height, r.y + r.h);
  const tx1 = Math.ceil(Math.max(0, r.x) / TILE_SIZE);
  const ty1 = Math.ceil(Math.max(0, r.y) / TILE_SIZE);
  // A tile ends at min(frame edge, next multiple of 16).
  const tx2 = x2 === map.width ? map.cols : Math.floor(x2 / TILE_SIZE);
  const ty2 = y2 === map.height ? map.rows : Math.floor(y2 / TILE_SIZE);
  for (let ty = ty1; ty < ty2; ty++) if (tx2 > tx1) map.bits.fill(0, ty * map.cols + tx1, ty * map.cols + tx2);
  return map;
}

/**
 * Compares `prev` and `cur` and sets in `out` (cleared first) every tile with at least one
 * differing pixel. When `candidates` is given, only its set tiles are compared (damage hints);
 * tiles outside it are reported clean even if they differ. Returns the number of dirty tiles.
 *
 * Both frames and `out` must have the same width and height; strides may differ.
 */
export function diffTiles(prev: PixelBuffer, cur: PixelBuffer, out: TileMap, candidates?: TileMap): number {
  const { width, height, cols, rows } = out;
  if (prev.width !== width || prev.height !== height || cur.width !== width || cur.height !== height) {
    throw new RangeError(`diffTiles: frames ${prev.width}x${prev.height} / ${cur.width}x${cur.height} vs map ${width}x${height}`);
  }
  if (candidates && (candidates.cols !== cols || candidates.rows !== rows)) {
    throw new RangeError('diffTiles: candidate map has a different grid');
  }
  const bits = out.bits;
  bits.fill(0);
  const pa = prev.data;
  const ca = cur.data;
  const pp = prev.pixels;
  const cp = cur.pixels;
  const spans: number[] = []; // [tx1, tx2) pairs of candidate tile columns in the current tile row
  let dirty = 0;

  for (let ty = 0; ty < rows; ty++) {
    const rowBase = ty * cols;
    spans.length = 0;
    if (candidates) {
      const cb = candidates.bits;
      let tx = 0;
      while (tx < cols) {
        while (tx < cols && !cb[rowBase + tx]) tx++;
        if (tx === cols) break;
        const start = tx;
        while (tx < cols && cb[rowBase + tx]) tx++;
        spans.push(start, tx);
      }
      if (spans.length === 0) continue;
    } else {
      spans.push(0, cols);
    }

    const y1 = ty * TILE_SIZE;
    const y2 = Math.min(height, y1 + TILE_SIZE);
    let clean = 0; // tiles of this row not yet known dirty, within the spans
    for (let s = 0; s < spans.length; s += 2) clean += spans[s + 1]! - spans[s]!;

    for (let y = y1; y < y2 && clean > 0; y++) {
      const prow = y * prev.stride;
      const crow = y * cur.stride;
      for (let s = 0; s < spans.length; s += 2) {
        const tx1 = spans[s]!;
        const tx2 = spans[s + 1]!;
        const px1 = tx1 * TILE_SIZE;
        const px2 = Math.min(width, tx2 * TILE_SIZE);
        // Native memcmp of the whole span: the common "nothing changed here" answer.
        if (ca.compare(pa, (prow + px1) * 4, (prow + px2) * 4, (crow + px1) * 4, (crow + px2) * 4) === 0) continue;
        for (let tx = tx1; tx < tx2; tx++) {
          if (bits[rowBase + tx]) continue;
          // A run of tiles not yet dirty: one memcmp for all of them first. Tiles that stay
          // clean while the rest of their row changes (the blank end of a scrolled terminal's
          // lines) were otherwise scanned pixel by pixel on every row (11 % of the server's
          // time in the terminal scene).
          let end = tx + 1;
          while (end < tx2 && !bits[rowBase + end]) end++;
          if (end - tx > 1) {
            const rx1 = tx * TILE_SIZE;
            const rx2 = Math.min(width, end * TILE_SIZE);
            if (ca.compare(pa, (prow + rx1) * 4, (prow + rx2) * 4, (crow + rx1) * 4, (crow + rx2) * 4) === 0) {
              tx = end - 1;
              continue;
            }
          }
          for (; tx < end; tx++) {
            const x1 = tx * TILE_SIZE;
            const x2 = Math.min(width, x1 + TILE_SIZE);
            for (let x = x1; x < x2; x++) {
              if (pp[prow + x] !== cp[crow + x]) {
                bits[rowBase + tx] = 1;
                dirty++;
                clean--;
                break;
              }
            }
          }
          tx = end - 1;
        }
      }
    }
  }
  return dirty;
}
