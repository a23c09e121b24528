/**
 * Solid-area search (the idea of TigerVNC's EncodeManager::findSolidRect, written afresh):
 * large single-colour areas inside a damaged rectangle are cut out and sent as one cheap solid
 * rectangle each (Tight fill, RRE with no subrectangles…), and only the remaining strips go
 * through the general encoders.
 *
 * Scan 16×16 blocks in raster order; at the first solid block grow the area block by block
 * (right first, then down, keeping the width×height with the largest area), then pixel by pixel
 * in all four directions. Areas smaller than `minArea` are ignored. The search then continues in
 * the strips left, right and below the area; the strip above was already scanned.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { isSolidArea } from './palette.js';

export interface SolidRect {
  readonly rect: Rect;
  /** Internal `0x00RRGGBB` colour. */
  readonly colour: number;
}

export interface SolidSplit {
  readonly solids: SolidRect[];
  /** What is left of the input, as disjoint rectangles. */
  readonly rest: Rect[];
}

const BLOCK = 16;
/** TigerVNC's SolidBlockMinArea: below this a solid rectangle does not pay for its header. */
export const SOLID_MIN_AREA = 2048;

export function findSolidRects(fb: PixelBuffer, r: Rect, minArea = SOLID_MIN_AREA): SolidSplit {
  const solids: SolidRect[] = [];
  const rest: Rect[] = [];
  const work: Rect[] = [r];
  while (work.length) {
    const R = work.pop()!;
    if (R.w <= 0 || R.h <= 0) continue;
    if (R.w * R.h < minArea) { rest.push(R); continue; }
    const found = searchOne(fb, R, minArea);
    if (!found) { rest.push(R); continue; }
    solids.push(found);
    const S = found.rect;
    if (S.y > R.y) rest.push({ x: R.x, y: R.y, w: R.w, h: S.y - R.y });
    work.push({ x: R.x, y: S.y + S.h, w: R.w, h: R.y + R.h - (S.y + S.h) });
    work.push({ x: S.x + S.w, y: S.y, w: R.x + R.w - (S.x + S.w), h: S.h });
    work.push({ x: R.x, y: S.y, w: S.x - R.x, h: S.h });
  }
  return { solids, rest };
}

function searchOne(fb: PixelBuffer, R: Rect, minArea: number): SolidRect | null {
  const px = fb.pixels, stride = fb.stride;
  const right = R.x + R.w, bottom = R.y + R.h;
  for (let by = R.y; by + BLOCK <= bottom; by += BLOCK) {
    for (let bx = R.x; bx + BLOCK <= right; bx += BLOCK) {
      const c = px[by * stride + bx]!;
      if (!isSolidArea(px, stride, bx, by, BLOCK, BLOCK, c)) continue;
      const S = grow(px, stride, R, bx, by, c);
      if (S.w * S.h >= minArea) return { rect: S, colour: c };
      // Too small: keep scanning (the area may still be part of nothing bigger).
    }
  }
  return null;
}

function grow(px: Uint32Array, stride: number, R: Rect, bx: number, by: number, c: number): Rect {
  const right = R.x + R.w, bottom = R.y + R.h;
  // Block-wise: the widest run of solid blocks on the first block row…
  let w = BLOCK;
  while (bx + w + BLOCK <= right && isSolidArea(px, stride, bx + w, by, BLOCK, BLOCK, c)) w += BLOCK;
  // …then down, narrowing when a row is shorter, remembering the best area seen.
  let bestW = w, bestH = BLOCK, curW = w, h = BLOCK;
  while (by + h + BLOCK <= bottom) {
    let rowW = 0;
    while (rowW < curW && isSolidArea(px, stride, bx + rowW, by + h, BLOCK, BLOCK, c)) rowW += BLOCK;
    if (rowW === 0) break;
    curW = rowW;
    h += BLOCK;
    if (curW * h > bestW * bestH) { bestW = curW; bestH = h; }
  }
  // Pixel-wise in all four directions.
  let x1 = bx, y1 = by, x2 = bx + bestW, y2 = by + bestH;
  while (x2 < right && isSolidArea(px, stride, x2, y1, 1, y2 - y1, c)) x2++;
  while (x1 > R.x && isSolidArea(px, stride, x1 - 1, y1, 1, y2 - y1, c)) x1--;
  while (y2 < bottom && isSolidArea(px, stride, x1, y2, x2 - x1, 1, c)) y2++;
  while (y1 > R.y && isSolidArea(px, stride, x1, y1 - 1, x2 - x1, 1, c)) y1--;
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}
