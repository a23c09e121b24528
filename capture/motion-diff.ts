/**
 * One poll's comparison with motion detection: turns "these tiles differ" into "these
 * rectangles moved (CopyRect) + these changed (pixels)", the way TigerVNC's
 * `ComparingUpdateTracker` carries copies into its baseline.
 *
 * Given the tile diff of `prev` → `cur`, the detector's copies are applied to `prev` itself, then
 * the dirty tiles and the copies' tiles are compared again. What still differs is exactly what
 * the copies do not explain (the strip a scroll exposes, the area a moved window uncovered, the
 * few pixels a copy's edge rows do not match), so the result satisfies:
 * `prev` + copies (in any order) + `cur` pixels of `changed` == `cur`, pixel for pixel, inside
 * the compared tiles. When there are copies, the changed rectangles are trimmed to the exact
 * differing pixels (no longer tile-aligned).
 */
import { intersectRect, type Rect } from '../core/geometry.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';
import { applyCopy, type FrameCopy } from './frame-copy.js';
import { changedRects } from './changed-rects.js';
import type { CaptureBand, MotionDetector, MotionHint } from './motion-detect.js';
import { coalesceTiles, type CoalesceOptions } from './tile-coalesce.js';
import { clearTilesInside, diffTiles, markRects, type TileMap } from './tile-diff.js';

/** What a poll reports: copies first, then the changed rectangles of the frame after them. */
export interface MotionDiffResult {
  /** Verified copies; no source overlaps another copy's destination. */
  readonly copies: FrameCopy[];
  /** Coalesced, disjoint rectangles that differ from `prev` after the copies. */
  readonly changed: Rect[];
}

export interface MotionDiffInput {
  /** Last reported frame. Modified: the returned copies are applied to it. */
  readonly prev: PixelBuffer;
  readonly cur: PixelBuffer;
  /**
   * Tiles that may differ: found dirty by `diffTiles(prev, cur, dirty, …)`, or hinted (damage)
   * when no in-place comparison was made (a superset is fine: they are all compared after the
   * copies). Rewritten with what stays dirty.
   */
  readonly dirty: TileMap;
  /** `coalesceTiles(dirty)`: the areas searched for motion (the detector trims each to what changed). */
  readonly rects: readonly Rect[];
  /** Scratch map of the same grid (overwritten). */
  readonly scratch: TileMap;
  readonly detector: MotionDetector;
  readonly hints?: readonly MotionHint[];
  /** Only these bands of `cur` were captured (see `MotionDetector.detect`). */
  readonly valid?: readonly CaptureBand[];
  readonly coalesce?: CoalesceOptions;
}

export function diffWithMotion(input: MotionDiffInput): MotionDiffResult {
  const { prev, cur, dirty, rects, scratch, detector } = input;
  const copies = detector.detect(prev, cur, rects, input.hints, input.valid);
  if (copies.length === 0) return { copies, changed: [...rects] };
  // Copies never read another copy's destination, so the order does not matter here.
  for (const c of copies) applyCopy(prev, c);
  // Only tiles dirty before or under a copy can differ now: elsewhere prev == cur held already.
  // A copy's destination may hold a few pixels the shift does not explain (a terminal's
  // cursor cell on the line that scrolled up; see MotionDetector.detect): they show up here.
  scratch.bits.set(dirty.bits);
  markRects(scratch, copies.map((c) => c.dest));
  // Tiles inside a copy's verified core equal `cur` now (the detector compared them before the
  // copy was applied): comparing them again cost a memcmp of the whole moved area per poll
  // (skipping it, with the run compare in diffTiles, took 14 % off the server's CPU in the
  // terminal scene and 18 % in window drag). Not where another copy's destination may have
  // overwritten them.
  for (const c of copies) {
    if (!c.verified) continue;
    if (copies.some((o) => o !== c && intersectRect(o.dest, c.verified!) !== null)) continue;
    clearTilesInside(scratch, c.verified);
  }
  const n = diffTiles(prev, cur, dirty, scratch);
  if (n === 0) return { copies, changed: [] };
  // Trim each rectangle to the pixels that really differ: around a copy, 16-px tiles would
  // resend up to 15 px of the moved content on every side (it is already right after the copy).
  const changed: Rect[] = [];
  for (const r of coalesceTiles(dirty, input.coalesce)) changed.push(...changedRects(prev, cur, r));
  return { copies, changed };
}
