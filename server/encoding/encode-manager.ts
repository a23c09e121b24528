/**
 * Per-session encoding policy (the role of TigerVNC's EncodeManager): decides *which* encoder
 * writes each part of an update; the encoders only know *how*.
 *
 * For every damaged rectangle:
 * 1. Large single-colour areas are cut out (solid.ts) and sent with the client's cheapest solid
 *    encoding (Tight fill, RRE without subrectangles, …) when it listed one.
 * 2. The rest is split into bounded pieces (≤ 65536 px, ≤ 2048 wide; ZRLE/Hextile bands keep
 *    their tiles whole). Tight and TightPNG split for themselves, so that they can join
 *    adjacent photo pieces into one JPEG or PNG; for them, damage bands of one column are joined
 *    first (`joinColumns`).
 * 3. Each piece goes to the client's preferred encoding — the first supported one it listed.
 *    Tight, TightPNG and ZRLE classify content themselves (fill / palette / JPEG per piece or
 *    tile). RRE is used only for flat pieces: a piece with too many colours goes to the best
 *    full-colour encoding the client listed, and an RRE result larger than Raw is replaced by Raw.
 *
 * Only encodings the client listed are sent, plus Raw, which every client must accept.
 *
 * Encoders are created lazily and live as long as the session: their zlib streams pair with the
 * client's inflate streams, so they survive SetEncodings and SetPixelFormat.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { silentLogger, type Logger } from '../../core/log.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { rectHeader, type EncodeContext, type EncodedRects, type Encoder } from './encoder.js';
import { Encoding, PseudoEncoding, SUPPORTED_ENCODINGS, encodingName } from './encodings.js';
import { createRawEncoder } from './raw.js';
import { createZlibEncoder } from './zlib.js';
import { createZrleEncoder } from './zrle.js';
import { createHextileEncoder } from './hextile.js';
import { createRreEncoder } from './rre.js';
import { createTightEncoder } from './tight.js';
import { createTightPngEncoder } from './tight-png.js';
import { encodeCopyRects, type CopyRectSpec } from './copy-rect.js';
import { findSolidRects, SOLID_MIN_AREA, type SolidSplit } from './solid.js';
import { clipToFramebuffer, joinColumns, splitRect, MAX_PIECE_AREA, MAX_PIECE_WIDTH } from './split.js';
import { Palette, analyseColours } from './palette.js';
import { BufferPool } from './buffer-pool.js';

/** Counters per encoding since the session started (or the last `resetStats`). */
export interface EncodingStats {
  readonly encoding: number;
  readonly name: string;
  /** Rectangles written (as counted in FramebufferUpdate headers). */
  readonly rects: number;
  readonly pixels: number;
  /** Wire bytes including the 12-byte rectangle headers. */
  readonly bytes: number;
  /** What the same pixels would have cost as Raw in the client's format (headers included). */
  readonly rawBytes: number;
}

export interface EncodeManagerOptions {
  log?: Logger;
  /** Smallest solid area worth its own rectangle (default SOLID_MIN_AREA = 2048 px). */
  solidMinArea?: number;
}

/** Encoder factories; each lends its large buffers from the session's pool. */
const FACTORIES: Record<number, (buffers: BufferPool) => Encoder> = {
  [Encoding.Raw]: createRawEncoder,
  [Encoding.Zlib]: (buffers) => createZlibEncoder({}, buffers),
  [Encoding.ZRLE]: (buffers) => createZrleEncoder({}, buffers),
  [Encoding.Hextile]: createHextileEncoder,
  [Encoding.RRE]: () => createRreEncoder(),
  [Encoding.Tight]: createTightEncoder,
  [Encoding.TightPNG]: createTightPngEncoder,
};

/** Encodings that write a single-colour rectangle in a few bytes. */
const SOLID_CAPABLE = new Set<number>([Encoding.Tight, Encoding.TightPNG, Encoding.RRE, Encoding.Hextile, Encoding.ZRLE]);
/** Encodings that cope with photo-like content (RRE does not). */
const FULL_COLOUR_CAPABLE = new Set<number>([Encoding.ZRLE, Encoding.Tight, Encoding.TightPNG, Encoding.Hextile, Encoding.Zlib]);

/**
 * Encodings that split rectangles into bounded pieces themselves and join adjacent full-colour
 * pieces into one JPEG or PNG (`image-runs.ts`): they get whole rectangles.
 */
const JOINS_IMAGES = new Set<number>([Encoding.Tight, Encoding.TightPNG]);

/** Piece bounds per encoding: [max area, max width, row alignment]. */
function pieceBounds(encoding: number): [number, number, number] {
  if (JOINS_IMAGES.has(encoding)) return [Infinity, Infinity, 1];
  switch (encoding) {
    case Encoding.ZRLE: return [MAX_PIECE_WIDTH * 64, MAX_PIECE_WIDTH, 64];
    case Encoding.Hextile: return [MAX_PIECE_AREA, MAX_PIECE_WIDTH, 16];
    default: return [MAX_PIECE_AREA, MAX_PIECE_WIDTH, 1];
  }
}

/**
 * Writes one rectangle (`EncodeManager.rowWriter`) band by band, top to bottom: the first band's
 * result carries the rectangle header (count 1), the others only data (count 0). Each band is
 * `rowAlign` rows or a multiple, but the last; pixels are read synchronously from `src`.
 */
export interface RowWriter {
  /** The rectangle (clipped to the framebuffer). */
  readonly rect: Rect;
  readonly rowAlign: number;
  write(src: PixelBuffer, y: number, rows: number): EncodedRects;
}

interface MutableStats { rects: number; pixels: number; bytes: number; rawBytes: number }

export class EncodeManager {
  private readonly log: Logger;
  private readonly solidMinArea: number;
  private readonly encoders = new Map<number, Encoder>();
  private readonly counters = new Map<number, MutableStats>();
  private readonly palette = new Palette(256);
  /** Large buffers of every encoder of this session, lent until `recycle` (`buffer-pool.ts`). */
  private readonly buffers = new BufferPool();
  private listed = new Set<number>();
  private preferred: number = Encoding.Raw;
  private solidEncoding: number | null = null;
  private fullColourEncoding: number = Encoding.Raw;
  private quality: number | undefined;
  private compress: number | undefined;
  private disposed = false;

  constructor(options: EncodeManagerOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.solidMinArea = options.solidMinArea ?? SOLID_MIN_AREA;
  }

  /**
   * The client's SetEncodings list, in its preference order. Replaces the previous list; the
   * encoders (and their streams) are kept.
   */
  setEncodings(list: readonly number[]): void {
    this.listed = new Set(list);
    const real = list.filter((e) => SUPPORTED_ENCODINGS.includes(e) && e !== Encoding.CopyRect);
    this.preferred = real[0] ?? Encoding.Raw;
    this.solidEncoding = SOLID_CAPABLE.has(this.preferred) ? this.preferred : (real.find((e) => SOLID_CAPABLE.has(e)) ?? null);
    this.fullColourEncoding = this.preferred === Encoding.RRE
      ? (real.find((e) => FULL_COLOUR_CAPABLE.has(e)) ?? Encoding.Raw)
      : this.preferred;
    this.quality = undefined;
    this.compress = undefined;
    for (const e of list) {
      if (this.quality === undefined && e >= PseudoEncoding.QualityLevel0 && e <= PseudoEncoding.QualityLevel9) this.quality = e - PseudoEncoding.QualityLevel0;
      if (this.compress === undefined && e >= PseudoEncoding.CompressLevel0 && e <= PseudoEncoding.CompressLevel9) this.compress = e - PseudoEncoding.CompressLevel0;
    }
    this.log.debug('encodings set', {
      preferred: encodingName(this.preferred),
      solid: this.solidEncoding === null ? 'none' : encodingName(this.solidEncoding),
      fullColour: encodingName(this.fullColourEncoding),
      quality: this.quality,
      compress: this.compress,
    });
  }

  /** Did the client list this encoding or pseudo-encoding? (Raw is always true.) */
  clientSupports(encoding: number): boolean {
    return encoding === Encoding.Raw || this.listed.has(encoding);
  }

  /** The real encoding used for most rectangles. */
  get preferredEncoding(): number {
    return this.preferred;
  }

  /** JPEG quality level 0–9 from the client's list, if any. */
  get qualityLevel(): number | undefined {
    return this.quality;
  }

  /** Compression level 0–9 from the client's list, if any. */
  get compressLevel(): number | undefined {
    return this.compress;
  }

  /**
   * Encodes `rects` (clipped to `fb`) for the client. Every pixel is read synchronously, before
   * this returns; the promise resolves with the rectangles in order. Calls may overlap: each
   * encoder keeps call order. `ctx.qualityLevel`/`compressLevel`, when absent, are taken from
   * the client's SetEncodings list.
   */
  encodeRegion(fb: PixelBuffer, rects: readonly Rect[], ctx: EncodeContext): Promise<EncodedRects> {
    if (this.disposed) return Promise.reject(new VncError(ErrorCode.Closed, 'encode manager disposed'));
    const full: EncodeContext = {
      converter: ctx.converter,
      // No quality level means no JPEG: that is how a lossless refresh is asked for.
      qualityLevel: ctx.lossless ? undefined : (ctx.qualityLevel ?? this.quality),
      compressLevel: ctx.compressLevel ?? this.compress,
      ...(ctx.onLossy ? { onLossy: ctx.onLossy } : {}),
    };
    const parts: (EncodedRects | Promise<EncodedRects>)[] = [];
    try {
      const clipped = rects.map((r) => clipToFramebuffer(r, fb.width, fb.height)).filter((r): r is Rect => r !== null);
      for (const r of JOINS_IMAGES.has(this.preferred) ? joinColumns(clipped) : clipped) this.encodeRect(fb, r, full, parts);
    } catch (err) {
      return Promise.reject(err);
    }
    return Promise.all(parts).then((list) => {
      let count = 0;
      const chunks: Buffer[] = [];
      for (const e of list) { count += e.count; chunks.push(...e.chunks); }
      return { count, chunks };
    });
  }

  /**
   * `r` as one rectangle of the preferred encoding written in row bands, or null. Possible when
   * that encoding has `encodeRows` (Raw, Hextile) and `r` has no solid area worth its own
   * rectangle (those go through `encodeRegion`, which cuts them out). Large updates are encoded
   * in bands so that the event loop gets turns in between (`encode-in-slices.ts`); with
   * `encodeRegion` every band would be a rectangle of its own (34 headers for a 1080p frame of
   * Hextile), where x11vnc sends one.
   */
  rowWriter(fb: PixelBuffer, r: Rect, ctx: EncodeContext): RowWriter | null {
    if (this.disposed) return null;
    const enc = this.encoder(this.preferred);
    const rows = enc.encodeRows?.bind(enc);
    const whole = clipToFramebuffer(r, fb.width, fb.height);
    if (!rows || !whole) return null;
    if (this.solidsIn(fb, whole)?.solids.length) return null;
    const encoding = this.preferred;
    const rowAlign = enc.rowAlign ?? 1;
    let nextY = whole.y;
    return {
      rect: whole,
      rowAlign,
      write: (src, rowsFrom, rowCount) => {
        if (rowsFrom !== nextY || rowCount <= 0 || rowsFrom + rowCount > whole.y + whole.h ||
          (rowsFrom + rowCount < whole.y + whole.h && rowCount % rowAlign !== 0)) {
          throw new VncError(ErrorCode.Config, `row band ${rowsFrom}+${rowCount} does not continue ${encodingName(encoding)} rectangle at row ${nextY}`);
        }
        const first = rowsFrom === whole.y;
        nextY += rowCount;
        const data = rows(src, { x: whole.x, y: rowsFrom, w: whole.w, h: rowCount }, ctx);
        const out: EncodedRects = first
          ? { count: 1, chunks: [rectHeader(whole.x, whole.y, whole.w, whole.h, encoding), data] }
          : { count: 0, chunks: [data] };
        this.count(encoding, whole.w * rowCount, out, ctx.converter.bytesPerPixel);
        return out;
      },
    };
  }

  /**
   * CopyRect rectangles in one chunk: each `dest` gets the client's own pixels from (`srcX`,
   * `srcY`). Throws VNC_ERR_UNSUPPORTED when the client did not list CopyRect. `bytesPerPixel`
   * (the client's) only feeds the raw-equivalent counter.
   */
  encodeCopies(copies: readonly CopyRectSpec[], bytesPerPixel = 4): EncodedRects {
    if (!this.listed.has(Encoding.CopyRect)) throw new VncError(ErrorCode.Unsupported, 'client did not list CopyRect');
    const out = encodeCopyRects(copies);
    let pixels = 0;
    for (const c of copies) pixels += c.dest.w * c.dest.h;
    this.count(Encoding.CopyRect, pixels, out, bytesPerPixel);
    return out;
  }

  stats(): EncodingStats[] {
    return [...this.counters].map(([encoding, s]) => ({ encoding, name: encodingName(encoding), ...s }));
  }

  resetStats(): void {
    this.counters.clear();
  }

  /**
   * The chunks of an update are no longer referenced by anyone (the socket flushed them): their
   * buffers that came from the encoders' pool may be lent again. Other buffers are ignored.
   */
  recycle(chunks: readonly Buffer[]): void {
    this.buffers.giveAll(chunks);
  }

  /** Frees every encoder (zlib streams). Pending encodes reject with VNC_ERR_CLOSED. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const e of this.encoders.values()) e.dispose();
    this.encoders.clear();
    this.buffers.dispose();
  }

  private encoder(encoding: number): Encoder {
    let e = this.encoders.get(encoding);
    if (!e) {
      const make = FACTORIES[encoding];
      if (!make) throw new VncError(ErrorCode.Unsupported, `no encoder for ${encodingName(encoding)}`);
      e = make(this.buffers);
      this.encoders.set(encoding, e);
    }
    return e;
  }

  private encodeRect(fb: PixelBuffer, r: Rect, ctx: EncodeContext, parts: (EncodedRects | Promise<EncodedRects>)[]): void {
    const pieces: { rect: Rect; solid: boolean }[] = [];
    let rest: Rect[] = [r];
    const split = this.solidsIn(fb, r);
    if (split) {
      for (const s of split.solids) pieces.push({ rect: s.rect, solid: true });
      rest = split.rest;
    }
    const [maxArea, maxWidth, align] = pieceBounds(this.preferred);
    for (const big of rest) {
      for (const p of splitRect(big, maxArea, maxWidth, align)) pieces.push({ rect: p, solid: false });
    }
    // Reading order (top to bottom, left to right): the first rectangle of a full refresh
    // starts at its origin, which simple clients expect. Encoding in this same order keeps the
    // persistent zlib streams in step with what the client decodes.
    pieces.sort((a, b) => a.rect.y - b.rect.y || a.rect.x - b.rect.x);
    for (const p of pieces) {
      parts.push(p.solid ? this.run(this.solidEncoding!, fb, p.rect, ctx) : this.encodePiece(fb, p.rect, ctx));
    }
  }

  /**
   * The solid areas of `r` worth their own rectangle, and the rest; null when none are looked
   * for (the client listed no encoding that writes a solid area cheaply, or `r` is too small).
   */
  private solidsIn(fb: PixelBuffer, r: Rect): SolidSplit | null {
    if (this.solidEncoding === null || r.w * r.h < this.solidMinArea) return null;
    return findSolidRects(fb, r, this.solidMinArea);
  }

  private encodePiece(fb: PixelBuffer, p: Rect, ctx: EncodeContext): EncodedRects | Promise<EncodedRects> {
    if (this.preferred !== Encoding.RRE) return this.run(this.preferred, fb, p, ctx);
    // RRE only pays off for flat content: few colours per area.
    const maxColours = Math.max(2, Math.min(256, Math.floor((p.w * p.h) / 16)));
    if (analyseColours(fb.pixels, fb.stride, p.x, p.y, p.w, p.h, maxColours, this.palette) < 0) {
      return this.run(this.fullColourEncoding, fb, p, ctx);
    }
    const rre = this.encoder(Encoding.RRE).encode(fb, p, ctx) as EncodedRects; // synchronous
    const bytes = rre.chunks.reduce((a, c) => a + c.length, 0);
    if (bytes > 12 + p.w * p.h * ctx.converter.bytesPerPixel) return this.run(Encoding.Raw, fb, p, ctx);
    this.count(Encoding.RRE, p.w * p.h, rre, ctx.converter.bytesPerPixel);
    return rre;
  }

  private run(encoding: number, fb: PixelBuffer, r: Rect, ctx: EncodeContext): EncodedRects | Promise<EncodedRects> {
    const out = this.encoder(encoding).encode(fb, r, ctx);
    const bpp = ctx.converter.bytesPerPixel;
    if (out instanceof Promise) return out.then((e) => { this.count(encoding, r.w * r.h, e, bpp); return e; });
    this.count(encoding, r.w * r.h, out, bpp);
    return out;
  }

  private count(encoding: number, pixels: number, e: EncodedRects, bpp: number): void {
    let s = this.counters.get(encoding);
    if (!s) { s = { rects: 0, pixels: 0, bytes: 0, rawBytes: 0 }; this.counters.set(encoding, s); }
    s.rects += e.count;
    s.pixels += pixels;
    for (const c of e.chunks) s.bytes += c.length;
    s.rawBytes += pixels * bpp + 12 * e.count;
  }
}
