/**
 * The X11 screen as a frame source: what the composition root wraps into the server's
 * `Desktop` (framebuffer + poll + cursor + resize + fatal error).
 *
 * Each poll captures the root (MIT-SHM or GetImage; with DAMAGE hints covering at most 3/4 of
 * the rows, only those rows), compares it with the last reported frame in 16×16 tiles, and
 * returns the rectangles that really changed (coalesced, then trimmed to the changed pixels by
 * `changed-rects.ts`). DAMAGE events are only hints (x11vnc's lesson: damage can be wrong):
 * with no damage since the last poll the capture is skipped, with some the comparison is
 * limited to the hinted tiles, and one slice of the screen (1/`VERIFY_SLICES` of its rows) is
 * compared in full every `verifyIntervalMs / VERIFY_SLICES`, so every row is checked at least
 * every `verifyIntervalMs` whatever DAMAGE says.
 *
 * Buffers: `framebuffer` always equals "everything reported so far". A poll grabs into a
 * second buffer; after a full comparison the two are swapped (no 8 MB copy), after a
 * hint-limited one only the reported rectangles are copied across, because pixels outside the
 * hints were not compared and must not slip into the framebuffer unreported.
 *
 * `pollMotion()` also detects motion (scrolling, moved windows; `motion-detect.ts`): the copies
 * are applied to the comparison baseline and reported before the rectangles that still differ
 * (the exposed strip, and the few pixels a copy's edge rows did not explain), so a scroll costs
 * a CopyRect plus what is really new. `poll()` never detects motion.
 *
 * Uses its own X connection so capture round trips never queue behind input or clipboard
 * traffic.
 */
import { ErrorCode, VncError } from '../core/errors.js';
import type { Rect } from '../core/geometry.js';
import { silentLogger, type Logger } from '../core/log.js';
import { createPixelBuffer, type PixelBuffer } from '../core/pixel-buffer.js';
import { openX11, type X11Connection } from '../core/x11-connection.js';
import { coalesceTiles, type CoalesceOptions } from './tile-coalesce.js';
import { MotionDetector, type FrameCopy, type MotionDetectorOptions, type MotionStats } from './motion-detect.js';
import { clipRectsToBands, pixelsIn, rowBandsFor, type CaptureBand, type RowBand } from './row-bands.js';
import { diffWithMotion, type MotionDiffResult } from './motion-diff.js';
import { changedRects } from './changed-rects.js';
import { TILE_SIZE, createTileMap, diffTiles, markRects, type TileMap } from './tile-diff.js';
import { CursorWatcher, type CursorImage } from './x11-cursor.js';
import { BellWatcher } from './x11-bell.js';
import { DamageHints, type DamageLevel } from './x11-damage.js';
import { setScreenSize, type ResizeStatusValue } from './x11-randr-resize.js';
import { X11FrameGrabber, isXError, rootSize, type GrabMethod } from './x11-frame-grabber.js';

export type { CursorImage } from './x11-cursor.js';
export type { FrameCopy } from './motion-detect.js';

/** One `pollMotion()` result, in the order a client must apply it. */
export interface MotionPoll {
  /** `framebuffer[dest]` now equals the previous frame at `dest − (dx, dy)`; verified. */
  readonly copies: FrameCopy[];
  /** Rectangles that changed in the frame after the copies (coalesced, disjoint). */
  readonly changed: Rect[];
}

/** Callbacks of {@link X11ScreenSource}. All optional; may be replaced with `setHandlers`. */
export interface ScreenSourceHandlers {
  /** The pointer shape changed (the shape at open time is in `cursor`). */
  cursor?(image: CursorImage): void;
  /** The screen changed size; `framebuffer` already has the new size and real pixels. */
  resize?(width: number, height: number): void;
  /** Something rang the X bell (XKB BellNotify; bursts merged, see BellWatcher). */
  bell?(): void;
  /**
   * Something was drawn (a DAMAGE event), as it happens: a poll now would find it. Only with
   * DAMAGE (see `reportsChanges`).
   */
  changed?(): void;
  /** The X connection was lost or capture failed for good. Called once; the source is closed. */
  fatal?(err: VncError): void;
}

export interface X11ScreenSourceOptions {
  /** X display (":N"); defaults to `$DISPLAY`. */
  display?: string;
  /** Deadline for connecting (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** Use MIT-SHM when usable (default true). */
  useShm?: boolean;
  /** Use DAMAGE hints when available (default true). */
  useDamage?: boolean;
  damageLevel?: DamageLevel;
  /**
   * With DAMAGE, compare every row in full at least this often (ms), one slice at a time.
   * Default 4000: a slice of 1/8 of the screen every 500 ms.
   */
  verifyIntervalMs?: number;
  /** Track the cursor shape through XFIXES (default true). */
  trackCursor?: boolean;
  /** Watch the X bell through XKB (default true). */
  watchBell?: boolean;
  /** Largest cursor side accepted (default 512). */
  maxCursorSide?: number;
  coalesce?: CoalesceOptions;
  /** Motion detection for `pollMotion()`: options, or false to turn it off. Default on. */
  motion?: boolean | MotionDetectorOptions;
  handlers?: ScreenSourceHandlers;
  logger?: Logger;
}

/** Counters for logs and benchmarks. */
export interface ScreenSourceStats {
  polls: number;
  /** Polls answered without capturing (no damage reported). */
  skipped: number;
  captures: number;
  fullCompares: number;
  /** Comparisons limited to the tiles DAMAGE hinted at. */
  limitedCompares: number;
  /**
   * Of those, polls whose copies were found by searching the hinted tiles before any in-place
   * comparison (only the tiles the copies do not explain were compared in place).
   */
  motionFirst: number;
  /** Dirty tiles that a verifying comparison found outside the damage hints (damage misses). */
  missedTiles: number;
  /** Verify slices compared in full next to the hinted tiles. */
  verifiedSlices: number;
  /** Captures of only the damaged rows (small changes), in one or more bands. */
  bandCaptures: number;
  /** Bands read by those captures (more than one when the damage is scattered). */
  bandsCaptured: number;
  /** Pixels those captures read: the damaged tiles' columns of the damaged rows. */
  bandPixels: number;
}

/**
 * A poll captures only the damaged tiles' bands when they are at most this share of the
 * screen's area: a video, a terminal, a dragged or a scrolled window then costs its own part
 * of the screen in SHM copying and comparison instead of the whole screen. (Rows alone, as
 * before, put a 1280×1000 browser window scrolling on a 1080-row screen over the share: every
 * frame read and compared the whole screen, 8.3 MB, for 5.2 MB of window.)
 */
const BAND_MAX_SHARE = 0.75;
/**
 * Damaged rows this close together are captured as one band; more than MAX_BANDS bands are
 * merged, closest first (`row-bands.ts`). A band costs a request and a read, about what copying
 * a few dozen rows costs.
 */
const BAND_MERGE_GAP_ROWS = 2 * TILE_SIZE;
const MAX_BANDS = 8;

/**
 * The full verification against missed damage runs in this many slices of rows. A full-screen
 * grab and comparison every second cost ~4 ms of CPU at 1080p (the 8 MB read from the SHM
 * segment and the diff) — most of an idle session's CPU, and a second's worth of a typing
 * session's band captures; a slice costs an eighth of it.
 */
const VERIFY_SLICES = 8;
const DEFAULT_VERIFY_INTERVAL_MS = 4000;
/** A verify slice is due once this share of its interval is left (timer jitter; see pollNow). */
const VERIFY_SLACK = 0.1;

export class X11ScreenSource {
  private front: PixelBuffer;
  private back: PixelBuffer;
  private dirty: TileMap;
  private candidates: TileMap;
  private handlers: ScreenSourceHandlers;
  private lastVerify = 0;
  /** Index of the next verify slice. */
  private verifySlice = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private isClosed = false;
  private closing: Promise<void> | null = null;
  private bellWatcher: BellWatcher | null = null;
  private readonly motion: MotionDetector | null;
  private readonly log: Logger;
  readonly stats: ScreenSourceStats = { polls: 0, skipped: 0, captures: 0, fullCompares: 0, limitedCompares: 0, motionFirst: 0, missedTiles: 0, bandCaptures: 0, bandsCaptured: 0, bandPixels: 0, verifiedSlices: 0 };

  private constructor(
    private readonly conn: X11Connection,
    private readonly grabber: X11FrameGrabber,
    private readonly damage: DamageHints | null,
    private cursorWatcher: CursorWatcher | null,
    private readonly opts: X11ScreenSourceOptions,
  ) {
    this.handlers = opts.handlers ?? {};
    this.log = (opts.logger ?? silentLogger).child('capture');
    this.front = createPixelBuffer(grabber.width, grabber.height);
    this.back = createPixelBuffer(grabber.width, grabber.height);
    this.dirty = createTileMap(grabber.width, grabber.height);
    this.candidates = createTileMap(grabber.width, grabber.height);
    this.motion = opts.motion === false ? null : new MotionDetector(opts.motion === true ? {} : opts.motion);
  }

  /**
   * Connects, prepares capture, and grabs a first frame: `framebuffer` holds real pixels when
   * this resolves. The first `poll()` then compares the whole screen with that frame.
   */
  static async open(opts: X11ScreenSourceOptions = {}): Promise<X11ScreenSource> {
    const conn = await openX11({ display: opts.display, timeoutMs: opts.connectTimeoutMs, shm: opts.useShm !== false });
    let grabber: X11FrameGrabber | null = null;
    let damage: DamageHints | null = null;
    try {
      grabber = await X11FrameGrabber.create(conn, { useShm: opts.useShm });
      // The source does not exist yet when events may start: route through a late-bound holder.
      const late: { src: X11ScreenSource | null } = { src: null };
      damage = opts.useDamage === false ? null : await DamageHints.create(conn, { level: opts.damageLevel, onNotify: () => late.src?.handlers.changed?.() });
      const src = new X11ScreenSource(conn, grabber, damage, null, opts);
      late.src = src;
      await src.grabber.grab(src.front);
      src.stats.captures++;
      if (opts.trackCursor !== false) {
        src.cursorWatcher = await CursorWatcher.create(conn, {
          maxSide: opts.maxCursorSide,
          onCursor: (img) => src.handlers.cursor?.(img),
          onError: (err) => src.log.warn('cursor image unavailable', { err }),
        });
      }
      if (opts.watchBell !== false) src.bellWatcher = await BellWatcher.create(conn, { onBell: () => src.handlers.bell?.() });
      await src.watchScreenSize();
      conn.onClose((err) => {
        if (err) src.fail(err);
      });
      conn.onError((err) => src.log.debug('unclaimed X error', { err }));
      src.log.info('capturing X screen', {
        display: conn.displayName,
        size: `${grabber.width}x${grabber.height}`,
        method: grabber.method,
        damage: damage ? (opts.damageLevel ?? 'delta') : 'off',
      });
      return src;
    } catch (err) {
      damage?.destroy();
      await grabber?.close();
      await conn.close();
      throw err instanceof VncError ? err : new VncError(ErrorCode.Desktop, 'cannot start X screen capture', { cause: err });
    }
  }

  /** The last reported screen contents (BGRX). Replaced, not only rewritten, by poll() and resizes. */
  get framebuffer(): PixelBuffer {
    return this.front;
  }

  /** The cursor shape displayed now, or null without XFIXES. */
  get cursor(): CursorImage | null {
    return this.cursorWatcher?.current ?? null;
  }

  get method(): GrabMethod {
    return this.grabber.method;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Motion detection counters, or null when it is off. */
  get motionStats(): MotionStats | null {
    return this.motion?.stats ?? null;
  }

  /** True when DAMAGE events report changes as they happen (the `changed` handler fires). */
  get reportsChanges(): boolean {
    return this.damage !== null;
  }

  setHandlers(handlers: ScreenSourceHandlers): void {
    this.handlers = handlers;
  }

  /**
   * Captures now and returns the rectangles that changed since the previous poll (verified by
   * comparison, coalesced, inside the screen, disjoint). Not to be called concurrently with
   * itself (calls are queued if it is). Rejects with `VNC_ERR_DESKTOP` once closed.
   */
  poll(): Promise<Rect[]> {
    return this.serial(async () => (await this.pollNow(false)).changed);
  }

  /**
   * Like `poll()`, and also reports motion: `copies` (verified CopyRects from the previous
   * frame, whose sources never overlap another copy's destination) to be applied before
   * `changed`. Without motion detection (`motion: false`) `copies` is always empty.
   */
  pollMotion(): Promise<MotionPoll> {
    return this.serial(() => this.pollNow(true));
  }

  /**
   * Asks the X server for a new screen size through RANDR (RFB SetDesktopSize). On success the
   * framebuffer has the new size and real pixels when this resolves, the `resize` handler has
   * been called, and the next poll compares the whole screen. Resolves to an RFB
   * ExtendedDesktopSize status (0 ok, 1 prohibited, 2 out of resources, 3 invalid layout).
   */
  setSize(width: number, height: number): Promise<ResizeStatusValue> {
    return this.serial(async () => {
      if (this.isClosed) throw new VncError(ErrorCode.Desktop, 'X screen source is closed');
      const status = await setScreenSize(this.conn, width, height);
      if (status === 0) await this.checkSize();
      return status;
    });
  }

  /** Stops capturing and closes the X connection. Idempotent; never rejects. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.isClosed = true;
    this.closing = (async () => {
      await this.chain.catch(() => {});
      this.cursorWatcher?.close();
      this.bellWatcher?.close();
      this.damage?.destroy();
      await this.grabber.close();
      await this.conn.close();
    })();
    return this.closing;
  }

  private async pollNow(detectMotion: boolean): Promise<MotionPoll> {
    if (this.isClosed) throw new VncError(ErrorCode.Desktop, 'X screen source is closed');
    this.stats.polls++;
    // After open or a resize the damage hints say "all" (and without DAMAGE every poll does), so
    // the first poll captures and compares the whole screen against the frame grabbed then,
    // which is what clients were sent: frames minutes old get corrected, and nothing is sent
    // twice. (Reporting the whole screen instead sent a resized client the new screen twice,
    // about one resize in four in `server-first-frame.test.ts`.)
    const none = (): MotionPoll => ({ copies: [], changed: [] });
    const now = Date.now();
    const damage = this.damage;
    // Without DAMAGE every poll captures and compares the whole screen. A slice is due a little
    // before its interval has passed: idle polls come at that same interval (the frame clock's
    // safety poll), and one that fired a millisecond early must not push the slice a whole
    // interval back.
    const sliceEvery = (this.opts.verifyIntervalMs ?? DEFAULT_VERIFY_INTERVAL_MS) / VERIFY_SLICES;
    const slice = damage && now - this.lastVerify >= sliceEvery * (1 - VERIFY_SLACK) ? this.nextVerifySlice() : null;
    const sliceRect = slice ? { x: 0, y: slice.y, w: this.back.width, h: slice.h } : null;
    // One cheap round trip first, so every DamageNotify the server generated before this poll
    // has been read (otherwise a change drawn just before the poll would wait a frame).
    if (damage && !slice && !damage.hasPending()) await this.conn.sync();
    if (damage && !slice && !damage.hasPending()) {
      this.stats.skipped++;
      return none();
    }

    // Damage that leaves rows untouched (a typed character, a video, a terminal): capture only
    // the rows it touches, and of them only the tile columns it touches, and the verify slice
    // (whole rows) if one is due, as separate bands when they are far apart (a text cursor and
    // a clock). Pixels outside the bands stay stale in `back`, so such a poll compares only
    // hinted tiles and the slice inside the bands, and motion detection reads only the bands of
    // the new frame (moved content's old and new places are both damaged, so both are in them).
    let bands: CaptureBand[] | null = null;
    let bandPixels = 0;
    const pending = damage ? damage.pendingRects() : 'all';
    if (pending !== 'all') {
      const wanted = [...(pending ?? []), ...(sliceRect ? [sliceRect] : [])];
      const found = rowBandsFor(wanted, { tile: TILE_SIZE, width: this.back.width, height: this.back.height, mergeGap: BAND_MERGE_GAP_ROWS, maxBands: MAX_BANDS });
      bandPixels = pixelsIn(found);
      if (found.length > 0 && bandPixels <= this.back.width * this.back.height * BAND_MAX_SHARE) bands = found;
    }
    damage?.begin();
    try {
      if (bands) {
        await this.grabber.grabBands(this.back, bands);
        this.stats.bandCaptures++;
        this.stats.bandsCaptured += bands.length;
        this.stats.bandPixels += bandPixels;
      }
      else await this.grabber.grab(this.back);
    } catch (err) {
      damage?.reset();
      if (isXError(err) && !this.conn.closed) {
        // Most likely the screen shrank before its notify reached us: re-read the size. The
        // resize handler has told the clients, who get the new screen whole.
        if (await this.checkSize()) return none();
      }
      throw err;
    }
    this.stats.captures++;
    const hints = damage?.end();

    const limited = hints !== undefined && !hints.all;
    if (bands && !limited) {
      // The hints overflowed while we captured the bands: the rest of `back` is stale.
      await this.grabber.grab(this.back);
      bands = null;
    }
    let n = 0;
    let rects: Rect[] | null = null;
    let copies: FrameCopy[] = [];
    // Motion first: search the hinted areas for copies before comparing them in place, so the
    // tiles a copy explains are compared once, under the shift, instead of twice (in place to
    // find them dirty, then shifted to prove the copy). A scrolled page or a dragged window is
    // nearly all such tiles. Not on verify polls, whose slice is compared in place to count what
    // the hints missed. Motion detection runs at most once per poll.
    const motion = detectMotion ? this.motion : null;
    const searchFirst = motion !== null && limited && !slice;
    if (limited) {
      this.candidates.bits.fill(0);
      // With a band capture only tiles inside the bands may be compared; hints outside them
      // arrived during the capture and are carried over to the next poll.
      markRects(this.candidates, bands ? clipRectsToBands(hints.rects, bands) : hints.rects);
      if (sliceRect) markRects(this.candidates, [sliceRect]);
      if (searchFirst) {
        const found = this.motionFirst(motion, bands);
        if (found) {
          copies = found.copies;
          rects = found.changed;
          this.stats.motionFirst++;
        }
      }
      if (rects === null) n = diffTiles(this.front, this.back, this.dirty, this.candidates);
      this.stats.limitedCompares++;
    } else {
      n = diffTiles(this.front, this.back, this.dirty);
      this.stats.fullCompares++;
    }
    if (slice) {
      this.lastVerify = now;
      this.stats.verifiedSlices++;
      if (hints && !hints.all && n > 0) this.countMisses(hints.rects);
    }
    if (rects === null) {
      if (n === 0) return none();
      rects = coalesceTiles(this.dirty, this.opts.coalesce);
      if (motion && !searchFirst) {
        // Applies the copies to `front` and re-compares: `rects` becomes what they leave changed.
        const r = this.diffMotion(motion, rects, bands);
        copies = r.copies;
        rects = r.changed;
      }
    }
    if (copies.length === 0) {
      // Tiles are 16 px: trim each rectangle to the pixels that really differ (TigerVNC's
      // ComparingUpdateTracker does the same). A typed character or a new terminal line then
      // costs its glyphs, not the tile row around them. (diffWithMotion trims its own result.)
      const trimmed: Rect[] = [];
      for (const r of rects) trimmed.push(...changedRects(this.front, this.back, r));
      rects = trimmed;
    }
    if (limited) {
      copyRects(this.back, this.front, rects);
    } else {
      const t = this.front;
      this.front = this.back;
      this.back = t;
    }
    return { copies, changed: rects };
  }

  /**
   * Motion detection on the hinted tiles (`candidates`) before any in-place comparison: their
   * copies, applied to `front`, and what still differs after them. Null when nothing moved;
   * `candidates` is then unchanged, for the in-place comparison. Hints cover every changed
   * pixel (outside verify slices), so the result is the one `diffWithMotion` gives after an
   * in-place diff: the detector trims each hinted area to what changed, and every hinted tile
   * the copies do not prove equal is compared after them.
   */
  private motionFirst(detector: MotionDetector, bands: readonly CaptureBand[] | null): MotionDiffResult | null {
    this.dirty.bits.set(this.candidates.bits);
    const r = this.diffMotion(detector, coalesceTiles(this.candidates, this.opts.coalesce), bands);
    return r.copies.length > 0 ? r : null;
  }

  /**
   * `diffWithMotion` from `front` (to which the copies are applied) to `back`, searching `rects`
   * and re-comparing the tiles of `dirty`; `candidates` is its scratch map.
   */
  private diffMotion(detector: MotionDetector, rects: readonly Rect[], bands: readonly CaptureBand[] | null): MotionDiffResult {
    return diffWithMotion({
      prev: this.front,
      cur: this.back,
      dirty: this.dirty,
      rects,
      scratch: this.candidates,
      detector,
      coalesce: this.opts.coalesce,
      ...(bands ? { valid: bands } : {}),
    });
  }

  /** The next slice of rows to verify (whole tile rows), cycling over the screen. */
  private nextVerifySlice(): RowBand {
    const tileRows = Math.ceil(this.back.height / TILE_SIZE);
    const per = Math.ceil(tileRows / VERIFY_SLICES);
    const count = Math.ceil(tileRows / per);
    const k = this.verifySlice % count; // the screen may have shrunk since the last slice
    this.verifySlice = (k + 1) % count;
    const y = k * per * TILE_SIZE;
    return { y, h: Math.min(this.back.height, y + per * TILE_SIZE) - y };
  }

  /** Damage misses: dirty tiles of a verifying comparison that no hint covered. Diagnostics only. */
  private countMisses(hintRects: readonly Rect[]): void {
    this.candidates.bits.fill(0);
    markRects(this.candidates, hintRects);
    let missed = 0;
    const d = this.dirty.bits;
    const c = this.candidates.bits;
    for (let i = 0; i < d.length; i++) if (d[i] && !c[i]) missed++;
    if (missed > 0) {
      this.stats.missedTiles += missed;
      this.log.debug('damage hints missed changed tiles', { missed });
    }
  }

  /** Subscribes to root size changes (RANDR ScreenChangeNotify, and root ConfigureNotify). */
  private async watchScreenSize(): Promise<void> {
    const X = this.conn.X;
    try {
      const randr = await this.conn.require('randr');
      randr.SelectInput(this.conn.root, randr.NotifyMask.ScreenChange);
    } catch {
      // No RANDR: root ConfigureNotify below still reports size changes.
    }
    await this.conn.request(
      (cb) => X.ChangeWindowAttributes(this.conn.root, { eventMask: 0x00020000 /* StructureNotify */ }, cb),
      { what: 'ChangeWindowAttributes(root)' },
    );
    this.conn.onEvent((ev) => {
      const sizeEvent =
        ev?.name === 'RRScreenChangeNotify' || (ev?.name === 'ConfigureNotify' && (ev.wid1 ?? ev.wid) === this.conn.root);
      if (!sizeEvent || this.isClosed) return;
      this.serial(() => this.checkSize()).catch((err: unknown) => {
        if (!this.isClosed) this.fail(err instanceof VncError ? err : new VncError(ErrorCode.Desktop, 'screen resize failed', { cause: err }));
      });
    });
  }

  /**
   * Re-reads the root size; on a change, reallocates the buffers, grabs a fresh frame, tells the
   * resize handler and makes the next poll compare the whole screen. Returns whether it changed.
   */
  private async checkSize(): Promise<boolean> {
    if (this.isClosed) return false;
    const { width, height } = await rootSize(this.conn);
    if (width === this.front.width && height === this.front.height) return false;
    await this.grabber.resize(width, height);
    const front = createPixelBuffer(width, height);
    await this.grabber.grab(front);
    this.front = front;
    this.back = createPixelBuffer(width, height);
    this.dirty = createTileMap(width, height);
    this.candidates = createTileMap(width, height);
    this.damage?.reset();
    this.log.info('X screen resized', { size: `${width}x${height}` });
    this.handlers.resize?.(width, height);
    return true;
  }

  private fail(err: VncError): void {
    if (this.isClosed) return;
    this.log.error('X screen capture failed', { err });
    void this.close();
    this.handlers.fatal?.(err);
  }

  /** Runs `task` after every earlier poll/resize task; the queue survives failures. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => {});
    return run;
  }
}

/** Copies `rects` from `src` to `dst` (same size), row by row. */
function copyRects(src: PixelBuffer, dst: PixelBuffer, rects: readonly Rect[]): void {
  for (const r of rects) {
    for (let y = r.y; y < r.y + r.h; y++) {
      const s = (y * src.stride + r.x) * 4;
      src.data.copy(dst.data, (y * dst.stride + r.x) * 4, s, s + r.w * 4);
    }
  }
}
