/**
 * Server-to-client messages and pseudo-rectangles (rfbproto "Server to Client Messages",
 * "Pseudo-encodings"), as pure encoders returning fresh Buffers. Pixel-carrying rectangles live
 * in server/encoding/; this file has everything else, including ServerInit.
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import type { CursorImage } from '../desktop.js';
import { rectHeader } from '../encoding/encoder.js';
import { encodePixelFormat, type PixelConverter, type PixelFormat } from '../pixel-format.js';
import {
  ClipboardAction,
  ClipboardFormat,
  DesktopSizeReason,
  FENCE_MAX_PAYLOAD_BYTES,
  LAST_RECT_COUNT,
  PseudoEncoding,
  ServerMessageType,
} from './constants.js';
import {
  clipboardCapsPayload,
  clipboardNotifyPayload,
  clipboardPeekPayload,
  clipboardProvideTextPayload,
  clipboardRequestPayload,
} from './extended-clipboard.js';
import { SCREEN_BYTES, writeScreen, type RfbScreen } from './screen.js';

/** Per-client encoding choices. */
export interface ServerMessageOptions {
  /**
   * The client is asyncvnc (see client-quirks.ts): ServerCutText goes out as type 2 and Bell
   * is suppressed.
   */
  readonly asyncvncCompat?: boolean;
}

/** Default bound on desktop names in ServerInit and DesktopName, in UTF-8 bytes. */
export const DEFAULT_MAX_NAME_BYTES = 255;

/** `s` as UTF-8, cut to at most `maxBytes` without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): Buffer {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= maxBytes) return b;
  let end = Math.max(0, maxBytes);
  // Back off over continuation bytes (10xxxxxx) so the cut lands on a character start.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end);
}

function checkU16(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${name} ${v} does not fit in U16`);
}

/**
 * ServerInit (rfbproto "ServerInit"): U16 width, U16 height, PIXEL_FORMAT, U32 name length,
 * name. The name is UTF-8 (the spec's recommendation) cut to `maxNameBytes`.
 */
export function encodeServerInit(
  width: number,
  height: number,
  pixelFormat: PixelFormat,
  name: string,
  maxNameBytes = DEFAULT_MAX_NAME_BYTES,
): Buffer {
  checkU16('width', width);
  checkU16('height', height);
  const nameBytes = truncateUtf8(name, maxNameBytes);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(width, 0);
  head.writeUInt16BE(height, 2);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(nameBytes.length, 0);
  return Buffer.concat([head, encodePixelFormat(pixelFormat), len, nameBytes]);
}

/**
 * FramebufferUpdate header: U8 0, padding, U16 rectangle count. Pass `LAST_RECT_COUNT`
 * (0xFFFF) when the update will be terminated by `encodeLastRectRect()` instead.
 */
export function encodeFramebufferUpdateHeader(rectCount: number): Buffer {
  checkU16('rectangle count', rectCount);
  const b = Buffer.alloc(4);
  b[0] = ServerMessageType.FramebufferUpdate;
  b.writeUInt16BE(rectCount, 2);
  return b;
}

/** The LastRect pseudo-rectangle that ends a `LAST_RECT_COUNT` update. */
export function encodeLastRectRect(): Buffer {
  return rectHeader(0, 0, 0, 0, PseudoEncoding.LastRect);
}

export { LAST_RECT_COUNT };

/** Bell (U8 2), or null when it must not be sent (asyncvnc reads type 2 as ServerCutText). */
export function encodeBell(opts: ServerMessageOptions = {}): Buffer | null {
  return opts.asyncvncCompat ? null : Buffer.from([ServerMessageType.Bell]);
}

/** Latin-1 bytes of `text`; characters outside Latin-1 become '?' (per code point, not per UTF-16 unit). */
export function latin1Bytes(text: string): Buffer {
  const codes: number[] = [];
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    codes.push(c <= 0xff ? c : 0x3f);
  }
  return Buffer.from(codes);
}

function cutTextFrame(type: number, length: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeInt32BE(length, 4);
  return Buffer.concat([head, body]);
}

/**
 * ServerCutText (rfbproto "ServerCutText"): U8 3, 3 padding, U32 length, Latin-1 text.
 * With `asyncvncCompat` the type byte is 2, which is what asyncvnc parses as cut text.
 * The text is not bounded here: it is our own clipboard, bounded where it is read.
 */
export function encodeServerCutText(text: string, opts: ServerMessageOptions = {}): Buffer {
  const body = latin1Bytes(text);
  return cutTextFrame(opts.asyncvncCompat ? ServerMessageType.Bell : ServerMessageType.ServerCutText, body.length, body);
}

/** An extended ServerCutText: type 3, negative length, then `payload` (flags first). */
export function encodeExtendedServerCutText(payload: Buffer): Buffer {
  return cutTextFrame(ServerMessageType.ServerCutText, -payload.length, payload);
}

/**
 * The `caps` message a server must send after each SetEncodings that lists ExtendedClipboard:
 * we accept text only, with the actions request, peek, notify and provide (caps is implied).
 * `maxTextBytes` is the largest unsolicited text provide we accept.
 */
export function encodeServerClipboardCaps(maxTextBytes: number): Buffer {
  const actions = ClipboardAction.Request | ClipboardAction.Peek | ClipboardAction.Notify | ClipboardAction.Provide;
  return encodeExtendedServerCutText(
    clipboardCapsPayload(ClipboardFormat.Text, actions, new Map([[ClipboardFormat.Text, maxTextBytes]])),
  );
}

/** `notify`: our clipboard changed and now holds text (or nothing, with `hasText` false). */
export function encodeServerClipboardNotify(hasText = true): Buffer {
  return encodeExtendedServerCutText(clipboardNotifyPayload(hasText ? ClipboardFormat.Text : 0));
}

/** `request`: ask the client for its text (answer to its `notify`). */
export function encodeServerClipboardRequest(): Buffer {
  return encodeExtendedServerCutText(clipboardRequestPayload(ClipboardFormat.Text));
}

/** `peek`: ask the client which formats it holds. */
export function encodeServerClipboardPeek(): Buffer {
  return encodeExtendedServerCutText(clipboardPeekPayload());
}

/** `provide`: our text, UTF-8 (answer to the client's `request`). */
export function encodeServerClipboardProvide(text: string): Buffer {
  return encodeExtendedServerCutText(clipboardProvideTextPayload(text));
}

/** EndOfContinuousUpdates (U8 150), sent for every EnableContinuousUpdates with enable = 0. */
export function encodeEndOfContinuousUpdates(): Buffer {
  return Buffer.from([ServerMessageType.EndOfContinuousUpdates]);
}

/** ServerFence (rfbproto "ServerFence"): U8 248, 3 padding, U32 flags, U8 length, payload (≤ 64). */
export function encodeServerFence(flags: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  if (payload.length > FENCE_MAX_PAYLOAD_BYTES) {
    throw new VncError(ErrorCode.TooLarge, `fence payload of ${payload.length} bytes (max ${FENCE_MAX_PAYLOAD_BYTES})`);
  }
  const b = Buffer.alloc(9 + payload.length);
  b[0] = ServerMessageType.ServerFence;
  b.writeUInt32BE(flags >>> 0, 4);
  b[8] = payload.length;
  b.set(payload, 9);
  return b;
}

/** DesktopSize pseudo-rectangle: the framebuffer is now width × height. */
export function encodeDesktopSizeRect(width: number, height: number): Buffer {
  checkU16('width', width);
  checkU16('height', height);
  return rectHeader(0, 0, width, height, PseudoEncoding.DesktopSize);
}

/**
 * ExtendedDesktopSize pseudo-rectangle (rfbproto "ExtendedDesktopSize Pseudo-encoding"):
 * x = reason (DesktopSizeReason), y = status (DesktopSizeStatus), w × h = framebuffer size,
 * then U8 screen count, 3 padding, SCREENs.
 */
export function encodeExtendedDesktopSizeRect(
  reason: number,
  status: number,
  width: number,
  height: number,
  screens: readonly RfbScreen[],
): Buffer {
  checkU16('width', width);
  checkU16('height', height);
  if (screens.length > 255) throw new RangeError(`${screens.length} screens do not fit in U8`);
  const body = Buffer.alloc(4 + SCREEN_BYTES * screens.length);
  body[0] = screens.length;
  screens.forEach((s, i) => writeScreen(body, 4 + SCREEN_BYTES * i, s));
  return Buffer.concat([rectHeader(reason, status, width, height, PseudoEncoding.ExtendedDesktopSize), body]);
}

/**
 * The answer to the requesting client's SetDesktopSize (reason 1). On failure the spec leaves
 * the other fields undefined; callers pass the current size and layout.
 */
export function encodeSetDesktopSizeResult(status: number, width: number, height: number, screens: readonly RfbScreen[]): Buffer {
  return encodeExtendedDesktopSizeRect(DesktopSizeReason.Client, status, width, height, screens);
}

/** DesktopName pseudo-rectangle: header of zeros, U32 length, UTF-8 name (cut to `maxNameBytes`). */
export function encodeDesktopNameRect(name: string, maxNameBytes = DEFAULT_MAX_NAME_BYTES): Buffer {
  const nameBytes = truncateUtf8(name, maxNameBytes);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(nameBytes.length, 0);
  return Buffer.concat([rectHeader(0, 0, 0, 0, PseudoEncoding.DesktopName), len, nameBytes]);
}

/** Alpha at or above this counts as visible in the Cursor pseudo-encoding's 1-bit mask. */
export const CURSOR_ALPHA_THRESHOLD = 128;

/**
 * Cursor pseudo-rectangle (rfbproto "Cursor Pseudo-encoding"): x, y = hotspot, w × h = size,
 * then w·h pixels in the client's format and a 1-bit mask, rows padded to whole bytes, MSB =
 * leftmost pixel, 1 = visible (alpha ≥ 128). Invisible pixels are written as 0 so the output
 * does not depend on colour under transparency.
 */
export function encodeCursorRect(cursor: CursorImage, converter: PixelConverter): Buffer {
  const { width: w, height: h, hotX, hotY, argb } = cursor;
  checkU16('cursor width', w);
  checkU16('cursor height', h);
  checkU16('cursor hotspot x', hotX);
  checkU16('cursor hotspot y', hotY);
  if (argb.length < w * h) throw new RangeError(`cursor has ${argb.length} pixels, needs ${w * h}`);
  const bpp = converter.bytesPerPixel;
  const maskRow = (w + 7) >> 3;
  const body = Buffer.alloc(w * h * bpp + maskRow * h);
  const maskBase = w * h * bpp;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = argb[y * w + x]!;
      if (p >>> 24 < CURSOR_ALPHA_THRESHOLD) continue;
      converter.writePixel(body, (y * w + x) * bpp, converter.pixel(p & 0xffffff));
      body[maskBase + y * maskRow + (x >> 3)] |= 0x80 >> (x & 7);
    }
  }
  return Buffer.concat([rectHeader(hotX, hotY, w, h, PseudoEncoding.Cursor), body]);
}
