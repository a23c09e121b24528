/**
 * What one client still owes and is owed, as state rather than queued frames (TigerVNC's
 * SimpleUpdateTracker + requested region): `changed` accumulates damage since the client's last
 * update, `requested` is the area its outstanding FramebufferUpdateRequests asked for. An update
 * sends `changed ∩ requested` and is regenerated from the current framebuffer each time, so a
 * slow client receives fewer, fresher updates and memory stays bounded.
 */
import type { Rect } from '../../core/geometry.js';
import { Region } from '../../core/region.js';

export class UpdateState {
  readonly changed = new Region();
  readonly requested = new Region();

  /** Damage reported by the desktop. */
  addChanged(rects: readonly Rect[]): void {
    for (const r of rects) this.changed.add(r);
  }

  /** An update request; a non-incremental one also marks the area as changed. */
  addRequest(r: Rect, incremental: boolean): void {
    this.requested.add(r);
    if (!incremental) this.changed.add(r);
  }

  hasRequest(): boolean {
    return !this.requested.isEmpty();
  }

  /** The pixels the next update should carry (does not consume anything). */
  due(): Region {
    return this.changed.intersectRegion(this.requested);
  }

  /** Marks `sent` as delivered and consumes the outstanding request. */
  commit(sent: Region): void {
    this.changed.subtractRegion(sent);
    this.requested.clear();
  }

  /** Forget everything (desktop resized: the whole new screen is changed). */
  reset(full: Rect): void {
    this.changed.clear();
    this.changed.add(full);
  }
}
