/**
 * The encoder boundary: one file per RFB encoding, each exporting a factory that returns an
 * Encoder. Encoders are created per session (they may own persistent zlib streams) and
 * disposed when the session ends.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import type { PixelConverter } from '../pixel-format.js';

/** Wire bytes for one or more rectangles, each including its 12-byte rectangle header. */
export interface EncodedRects {
  /** How many rectangles `chunks` holds (for the FramebufferUpdate count). */
  readonly count: number;
  readonly chunks: Buffer[];
}

/** What an encoder needs to know about the client, fixed for the duration of one call. */
export interface EncodeContext {
  readonly converter: PixelConverter;
  /** JPEG quality level 0–9 from pseudo-encodings -32…-23, when the client sent one. */
  readonly qualityLevel?: number;
  /** Compression level 0–9 from pseudo-encodings -256…-247, when the client sent one. */
  readonly compressLevel?: number;
  /** Forbid lossy encodings for this call (lossless refresh of areas once sent as JPEG). */
  readonly lossless?: boolean;
  /**
   * Called (synchronously, during `encode`) for each rectangle an encoder sends lossily, so the
   * session can refresh it losslessly once it stops changing.
   */
  readonly onLossy?: (r: Rect) => void;
}

export interface Encoder {
  /** The RFB encoding number written in rectangle headers. */
  readonly encoding: number;
  /**
   * Encodes `r` (inside `fb`). Contract: every pixel is read from `fb` synchronously, before
   * this method returns, so the caller may let the framebuffer change afterwards. Calls on one
   * encoder complete in call order (persistent streams rely on it); the caller may issue the
   * next call before the previous promise settles.
   */
  encode(fb: PixelBuffer, r: Rect, ctx: EncodeContext): EncodedRects | Promise<EncodedRects>;
  /**
   * Only encoders whose data is the rectangle's rows in order and carries nothing from one band
   * of rows into the next that the band does not restate (Raw; Hextile, whose bands of 16-row
   * tile rows each open by specifying their background) have this. The data of `r` without its
   * rectangle header, read synchronously. Consecutive bands of one rectangle, each a multiple of
   * `rowAlign` rows high but the last, give behind one header for the whole exactly the data of
   * the whole: a large area can be encoded band by band and still be one rectangle.
   */
  encodeRows?(fb: PixelBuffer, r: Rect, ctx: EncodeContext): Buffer;
  /** Band height granularity of `encodeRows` (1 for Raw, 16 for Hextile). */
  readonly rowAlign?: number;
  /** Releases streams. The encoder is unusable afterwards. */
  dispose(): void;
}

/** Writes the 12-byte rectangle header (RFB 3.8 §7.6.1). */
export function rectHeader(x: number, y: number, w: number, h: number, encoding: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt16BE(x, 0);
  b.writeUInt16BE(y, 2);
  b.writeUInt16BE(w, 4);
  b.writeUInt16BE(h, 6);
  b.writeInt32BE(encoding, 8);
  return b;
}
