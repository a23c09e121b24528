/**
 * Trims a dirty area to the pixels that really changed, as a few rectangles rather than one
 * bounding box. Tiles are 16 px and coalescing joins neighbours, so a dirty area often holds
 * changes of different widths stacked on each other: a terminal's new line under the cursor
 * cell the scroll left behind, a short line under a long one. One bounding box would resend
 * the unchanged pixels beside the narrow part; cutting the rows into groups, each with its own
 * column span, sends only what changed while keeping rectangles few.
 *
 * Rows are partitioned by dynamic programming: each group of consecutive rows costs its bounding
 * area plus a fixed charge per rectangle (header, zlib flush and encoder setup, in pixel
 * equivalents); rows without changes may sit inside a group or between groups. Pure; reads
 * both frames only inside `area`.
 */
import type { Rect } from '../core/geometry.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';

/**
 * What one more rectangle costs, in pixels of area: its header, a zlib flush and, in Tight, its
 * palette (up to 3 bytes per colour) — about 150 bytes at text-like compression (0.3 B/px).
 * Measured in `npm run bench`: 512 sends 1–2 % fewer bytes than 128 on the terminal, drag and
 * scroll scenes.
 */
const RECT_COST_PX = 512;
/** Areas with more rows than this between their first and last change get one bounding box (the partition is quadratic in rows). */
const MAX_PARTITION_ROWS = 256;

/**
 * Rectangles, disjoint and inside `area`, covering every pixel of `area` that differs between
 * `prev` and `cur`; `[]` when none does. Frames must have the same size; strides may differ.
 */
export function changedRects(prev: PixelBuffer, cur: PixelBuffer, area: Rect): Rect[] {
  const { x: ax, w: aw } = area;
  const ax2 = ax + aw;
  const cp = cur.pixels;
  const pp = prev.pixels;
  // Changed column span per row, [x1, x2), or x1 = -1 for an unchanged row.
  const n = area.h;
  const x1s = new Int32Array(n).fill(-1);
  const x2s = new Int32Array(n);
  let first = -1;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const y = area.y + i;
    const cb = y * cur.stride;
    const pb = y * prev.stride;
    if (cur.data.compare(prev.data, (pb + ax) * 4, (pb + ax2) * 4, (cb + ax) * 4, (cb + ax2) * 4) === 0) continue;
    let l = ax;
    while (cp[cb + l] === pp[pb + l]) l++;
    let r = ax2 - 1;
    while (cp[cb + r] === pp[pb + r]) r--;
    x1s[i] = l;
    x2s[i] = r + 1;
    if (first < 0) first = i;
    last = i;
  }
  if (first < 0) return [];
  if (last - first + 1 > MAX_PARTITION_ROWS) return [boundingBox(x1s, x2s, first, last, area.y)];
  // best[k]: least cost of rows [first, first + k); from[k]: where its last group starts.
  const m = last - first + 1;
  const best = new Float64Array(m + 1);
  const from = new Int32Array(m + 1);
  for (let k = 1; k <= m; k++) {
    const i = first + k - 1;
    if (x1s[i]! < 0) {
      // No group ends on an unchanged row (ending at the changed row above is never dearer).
      best[k] = best[k - 1]!;
      from[k] = -1;
      continue;
    }
    let l = x1s[i]!;
    let r = x2s[i]!;
    let bestCost = Infinity;
    let bestFrom = k - 1;
    for (let j = k - 1; j >= 0; j--) {
      const row = first + j;
      // A group may span unchanged rows (they cost their width like any other row): splitting
      // at every gap would cost a rectangle each, and an encoder's stream context with it.
      if (x1s[row]! >= 0) {
        if (x1s[row]! < l) l = x1s[row]!;
        if (x2s[row]! > r) r = x2s[row]!;
      }
      const cost = best[j]! + (r - l) * (k - j) + RECT_COST_PX;
      if (cost < bestCost) {
        bestCost = cost;
        bestFrom = j;
      }
    }
    best[k] = bestCost;
    from[k] = bestFrom;
  }
  const out: Rect[] = [];
  for (let k = m; k > 0; ) {
    const j = from[k]!;
    if (j < 0) {
      k--;
      continue;
    }
    out.push(boundingBox(x1s, x2s, first + j, first + k - 1, area.y));
    k = j;
  }
  return out.reverse();
}

/** The bounding box of the changed spans of rows `[i1, i2]` (offsets into the area). */
function boundingBox(x1s: Int32Array, x2s: Int32Array, i1: number, i2: number, y0: number): Rect {
  let l = Infinity;
  let r = -Infinity;
  let top = -1;
  let bottom = -1;
  for (let i = i1; i <= i2; i++) {
    if (x1s[i]! < 0) continue;
    if (top < 0) top = i;
    bottom = i;
    if (x1s[i]! < l) l = x1s[i]!;
    if (x2s[i]! > r) r = x2s[i]!;
  }
  return { x: l, y: y0 + top, w: r - l, h: bottom - top + 1 };
}
