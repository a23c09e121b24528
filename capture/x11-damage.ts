/**
 * DAMAGE on the root window, used as *hints*: "did anything change since the last poll, and
 * roughly where". The tile diff stays the truth; hints only let a poll skip the capture when
 * nothing happened and restrict the comparison when something did.
 *
 * Level: DeltaRectangles by default. With a Subtract at every capture, the server reports each
 * newly damaged area once per poll interval, instead of ~7 events per printed terminal line at
 * RawRectangles (platform-findings §4). BoundingBox and NonEmpty are available for servers
 * where that is still too chatty.
 *
 * The race that matters: drawing that happens after our Subtract but before the capture reply
 * is both in the captured frame and in the server's damage region, so DeltaRectangles will not
 * report that area again before the next Subtract. Every hint that arrives between `begin()`
 * (which sends the Subtract) and `end()` is therefore also carried over to the next poll.
 */
import type { Rect } from '../core/geometry.js';
import type { X11Connection } from '../core/x11-connection.js';

export type DamageLevel = 'delta' | 'bounding-box' | 'non-empty';

export interface DamageHintsOptions {
  /** Default 'delta' (DeltaRectangles). */
  level?: DamageLevel;
  /** Above this many stored rectangles the hints collapse into "whole screen". Default 128. */
  maxRects?: number;
  /** Called on every DamageNotify, as it arrives: something was drawn. */
  onNotify?: () => void;
}

/** What the hints say about one poll interval. */
export interface DamageSnapshot {
  /** Something may have changed everywhere (overflow, NonEmpty level, whole-screen event). */
  readonly all: boolean;
  /** Where things may have changed (root coordinates, unclipped). Empty when `all`. */
  readonly rects: readonly Rect[];
}

const LEVEL_CODE: Record<DamageLevel, number> = { delta: 1, 'bounding-box': 2, 'non-empty': 3 };

export class DamageHints {
  private current: Rect[] = [];
  private currentAll = false;
  private carry: Rect[] = [];
  private carryAll = false;
  private inWindow = false;
  private readonly unsubscribe: () => void;
  private destroyed = false;

  private constructor(
    private readonly conn: X11Connection,
    private readonly damageExt: any,
    private readonly damageId: number,
    private readonly level: DamageLevel,
    private readonly maxRects: number,
    private readonly onNotify: () => void,
  ) {
    this.unsubscribe = conn.onEvent((ev) => this.onEvent(ev));
  }

  /**
   * Creates a damage object on the root. Returns null when the server has no DAMAGE extension
   * (the caller then polls with full comparisons). The first snapshot is "all".
   */
  static async create(conn: X11Connection, opts: DamageHintsOptions = {}): Promise<DamageHints | null> {
    let ext: any;
    try {
      ext = await conn.require('damage');
    } catch {
      return null;
    }
    const level = opts.level ?? 'delta';
    const id = conn.X.AllocID();
    const hints = new DamageHints(conn, ext, id, level, Math.max(1, opts.maxRects ?? 128), opts.onNotify ?? (() => {}));
    try {
      await conn.request((cb) => {
        ext.Create(id, conn.root, LEVEL_CODE[level]);
        // Create has no reply: a round trip confirms it (or routes its X error here).
        conn.X.GetInputFocus(cb);
      }, { what: 'DamageCreate' });
    } catch {
      hints.unsubscribe();
      return null;
    }
    hints.currentAll = true;
    return hints;
  }

  /**
   * Where the pending hints say things changed (root coordinates, unclipped), 'all' when they
   * say "anywhere", or null when there are none. Read just before `begin()` to capture only
   * those rows.
   */
  pendingRects(): readonly Rect[] | 'all' | null {
    if (this.currentAll) return 'all';
    return this.current.length === 0 ? null : this.current;
  }

  /** True when something was reported since the last `end()` (or is carried over). */
  hasPending(): boolean {
    return this.currentAll || this.current.length > 0;
  }

  /**
   * Starts a capture: clears the server's damage region (Subtract) so that drawing from now on
   * is reported again. Call right before issuing the capture request, on the same connection
   * order-wise.
   */
  begin(): void {
    if (this.destroyed) return;
    this.inWindow = true;
    this.carry = [];
    this.carryAll = false;
    this.subtractAll();
  }

  /** Ends a capture (after its reply arrived): returns the hints for it and starts the next interval. */
  end(): DamageSnapshot {
    const snap: DamageSnapshot = this.currentAll ? { all: true, rects: [] } : { all: false, rects: this.current };
    this.current = this.carry;
    this.currentAll = this.carryAll;
    this.carry = [];
    this.carryAll = false;
    this.inWindow = false;
    return snap;
  }

  /**
   * Forget everything and report "all" next time (a full capture follows: the first one, after
   * a resize, after a failed capture). Clears the server's damage region too: above the
   * NonEmpty level the server reports only drawing that *grows* that region, so without this,
   * drawing where things had been drawn before the reset stayed silent until some later capture
   * happened to subtract (found in `npm run bench`: typed keys got no DamageNotify after a
   * client's first full frame, until the 250 ms safety poll).
   */
  reset(): void {
    this.current = [];
    this.currentAll = true;
    this.carry = [];
    this.carryAll = false;
    this.inWindow = false;
    this.subtractAll();
  }

  /** Destroys the server-side damage object. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.unsubscribe();
    if (!this.conn.closed) {
      try {
        this.damageExt.Destroy(this.damageId);
      } catch {
        // connection going away
      }
    }
  }

  /** Empties the server's damage region (Subtract with no repair region). */
  private subtractAll(): void {
    if (this.destroyed || this.conn.closed) return;
    this.damageExt.Subtract(this.damageId, 0, 0);
  }

  private onEvent(ev: any): void {
    if (ev?.name !== 'DamageNotify' || ev.damage !== this.damageId) return;
    const a = ev.area as Rect | undefined;
    const g = ev.geometry as Rect | undefined;
    const whole =
      this.level === 'non-empty' || !a || (g !== undefined && a.x <= 0 && a.y <= 0 && a.w >= g.w && a.h >= g.h);
    this.add(whole ? null : { x: a!.x, y: a!.y, w: a!.w, h: a!.h });
    this.onNotify();
  }

  private add(r: Rect | null): void {
    if (r === null || this.current.length >= this.maxRects) this.currentAll = true;
    else if (!this.currentAll) this.current.push(r);
    if (this.inWindow) {
      if (r === null || this.carry.length >= this.maxRects) this.carryAll = true;
      else if (!this.carryAll) this.carry.push(r);
    }
    if (this.currentAll) this.current = [];
    if (this.carryAll) this.carry = [];
  }
}
