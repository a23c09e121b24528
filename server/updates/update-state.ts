/**
 * What one client still owes and is owed, as state rather than queued frames (TigerVNC's
 * SimpleUpdateTracker + requested region):
 * - `changed`: pixels that differ from what the client has, to be sent as pixel data;
 * - `copied` + `delta`: pixels the client can produce itself with CopyRect from its own
 *   framebuffer (source = dest − delta); one delta at a time;
 * - `requested`: the area its outstanding FramebufferUpdateRequests asked for;
 * - `known`: where the client's framebuffer holds pixels we sent (a copy may only read those).
 * An update sends `(copied ∪ changed) ∩ requested`, regenerated from the current framebuffer, so
 * a slow client receives fewer, fresher updates and memory stays bounded.
 */
import { rectContains, translateRect, type Rect } from '../../core/geometry.js';
import { Region } from '../../core/region.js';

export interface PendingCopy {
  readonly region: Region;
  readonly dx: number;
  readonly dy: number;
}

export class UpdateState {
  readonly changed = new Region();
  readonly requested = new Region();
  readonly known = new Region();
  private copied = new Region();
  private dx = 0;
  private dy = 0;

  /** Damage reported by the desktop. */
  addChanged(rects: readonly Rect[]): void {
    for (const r of rects) {
      this.changed.add(r);
      // A pending copy into this area would be overwritten anyway: send pixels instead.
      if (!this.copied.isEmpty()) this.copied.subtract(r);
    }
  }

  /**
   * `dest` now holds what was at `dest − (dx, dy)`. Becomes a CopyRect where the client's own
   * source pixels are right; everything else becomes changed. Only one delta is kept: a second,
   * different copy while one is pending is sent as pixels (always correct, rarely costly).
   */
  addCopied(dest: Rect, dx: number, dy: number, canCopy: boolean): void {
    const destRegion = Region.of(dest);
    const src: Rect = { x: dest.x - dx, y: dest.y - dy, w: dest.w, h: dest.h };
    if (canCopy && !this.copied.isEmpty() && this.copied.intersects(src)) {
      // A continuation (a page scrolled or a window dragged again before the client got the
      // previous step). Where the new source lies inside the pending copy, the client can take
      // the pixels straight from where they were before both moves: the deltas compose
      // (TigerVNC's SimpleUpdateTracker does the same). Everything else needs another delta and
      // goes as pixels: the rest of the new destination (its source was changed or uncovered
      // content) and whatever of the old copy the new one does not cover.
      const composed = this.copied.intersect(src).translate(dx, dy);
      const rest = this.copied.clone().subtractRegion(composed);
      if (composed.area() >= rest.area()) {
        this.changed.addRegion(rest);
        this.changed.addRegion(destRegion.clone().subtractRegion(composed));
        this.changed.subtractRegion(composed);
        this.copied = composed;
        this.dx += dx;
        this.dy += dy;
        return;
      }
    }
    if (!canCopy || (!this.copied.isEmpty() && (dx !== this.dx || dy !== this.dy))) {
      this.addChanged([dest]);
      return;
    }
    if (!this.copied.isEmpty()) {
      // Same delta again before the first was sent: the client would apply the shift once
      // only, so the overlap with the previous copy cannot be a copy. Send it as pixels.
      const overlap = this.copied.intersect(dest);
      const srcOverlap = this.copied.clone().translate(dx, dy).intersect(dest);
      if (!overlap.isEmpty() || !srcOverlap.isEmpty()) {
        this.addChanged([dest]);
        return;
      }
    }
    // Source pixels the client does not have right: stale (pending changes) or never sent.
    const bad = this.changed.intersect(src);
    bad.addRegion(Region.of(src).subtractRegion(this.known));
    bad.translate(dx, dy);
    // The copy replaces whatever was pending in dest; stale source pixels move along with it.
    this.changed.subtract(dest);
    const good = destRegion.clone().subtractRegion(bad);
    this.changed.addRegion(bad);
    if (good.isEmpty()) return;
    this.copied.addRegion(good);
    this.dx = dx;
    this.dy = dy;
  }

  /** An update request; a non-incremental one also marks the area as changed. */
  addRequest(r: Rect, incremental: boolean): void {
    this.requested.add(r);
    if (!incremental) {
      this.changed.add(r);
      this.copied.subtract(r);
    }
  }

  hasRequest(): boolean {
    return !this.requested.isEmpty();
  }

  /** Is there anything to send for the current request? */
  hasDue(): boolean {
    return this.changed.intersectRegion(this.requested).count > 0 || this.copied.intersectRegion(this.requested).count > 0;
  }

  /**
   * Takes what the next update carries and marks it delivered: the copy (only the part inside
   * the request; the rest is demoted to pixels) and the changed pixels, then consumes the
   * request. `requested` is left as it was when `keepRequest` (continuous updates).
   */
  take(keepRequest = false): { copy: PendingCopy | null; changed: Region } {
    let copy: PendingCopy | null = null;
    if (!this.copied.isEmpty()) {
      const inside = this.copied.intersectRegion(this.requested);
      const outside = this.copied.clone().subtractRegion(this.requested);
      this.changed.addRegion(outside);
      if (!inside.isEmpty()) copy = { region: inside, dx: this.dx, dy: this.dy };
      this.copied = new Region();
    }
    const changed = this.changed.intersectRegion(this.requested);
    this.changed.subtractRegion(changed);
    if (copy) this.known.addRegion(copy.region);
    this.known.addRegion(changed);
    if (!keepRequest) this.requested.clear();
    return { copy, changed };
  }

  /** The desktop changed size: the whole new screen is changed, nothing is known. */
  reset(full: Rect): void {
    this.changed.clear();
    this.changed.add(full);
    this.copied = new Region();
    this.known.clear();
  }
}

/**
 * Orders copy rectangles so that none overwrites pixels another still has to read: when content
 * moves down (dy > 0) the bottom rows go first, when it moves right the right columns go first
 * (TigerVNC Region::get_rects(left2right, topdown)).
 */
export function orderCopyRects(rects: Rect[], dx: number, dy: number): Rect[] {
  return rects.sort((a, b) => {
    if (a.y !== b.y) return dy > 0 ? b.y - a.y : a.y - b.y;
    return dx > 0 ? b.x - a.x : a.x - b.x;
  });
}

/**
 * The rectangles to send for `copy`. A copy's region is often fragmented by the pixels that
 * will be sent over it anyway (the cursor cell inside a scrolled terminal splits one copy into
 * five rectangles of 16 bytes each); when every hole in its bounding box is covered by
 * `overwritten` (pixel rectangles of the same update, which the client applies after the
 * copies) and the box's source lies inside `screen`, the box alone is sent: the holes get
 * shifted pixels first and their own pixels right after. Otherwise the region's rectangles.
 */
export function copyRectsFor(copy: PendingCopy, overwritten: Region, screen: Rect): Rect[] {
  const rects = copy.region.rects();
  if (rects.length < 2) return rects;
  const box = copy.region.bounds()!;
  if (!rectContains(screen, box) || !rectContains(screen, translateRect(box, -copy.dx, -copy.dy))) return rects;
  const uncovered = Region.of(box).subtractRegion(copy.region).subtractRegion(overwritten);
  return uncovered.isEmpty() ? [box] : rects;
}
