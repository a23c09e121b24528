/**
 * The output half of a session: decides when an update goes out and what it carries, and
 * writes it. It owns the client's update state (damage, copies, requests), its pixel format,
 * the pending pseudo-rectangles, lossless refresh of JPEG areas, and congestion control.
 *
 * Rules (TigerVNC's, see design-notes §4.3–4.4):
 * - never queue encoded frames: when the client or the link is behind, damage accumulates as a
 *   region and the next update is regenerated from the newest framebuffer;
 * - an update reads every pixel synchronously when it starts (or from a snapshot, for large
 *   ones), awaits compression, then writes header and rectangles in one corked burst, so
 *   nothing else lands inside it;
 * - a reply never consists of pseudo-rectangles alone (agent clients treat any update as
 *   "pixels arrived").
 */
import type { Duplex } from 'node:stream';
import { type Rect, intersectRect } from '../core/geometry.js';
import { Region } from '../core/region.js';
import type { CursorImage, Desktop } from './desktop.js';
import type { ServerOptions } from './options.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter } from './pixel-format.js';
import { solidPixelBuffer } from '../core/pixel-buffer.js';
import type { EncodeManager } from './encoding/encode-manager.js';
import { rectHeader } from './encoding/encoder.js';
import { UpdateState, copyRectsFor, orderCopyRects, type PendingCopy } from './updates/update-state.js';
import { Congestion } from './updates/congestion.js';
import { encodeInSlices, SnapshotBuffer } from './updates/encode-in-slices.js';
import { GlyphIndex } from './updates/glyph-index.js';
import { planGlyphCopies, TEXT_BYTES_PER_PIXEL, type GlyphPlan } from './updates/glyph-copies.js';
import {
  encodeCursorRect,
  encodeDesktopNameRect,
  encodeDesktopSizeRect,
  encodeExtendedDesktopSizeRect,
  encodeFramebufferUpdateHeader,
  encodeServerFence,
} from './protocol/server-messages.js';
import { DesktopSizeReason, Encoding, FenceFlag, PseudoEncoding } from './protocol/constants.js';

/** JPEG-coded areas are re-sent losslessly once the screen has been quiet this long. */
const LOSSLESS_REFRESH_QUIET_MS = 100;
/**
 * Where the JPEG areas keep changing (see CHURN_MEMORY_MS), they must also have been unchanged
 * for this long per million pixels (`refreshQuietMs`). A lossless refresh of photo-like pixels
 * costs 10–20 times their JPEG (measured in `npm run bench`: a full-screen slide ~2.5 MB
 * lossless against ~0.15 MB at quality 6), so content that changes every second or so (a
 * slideshow, pages flipped through) stays the JPEG the client asked for instead of being sent
 * twice; a text line or a widget still sharpens after ~0.1 s, a full 1920×1080 screen after
 * ~1.7 s of stillness. Once the screen stops changing, every area is refreshed.
 */
const REFRESH_QUIET_MS_PER_MEGAPIXEL = 750;
/**
 * Churn: damage over a JPEG area, or over an area refreshed losslessly, marks the JPEG areas as
 * changing for this long (the refresh was, or would be, wasted). Without churn (a screen sent
 * once, a photo opened and left alone) the refresh follows after LOSSLESS_REFRESH_QUIET_MS.
 */
const CHURN_MEMORY_MS = 10_000;

/** How long churning JPEG areas of `area` pixels must be unchanged before their lossless refresh. */
export function refreshQuietMs(area: number): number {
  return LOSSLESS_REFRESH_QUIET_MS + (area / 1e6) * REFRESH_QUIET_MS_PER_MEGAPIXEL;
}
/** A congested client is re-checked this often even if no fence reply arrives. */
const CONGESTION_RETRY_MS = 1000;

/** What the sender needs from the session that owns it. */
export interface SenderLink {
  /** The connection (it may become a TLS socket during the handshake, never after). */
  stream(): Duplex;
  /**
   * Writes bytes to the client, counting them. `onFlushed`, if given, runs once the transport no
   * longer references `b` (it may never run if the session closes first).
   */
  write(b: Buffer, onFlushed?: () => void): void;
  /** Is the session past the handshake and not closed? */
  active(): boolean;
  /** Did the client list this encoding or pseudo-encoding? */
  supports(encoding: number): boolean;
  /** Runs `fn` at the session's catch point. */
  guard(fn: () => void): void;
  /** Closes the session for `err`. */
  fail(err: unknown): void;
}

/** What the sender needs from the server. */
export interface SenderHost {
  readonly options: ServerOptions;
  readonly desktop: Desktop;
  wantFrame(fresh: boolean): void;
}

export class UpdateSender {
  /** The client's pixel format (SetPixelFormat); read when each update starts. */
  converter = new PixelConverter(NATIVE_PIXEL_FORMAT);
  updatesSent = 0;
  private readonly updates = new UpdateState();
  private readonly congestion = new Congestion();
  /** Areas the client holds only as JPEG; refreshed losslessly once they stop changing. */
  private readonly lossy = new Region();
  /** Large updates are encoded from this copy (`encodeInSlices`); one send at a time. */
  private readonly snapshot = new SnapshotBuffer();
  /** Glyphs this client shows, for glyph copies (`glyph-copies.ts`). */
  private readonly glyphs = new GlyphIndex();
  /** The pixel format the glyph index was built in: a new format empties it. */
  private glyphConverter: PixelConverter | null = null;
  private continuous = false;
  private sending = false;
  private waitingForDrain = false;
  private lastDamageAt = 0;
  /** Last time JPEG-coded areas changed (new JPEG sent, or damage over them). */
  private lastLossyChangeAt = 0;
  /** Until when the JPEG areas count as churning (see CHURN_MEMORY_MS). */
  private churnUntil = 0;
  /** What the last lossless refresh re-sent (damage over it is churn). */
  private refreshed = new Region();
  private refreshTimer: NodeJS.Timeout | null = null;
  private congestionTimer: NodeJS.Timeout | null = null;
  private pendingCursor: CursorImage | null = null;
  private pendingDesktopSize = false;
  private pendingExtDesktopSize: { reason: number; status: number } | null = null;
  private pendingQemuKeyAck = false;
  private pendingName: string | null = null;

  constructor(
    private readonly link: SenderLink,
    private readonly host: SenderHost,
    private readonly encoder: EncodeManager,
  ) {}

  /** Does this client wait for pixels (an outstanding request, or continuous updates)? */
  isWaiting(): boolean {
    return this.link.active() && (this.continuous || this.updates.hasRequest());
  }

  // ---------------------------------------------------------------- requests

  /** FramebufferUpdateRequest. A full refresh waits for a fresh capture (the clock's next tick). */
  request(r: Rect, incremental: boolean): void {
    const clipped = this.clip(r);
    if (!clipped) return;
    this.updates.addRequest(clipped, incremental);
    if (!incremental) this.host.wantFrame(true);
    else if (this.updates.hasDue() || this.hasPseudoPending()) this.trySend();
    else {
      this.host.wantFrame(false);
      // JPEG areas waiting for their lossless refresh: send it now or arm its timer. Left to the
      // clock's next tick, it came up to a whole idle poll interval (250 ms) late.
      if (!this.lossy.isEmpty()) this.trySend();
    }
  }

  /** EnableContinuousUpdates with enable = 1: send changes in `r` without waiting for requests. */
  enableContinuous(r: Rect): void {
    const clipped = this.clip(r);
    if (!clipped) return;
    this.continuous = true;
    this.updates.requested.clear();
    this.updates.addRequest(clipped, true);
    this.host.wantFrame(false);
    this.trySend();
  }

  disableContinuous(): void {
    this.continuous = false;
    this.updates.requested.clear();
  }

  /** A fence reply from the client: the congestion window may have opened. */
  fenceReply(payload: Uint8Array): void {
    if (this.congestion.pong(payload)) this.trySend();
  }

  private clip(r: Rect): Rect | null {
    const fb = this.host.desktop.framebuffer;
    return intersectRect(r, { x: 0, y: 0, w: fb.width, h: fb.height });
  }

  // ---------------------------------------------------------------- pseudo-rectangles

  setCursor(image: CursorImage): void {
    this.pendingCursor = image;
    this.trySend();
  }

  /** An ExtendedDesktopSize rectangle (reason/status per rfbproto) goes with the next update. */
  announceDesktopSize(reason: number, status: number): void {
    this.pendingExtDesktopSize = { reason, status };
    this.trySend();
  }

  /** A DesktopName rectangle with `name` goes with the next update (the newest name wins). */
  setDesktopName(name: string): void {
    this.pendingName = name;
    this.trySend();
  }

  /** Tell the client (once) that QEMU extended key events are understood. */
  announceQemuKeyEvents(): void {
    this.pendingQemuKeyAck = true;
  }

  private hasPseudoPending(): boolean {
    return (
      this.pendingCursor !== null || this.pendingDesktopSize || this.pendingExtDesktopSize !== null || this.pendingQemuKeyAck || this.pendingName !== null
    );
  }

  // ---------------------------------------------------------------- desktop changes

  damage(rects: readonly Rect[]): void {
    this.updates.addChanged(rects);
    const now = (this.lastDamageAt = performance.now());
    if (!this.lossy.isEmpty() && rects.some((r) => this.lossy.intersects(r))) {
      this.lastLossyChangeAt = now;
      this.churnUntil = now + CHURN_MEMORY_MS;
    } else if (!this.refreshed.isEmpty() && rects.some((r) => this.refreshed.intersects(r))) {
      this.churnUntil = now + CHURN_MEMORY_MS;
      this.refreshed.clear();
    }
  }

  copy(dest: Rect, dx: number, dy: number): void {
    this.updates.addCopied(dest, dx, dy, this.link.supports(Encoding.CopyRect));
  }

  /** The desktop changed size. Returns false when the client cannot be told (it must go). */
  resize(width: number, height: number): boolean {
    const ext = this.link.supports(PseudoEncoding.ExtendedDesktopSize);
    if (!ext && !this.link.supports(PseudoEncoding.DesktopSize)) return false;
    const full = { x: 0, y: 0, w: width, h: height };
    this.updates.reset(full);
    this.lossy.clear();
    this.glyphs.clear();
    this.refreshed.clear();
    // Outstanding requests referred to the old size; keep them, clipped to the new one.
    const clipped = this.updates.requested.intersect(full);
    this.updates.requested.clear();
    this.updates.requested.addRegion(clipped.isEmpty() ? Region.of(full) : clipped);
    if (ext) this.pendingExtDesktopSize = { reason: DesktopSizeReason.Server, status: 0 };
    else this.pendingDesktopSize = true;
    this.trySend();
    return true;
  }

  // ---------------------------------------------------------------- sending

  /**
   * Sends one update if the client asked for one and there is something to send, the previous
   * update is finished and the link is not congested. Safe to call at any time.
   */
  trySend(): void {
    if (!this.link.active() || this.sending || !this.updates.hasRequest()) return;
    if (this.isCongested()) return;
    const pseudo = this.hasPseudoPending();
    let lossless = false;
    if (!this.updates.hasDue() && !pseudo) {
      const refresh = this.lossyRefreshDue();
      if (!refresh) return;
      this.updates.changed.addRegion(refresh);
      lossless = true;
    }
    if (!this.updates.hasDue()) {
      // Pseudo-rectangles only: carry one real tile of the requested area along.
      const b = this.updates.requested.bounds()!;
      this.updates.changed.add({ x: b.x, y: b.y, w: Math.min(b.w, 16), h: Math.min(b.h, 16) });
    }
    const { copy, changed } = this.updates.take(this.continuous);
    this.sending = true;
    void this.send(copy, changed, lossless).then(
      () => {
        this.sending = false;
        this.snapshot.idle();
        if (this.link.active() && this.updates.hasRequest() && this.updates.hasDue()) this.trySend();
      },
      (err) => {
        this.sending = false;
        this.link.fail(err);
      },
    );
  }

  /**
   * The lossy areas to re-send losslessly now, or null. TigerVNC waits until an area has been
   * quiet for a moment (RecentChangeTimeout) so that moving content stays cheap JPEG; we wait
   * until the screen has been quiet for LOSSLESS_REFRESH_QUIET_MS and, when they churn, the
   * JPEG areas for `refreshQuietMs` of their area (a blinking cursor elsewhere does not hold a
   * large refresh back for ever), and arm a timer otherwise.
   */
  private lossyRefreshDue(): Region | null {
    if (this.lossy.isEmpty()) return null;
    const due = this.lossy.intersectRegion(this.updates.requested);
    if (due.isEmpty()) return null;
    const now = performance.now();
    const churning = now < this.churnUntil;
    const wait = Math.max(
      LOSSLESS_REFRESH_QUIET_MS - (now - this.lastDamageAt),
      churning ? refreshQuietMs(due.area()) - (now - this.lastLossyChangeAt) : 0,
    );
    if (wait <= 0) {
      this.refreshed = due.clone();
      return due;
    }
    this.refreshTimer ??= this.retryAfter(wait + 1, () => (this.refreshTimer = null));
    return null;
  }

  /**
   * Congested: do not generate another update. Damage keeps accumulating as a region and the
   * next update, once the socket drains or a fence reply opens the window, is regenerated from
   * the newest framebuffer. So a slow client costs bounded memory and gets fresher updates.
   */
  private isCongested(): boolean {
    const stream = this.link.stream();
    if (stream.writableLength > this.host.options.maxQueuedBytes) {
      if (!this.waitingForDrain) {
        this.waitingForDrain = true;
        stream.once('drain', () => {
          this.waitingForDrain = false;
          this.link.guard(() => this.trySend());
        });
      }
      return true;
    }
    if (this.congestion.isCongested()) {
      // Normally a fence reply wakes us; the timer covers a client that stopped answering.
      this.congestionTimer ??= this.retryAfter(CONGESTION_RETRY_MS, () => (this.congestionTimer = null));
      return true;
    }
    return false;
  }

  private retryAfter(ms: number, cleared: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      cleared();
      this.link.guard(() => this.trySend());
    }, ms);
    t.unref();
    return t;
  }

  private async send(copy: PendingCopy | null, changed: Region, lossless: boolean): Promise<void> {
    const fb = this.host.desktop.framebuffer;
    const converter = this.converter;
    const before: Buffer[] = [];
    const after: Buffer[] = [];
    let rects = 0; // rectangles in `before` and `after`
    if (this.pendingExtDesktopSize) {
      rects++;
      const { reason, status } = this.pendingExtDesktopSize;
      const screen = { id: 0, x: 0, y: 0, width: fb.width, height: fb.height, flags: 0 };
      before.push(encodeExtendedDesktopSizeRect(reason, status, fb.width, fb.height, [screen]));
    } else if (this.pendingDesktopSize) {
      rects++;
      before.push(encodeDesktopSizeRect(fb.width, fb.height));
    }
    this.pendingExtDesktopSize = null;
    this.pendingDesktopSize = false;
    if (this.pendingQemuKeyAck) {
      // An empty pseudo-rectangle of this encoding is how clients learn the server supports it.
      rects++;
      after.push(rectHeader(0, 0, 0, 0, PseudoEncoding.QemuExtendedKeyEvent));
      this.pendingQemuKeyAck = false;
    }
    if (this.pendingName !== null) {
      rects++;
      after.push(encodeDesktopNameRect(this.pendingName));
      this.pendingName = null;
    }
    if (this.pendingCursor) {
      rects++;
      after.push(encodeCursorRect(this.pendingCursor, converter));
      this.pendingCursor = null;
    }
    // Copies first (the client copies from pixels it already has, before anything else lands),
    // ordered so that no rectangle overwrites another's source.
    let sentCopies: Rect[] = [];
    if (copy) {
      this.moveLossy(copy);
      const screen = { x: 0, y: 0, w: fb.width, h: fb.height };
      sentCopies = orderCopyRects(copyRectsFor(copy, changed, screen), copy.dx, copy.dy);
      const c = this.encoder.encodeCopies(sentCopies.map((r) => ({ dest: r, srcX: r.x - copy.dx, srcY: r.y - copy.dy })), converter.bytesPerPixel);
      before.push(...c.chunks);
      rects += c.count;
    }
    const glyph = this.planGlyphs(changed, copy, sentCopies);
    // Background fills of rectangles sent as glyph copies go first: pixels and copies land on them.
    const fills = glyph?.fills.length
      ? Promise.all(glyph.fills.map((f) => this.encoder.encodeRegion(solidPixelBuffer(fb.width, fb.height, f.colour), [f.rect], { converter, lossless: true })))
      : Promise.resolve([]);
    // Pixel rectangles in reading order, so the first one starts at the request's origin.
    this.lossy.subtractRegion(changed);
    const [filled, encoded] = await Promise.all([
      fills,
      encodeInSlices(
        this.encoder,
        fb,
        glyph ? glyph.pixels : changed.rects(),
        {
          converter,
          lossless,
          onLossy: (r) => {
            this.lossy.add(r);
            this.lastLossyChangeAt = performance.now();
          },
        },
        () => !this.link.active(),
        this.snapshot,
      ),
    ]);
    if (!this.link.active()) return;
    const chunks: Buffer[] = [];
    let count = encoded.count;
    for (const f of filled) { chunks.push(...f.chunks); count += f.count; }
    chunks.push(...encoded.chunks);
    const copies = glyph?.copies.length ? this.encoder.encodeCopies(glyph.copies, converter.bytesPerPixel) : null;
    if (copies) count += copies.count;
    const s = this.link.stream() as Duplex & { cork?: () => void; uncork?: () => void };
    s.cork?.();
    this.link.write(encodeFramebufferUpdateHeader(rects + count));
    for (const b of before) this.link.write(b);
    // Once the last chunk is flushed, so are all (writes complete in order): their pooled
    // buffers may then be lent again.
    chunks.forEach((c, i) => this.link.write(c, i === chunks.length - 1 ? () => this.encoder.recycle(chunks) : undefined));
    for (const b of copies?.chunks ?? []) this.link.write(b);
    for (const b of after) this.link.write(b);
    if (this.link.supports(PseudoEncoding.Fence)) {
      const payload = this.congestion.ping();
      if (payload) this.link.write(encodeServerFence((FenceFlag.Request | FenceFlag.BlockBefore) >>> 0, payload));
    }
    s.uncork?.();
    this.learnGlyphs(glyph, changed);
    this.updatesSent++;
  }

  /** Counts bytes written to the client (all of them, not only updates) for the window. */
  sent(bytes: number): void {
    this.congestion.sent(bytes);
  }

  /**
   * The glyph-copy plan for `changed` (`glyph-copies.ts`), or null when this client cannot use
   * one: it did not list CopyRect, or it prefers Raw (a background fill would cost as much as
   * the glyphs). Brings the client's glyph index up to date with the update's motion copies
   * (`sentCopies`, moved by `copy`'s delta) first.
   */
  private planGlyphs(changed: Region, copy: PendingCopy | null, sentCopies: readonly Rect[]): GlyphPlan | null {
    const usable = this.link.supports(Encoding.CopyRect) && this.encoder.preferredEncoding !== Encoding.Raw;
    if (!usable || this.glyphConverter !== this.converter) {
      // Not usable now, or the client's pixels at the recorded places are in another format.
      this.glyphs.clear();
      this.glyphConverter = this.converter;
    }
    if (!usable) return null;
    if (copy) this.glyphs.moved(sentCopies, copy.dx, copy.dy);
    const perPixel = TEXT_BYTES_PER_PIXEL[this.encoder.preferredEncoding] ?? 1;
    return planGlyphCopies(this.host.desktop.framebuffer, changed.rects(), changed, this.glyphs, perPixel);
  }

  /**
   * The update is out: what it wrote over `changed` replaces the recorded glyphs there, and its
   * blocks are recorded, except those sent as JPEG.
   */
  private learnGlyphs(glyph: GlyphPlan | null, changed: Region): void {
    if (!glyph) return;
    this.glyphs.overwritten(changed);
    for (const { key, at, pixels } of glyph.learn) if (!this.lossy.intersects(at)) this.glyphs.learn(at, key, pixels);
  }

  /** A copy carries JPEG artefacts along: lossy source pixels make lossy destination pixels. */
  private moveLossy(copy: PendingCopy): void {
    if (this.lossy.isEmpty()) return;
    const moved = new Region();
    for (const r of copy.region.rects()) {
      moved.addRegion(this.lossy.intersect({ x: r.x - copy.dx, y: r.y - copy.dy, w: r.w, h: r.h }).translate(copy.dx, copy.dy));
    }
    this.lossy.subtractRegion(copy.region);
    this.lossy.addRegion(moved);
  }

  /** Stops timers; the sender is unusable afterwards. */
  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (this.congestionTimer) clearTimeout(this.congestionTimer);
    this.refreshTimer = this.congestionTimer = null;
    this.snapshot.release();
    this.glyphs.clear();
  }
}
