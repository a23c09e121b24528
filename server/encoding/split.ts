/**
 * Splitting large rectangles into bounded pieces. Bounded pieces keep the memory of one encode
 * call and the latency of one rectangle small, and respect format limits (Tight's 2048-pixel
 * width). Pieces are full-height columns cut into bands, in top-to-bottom, left-to-right order.
 */
import type { Rect } from '../../core/geometry.js';

/** TigerVNC's bounds (EncodeManager SubRectMaxArea / SubRectMaxWidth). */
export const MAX_PIECE_AREA = 65536;
export const MAX_PIECE_WIDTH = 2048;

/**
 * Cuts `r` into pieces of at most `maxArea` pixels and `maxWidth` columns. Columns have nearly
 * equal widths; band heights are rounded down to a multiple of `rowAlign` when that leaves at
 * least one aligned band (ZRLE and Hextile tiles then stay whole).
 */
export function splitRect(r: Rect, maxArea = MAX_PIECE_AREA, maxWidth = MAX_PIECE_WIDTH, rowAlign = 1): Rect[] {
  if (r.w <= 0 || r.h <= 0) return [];
  if (r.w * r.h <= maxArea && r.w <= maxWidth) return [r];
  const columns = Math.ceil(r.w / Math.min(maxWidth, maxArea));
  const colWidth = Math.ceil(r.w / columns);
  let bandHeight = Math.max(1, Math.floor(maxArea / colWidth));
  if (rowAlign > 1 && bandHeight >= rowAlign) bandHeight -= bandHeight % rowAlign;
  const out: Rect[] = [];
  for (let y = 0; y < r.h; y += bandHeight) {
    const h = Math.min(bandHeight, r.h - y);
    for (let x = 0; x < r.w; x += colWidth) {
      out.push({ x: r.x + x, y: r.y + y, w: Math.min(colWidth, r.w - x), h });
    }
  }
  return out;
}

/** Rect clipped to the framebuffer, or null when nothing is left. */
export function clipToFramebuffer(r: Rect, width: number, height: number): Rect | null {
  const x1 = Math.max(0, r.x), y1 = Math.max(0, r.y);
  const x2 = Math.min(width, r.x + r.w), y2 = Math.min(height, r.y + r.h);
  return x2 > x1 && y2 > y1 ? { x: x1, y: y1, w: x2 - x1, h: y2 - y1 } : null;
}

/**
 * `rects` (non-overlapping) with every chain of rectangles of equal x and width, each directly
 * below the previous, joined into one, in reading order. Damage often arrives as bands of one area (a video
 * frame as 192 + 168 rows); joined, an encoder can send it as one image.
 */
export function joinColumns(rects: readonly Rect[]): Rect[] {
  if (rects.length < 2) return [...rects];
  const sorted = [...rects].sort((a, b) => a.x - b.x || a.w - b.w || a.y - b.y);
  const out: Rect[] = [];
  let cur = { ...sorted[0]! };
  for (let i = 1; i < sorted.length; i++) {
    const r = sorted[i]!;
    if (r.x === cur.x && r.w === cur.w && r.y === cur.y + cur.h) cur.h += r.h;
    else { out.push(cur); cur = { ...r }; }
  }
  out.push(cur);
  return out.sort((a, b) => a.y - b.y || a.x - b.x); // reading order, as the damage came
}
