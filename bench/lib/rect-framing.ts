/**
 * Consumes one rectangle body from the wire without decoding its pixels: the benchmark only
 * needs to know where each rectangle ends (and when its last byte arrived). Framing follows
 * rfbproto.rst, written independently of our encoders so that third-party servers (TigerVNC,
 * x11vnc) are read by the same code as ours.
 *
 * Supported: Raw, CopyRect, Zlib, ZRLE, Tight (including JPEG and TightPNG's PNG), and the
 * pseudo-encodings a benchmark client may meet (LastRect, DesktopSize, ExtendedDesktopSize,
 * Cursor). Anything else is a VNC_ERR_UNSUPPORTED error: the benchmark asks only for these.
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import type { ByteReader } from './byte-reader.js';

export const Enc = {
  Raw: 0,
  CopyRect: 1,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  TightPNG: -260,
  LastRect: -224,
  DesktopSize: -223,
  Cursor: -239,
  ExtendedDesktopSize: -308,
  QualityLevel0: -32,
} as const;

/** The server pixel format fields framing depends on. */
export interface FramingFormat {
  readonly bitsPerPixel: number;
  readonly depth: number;
  readonly trueColour: boolean;
  readonly redMax: number;
  readonly greenMax: number;
  readonly blueMax: number;
}

/** Largest compressed payload accepted in one rectangle (a sanity bound on wire lengths). */
const MAX_PAYLOAD = 64 * 1024 * 1024;

/** Tight's TPIXEL: 3 bytes for 32-bpp depth-24 true colour with 8-bit channels, else bpp/8. */
export function tightPixelSize(f: FramingFormat): number {
  return f.bitsPerPixel === 32 && f.depth === 24 && f.trueColour && f.redMax === 255 && f.greenMax === 255 && f.blueMax === 255
    ? 3
    : f.bitsPerPixel / 8;
}

/** Tight "compact length": 1–3 bytes, 7 bits each, low first. */
async function compactLength(r: ByteReader, deadline: number): Promise<number> {
  let b = await r.u8(deadline);
  let len = b & 0x7f;
  if (b & 0x80) {
    b = await r.u8(deadline);
    len |= (b & 0x7f) << 7;
    if (b & 0x80) len |= (await r.u8(deadline)) << 14;
  }
  return len;
}

function bounded(len: number, what: string): number {
  if (len > MAX_PAYLOAD) throw new VncError(ErrorCode.TooLarge, `${what} payload of ${len} bytes exceeds ${MAX_PAYLOAD}`);
  return len;
}

/** Reads one Tight (or TightPNG) rectangle body of size w×h. */
async function skipTight(r: ByteReader, w: number, h: number, f: FramingFormat, deadline: number): Promise<void> {
  const tp = tightPixelSize(f);
  const control = await r.u8(deadline);
  const op = control >> 4;
  if (op === 8) return r.skip(tp, deadline); // FillCompression
  if (op === 9 || op === 10) return r.skip(bounded(await compactLength(r, deadline), 'Tight JPEG/PNG'), deadline);
  if (op > 7) throw new VncError(ErrorCode.Protocol, `bad Tight compression control 0x${control.toString(16)}`);
  let rowBytes = w * tp; // copy filter
  if (op & 0x4) {
    const filter = await r.u8(deadline);
    if (filter === 1) {
      const colours = (await r.u8(deadline)) + 1;
      await r.skip(colours * tp, deadline);
      rowBytes = colours <= 2 ? Math.ceil(w / 8) : w;
    } else if (filter !== 0 && filter !== 2) {
      throw new VncError(ErrorCode.Protocol, `bad Tight filter ${filter}`);
    }
  }
  const size = rowBytes * h;
  if (size < 12) return r.skip(size, deadline);
  return r.skip(bounded(await compactLength(r, deadline), 'Tight zlib'), deadline);
}

/**
 * Consumes the body of a rectangle with header (w, h, encoding). Returns false for LastRect
 * (the update ends here), true otherwise.
 */
export async function skipRectBody(
  r: ByteReader,
  rect: { w: number; h: number; encoding: number },
  f: FramingFormat,
  deadline: number,
): Promise<boolean> {
  const bpp = f.bitsPerPixel / 8;
  switch (rect.encoding) {
    case Enc.Raw:
      await r.skip(rect.w * rect.h * bpp, deadline);
      return true;
    case Enc.CopyRect:
      await r.skip(4, deadline);
      return true;
    case Enc.Zlib:
    case Enc.ZRLE:
      await r.skip(bounded((await r.read(4, deadline)).readUInt32BE(0), 'zlib'), deadline);
      return true;
    case Enc.Tight:
    case Enc.TightPNG:
      await skipTight(r, rect.w, rect.h, f, deadline);
      return true;
    case Enc.LastRect:
      return false;
    case Enc.DesktopSize:
      return true;
    case Enc.ExtendedDesktopSize: {
      const screens = (await r.read(4, deadline))[0]!;
      await r.skip(16 * screens, deadline);
      return true;
    }
    case Enc.Cursor:
      await r.skip(rect.w * rect.h * bpp + Math.ceil(rect.w / 8) * rect.h, deadline);
      return true;
    default:
      throw new VncError(ErrorCode.Unsupported, `benchmark client cannot frame encoding ${rect.encoding}`);
  }
}

/** Is this a pixel-carrying encoding (as opposed to a pseudo-encoding)? */
export function isPixelEncoding(encoding: number): boolean {
  return encoding === Enc.Raw || encoding === Enc.CopyRect || encoding === Enc.Zlib || encoding === Enc.Tight ||
    encoding === Enc.ZRLE || encoding === Enc.TightPNG || (encoding > 0 && encoding < 256);
}

/** Longest ServerCutText a benchmark client accepts while waiting for updates. */
const MAX_CUT_TEXT = 16 * 1024 * 1024;

/**
 * After reading a server message type: skips the body of every message that is not a
 * FramebufferUpdate (SetColourMapEntries, Bell, ServerCutText, ServerFence,
 * EndOfContinuousUpdates) and returns true; returns false for a FramebufferUpdate (type 0),
 * whose body the caller reads. Throws on an unknown type.
 */
export async function skipNonUpdateMessage(r: ByteReader, type: number, deadline: number): Promise<boolean> {
  switch (type) {
    case 0:
      return false;
    case 2: // Bell
    case 150: // EndOfContinuousUpdates
      return true;
    case 1: {
      const h = await r.read(5, deadline);
      await r.skip(6 * h.readUInt16BE(3), deadline);
      return true;
    }
    case 3: {
      const len = (await r.read(7, deadline)).readUInt32BE(3);
      if (len > MAX_CUT_TEXT) throw new VncError(ErrorCode.TooLarge, `ServerCutText of ${len} bytes`);
      await r.skip(len, deadline);
      return true;
    }
    case 248: {
      // ServerFence: 3 padding, 4 flags, 1 length, payload.
      const h = await r.read(8, deadline);
      await r.skip(h[7]!, deadline);
      return true;
    }
    default:
      throw new VncError(ErrorCode.Protocol, `unexpected server message type ${type}`);
  }
}

/**
 * Waits up to `waitMs` for a FramebufferUpdate to begin and returns what `readMessage` made of
 * it; null if none began in time. `readMessage` reads one server message and returns null for
 * one that is not an update (skipped); such messages do not end the wait. x11vnc sends
 * ServerCutText when the X selection changes: a client that took any message for the start of
 * an update then waited for an update that a quiet screen never sends (15 s, then failed).
 */
export async function nextUpdate<U>(reader: ByteReader, waitMs: number, readMessage: () => Promise<U | null>): Promise<U | null> {
  const waitUntil = performance.now() + waitMs;
  for (;;) {
    if (!(await reader.waitForData(waitUntil))) return null;
    const u = await readMessage();
    if (u) return u;
  }
}

/** Wire size of a rectangle header: x, y, w, h (2 bytes each) and the encoding (4). */
export const RECT_HEADER_BYTES = 12;

/** The header of one rectangle of a FramebufferUpdate. */
export interface RectHeader {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly encoding: number;
}

/**
 * Reads one server message. One that is not a FramebufferUpdate is skipped and gives null. Of
 * an update, this reads each rectangle's header and `readBody` its body, up to a LastRect; it
 * resolves with the time the type byte had been read and the headers read.
 */
export async function readServerMessage(
  r: ByteReader,
  deadline: number,
  readBody: (head: RectHeader) => Promise<void>,
): Promise<{ startedAt: number; heads: RectHeader[] } | null> {
  const type = await r.u8(deadline);
  const startedAt = performance.now();
  if (await skipNonUpdateMessage(r, type, deadline)) return null;
  const count = (await r.read(3, deadline)).readUInt16BE(1);
  const heads: RectHeader[] = [];
  for (let i = 0; i < count; i++) {
    const h = await r.read(RECT_HEADER_BYTES, deadline);
    const head = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), w: h.readUInt16BE(4), h: h.readUInt16BE(6), encoding: h.readInt32BE(8) };
    if (head.encoding === Enc.LastRect) break;
    await readBody(head);
    heads.push(head);
  }
  return { startedAt, heads };
}
