/**
 * Client-to-server messages (rfbproto "Client to Server Messages"): one pure, resumable decoder.
 * `decodeClientMessage` reads one whole message from the queue or, if it is not all there yet,
 * consumes nothing and returns null. Every length and count is checked against its bound as
 * soon as the header that carries it is in, so a hostile or confused client is rejected before
 * we wait for (or buffer) its claimed body.
 *
 * An unknown message type is a VNC_ERR_PROTOCOL error, never "skip a byte": RFB messages carry
 * no generic length, so after an unknown type every later byte would be parsed at a guessed
 * offset.
 *
 * asyncvnc (barneygale/asyncvnc 1.3.0, asyncvnc.py `Clipboard.write`) frames ClientCutText as
 * `b'\x06\x00' + len(data).to_bytes(4, 'big') + data` with Latin-1 data: ONE padding byte
 * instead of three. `cutTextPaddingBytes: 1` decodes that framing; the session switches to it
 * only for a client it has identified as asyncvnc (see server-messages.ts for the other
 * asyncvnc quirks and for how it is recognised).
 *
 * What a framing mismatch does (documented so nobody has to rediscover it):
 * - asyncvnc bytes decoded with 3 padding bytes: `06 00 L0 L1 | L2 L3 D0 D1 …` — the padding
 *   swallows the top of the length and the "length" becomes L2 L3 D0 D1. For a text of 256+
 *   bytes that is ≥ 16 MiB and ends in VNC_ERR_TOO_LARGE at once; for 16–255 bytes it is ≥ 1 MiB
 *   and also ends in VNC_ERR_TOO_LARGE with the default bound; for 1–15 bytes it is 64 KiB–1 MiB
 *   and the decoder waits for that many bytes. It cannot tell this from a genuine large paste,
 *   so the session must bound how long a message may stay incomplete (see
 *   `describePendingClientMessage`), which turns the stall into a clear timeout.
 * - a spec client decoded with 1 padding byte: `06 00 | 00 00 M0 M1 | M2 M3 …` gives a length
 *   of (M >> 16), usually 0, and the real length's low bytes and the text are then parsed as
 *   messages: an unknown type (VNC_ERR_PROTOCOL), or for texts under 256 bytes a SetPixelFormat
 *   (M2 = 0) built from text bytes, which `validatePixelFormat` almost always refuses
 *   (VNC_ERR_UNSUPPORTED). This is why 1-padding mode is only for a client identified as
 *   asyncvnc (client-quirks.ts).
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import type { Rect } from '../../core/geometry.js';
import { decodePixelFormat, type PixelFormat } from '../pixel-format.js';
import type { ByteQueue } from './byte-queue.js';
import { ClientMessageType, FENCE_MAX_PAYLOAD_BYTES, QemuSubtype } from './constants.js';
import { parseExtendedClipboard, type ExtendedClipboardMessage } from './extended-clipboard.js';
import { readScreen, SCREEN_BYTES, type RfbScreen } from './screen.js';

/** Decoder bounds and quirks. Build once with `resolveClientMessageOptions`. */
export interface ClientMessageOptions {
  /**
   * Largest ClientCutText body, bytes: the Latin-1 text, or the whole extended-clipboard payload
   * on the wire. The inflated extended payload may be this plus 1 KiB (size words, NUL).
   * Default 1 MiB.
   */
  readonly maxCutTextBytes: number;
  /** Longest SetEncodings list. Default 1024. */
  readonly maxEncodings: number;
  /** Most screens in a SetDesktopSize. Default 16. */
  readonly maxScreens: number;
  /** ClientCutText padding: 3 per spec (default), 1 for asyncvnc. */
  readonly cutTextPaddingBytes: 3 | 1;
}

export const DEFAULT_CLIENT_MESSAGE_OPTIONS: ClientMessageOptions = Object.freeze({
  maxCutTextBytes: 1024 * 1024,
  maxEncodings: 1024,
  maxScreens: 16,
  cutTextPaddingBytes: 3,
});

/** Defaults plus range checks (VNC_ERR_CONFIG). */
export function resolveClientMessageOptions(input: Partial<ClientMessageOptions> = {}): ClientMessageOptions {
  const o = { ...DEFAULT_CLIENT_MESSAGE_OPTIONS, ...input };
  const check = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new VncError(ErrorCode.Config, `${name} must be an integer from ${min} to ${max} (got ${v})`);
    }
  };
  check('maxCutTextBytes', o.maxCutTextBytes, 0, 0x7fffffff);
  check('maxEncodings', o.maxEncodings, 1, 65535);
  check('maxScreens', o.maxScreens, 1, 255);
  if (o.cutTextPaddingBytes !== 3 && o.cutTextPaddingBytes !== 1) {
    throw new VncError(ErrorCode.Config, `cutTextPaddingBytes must be 3 or 1 (got ${String(o.cutTextPaddingBytes)})`);
  }
  return Object.freeze(o);
}

/** One decoded client message. Field values are exactly what the wire said (no clamping). */
export type ClientMessage =
  | { readonly kind: 'SetPixelFormat'; readonly pixelFormat: PixelFormat }
  | { readonly kind: 'SetEncodings'; readonly encodings: readonly number[] }
  | { readonly kind: 'FramebufferUpdateRequest'; readonly incremental: boolean; readonly rect: Rect }
  | { readonly kind: 'KeyEvent'; readonly down: boolean; readonly keysym: number }
  | { readonly kind: 'PointerEvent'; readonly buttonMask: number; readonly x: number; readonly y: number }
  | { readonly kind: 'ClientCutText'; readonly text: string }
  | { readonly kind: 'ExtendedClipboard'; readonly clipboard: ExtendedClipboardMessage }
  | { readonly kind: 'EnableContinuousUpdates'; readonly enable: boolean; readonly rect: Rect }
  | { readonly kind: 'ClientFence'; readonly flags: number; readonly payload: Buffer }
  | { readonly kind: 'SetDesktopSize'; readonly width: number; readonly height: number; readonly screens: readonly RfbScreen[] }
  | { readonly kind: 'QemuExtendedKeyEvent'; readonly down: boolean; readonly keysym: number; readonly keycode: number };

export type ClientMessageKind = ClientMessage['kind'];

/** Extra inflated bytes allowed over maxCutTextBytes for the per-format size words and NUL. */
const INFLATE_HEADROOM_BYTES = 1024;

/**
 * Decodes the next client message, or returns null (consuming nothing) if it is incomplete.
 * Throws VncError: VNC_ERR_PROTOCOL for malformed input or an unknown type, VNC_ERR_TOO_LARGE
 * for a length or count over its bound. After a throw the queue is back at the message start.
 */
export function decodeClientMessage(queue: ByteQueue, opts: ClientMessageOptions = DEFAULT_CLIENT_MESSAGE_OPTIONS): ClientMessage | null {
  if (!queue.has(1)) return null;
  queue.mark();
  let msg: ClientMessage | null;
  try {
    msg = decodeBody(queue, queue.readU8(), opts);
  } catch (e) {
    queue.rewind();
    throw e;
  }
  if (msg === null) queue.rewind();
  else queue.commit();
  return msg;
}

/**
 * For a message still incomplete at the head of the queue: its type and how many bytes of it
 * are known to be needed in total (header included), as far as the bytes so far tell. Null
 * when the queue is empty. Sessions use it to log what they are waiting for and to time out a
 * message that stays incomplete (e.g. a misframed cut text claiming 700 KB).
 */
export function describePendingClientMessage(
  queue: ByteQueue,
  opts: ClientMessageOptions = DEFAULT_CLIENT_MESSAGE_OPTIONS,
): { readonly type: number; readonly neededBytes: number; readonly availableBytes: number } | null {
  if (!queue.has(1)) return null;
  const type = queue.peekU8(0);
  const at = (n: number, ahead: number) => {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + queue.peekU8(ahead + i);
    return v;
  };
  const fixed = FIXED_SIZES.get(type);
  let needed = fixed ?? 1;
  const avail = queue.available;
  if (type === ClientMessageType.SetEncodings) needed = avail >= 4 ? 4 + 4 * at(2, 2) : 4;
  else if (type === ClientMessageType.ClientCutText) {
    const hdr = 1 + opts.cutTextPaddingBytes + 4;
    needed = avail >= hdr ? hdr + Math.abs(at(4, hdr - 4) | 0) : hdr;
  } else if (type === ClientMessageType.ClientFence) needed = avail >= 9 ? 9 + at(1, 8) : 9;
  else if (type === ClientMessageType.SetDesktopSize) needed = avail >= 8 ? 8 + SCREEN_BYTES * at(1, 6) : 8;
  else if (type === ClientMessageType.Qemu) needed = 12;
  return { type, neededBytes: needed, availableBytes: avail };
}

/** Total sizes of the fixed-length messages, type byte included. */
const FIXED_SIZES: ReadonlyMap<number, number> = new Map([
  [ClientMessageType.SetPixelFormat, 20],
  [ClientMessageType.FramebufferUpdateRequest, 10],
  [ClientMessageType.KeyEvent, 8],
  [ClientMessageType.PointerEvent, 6],
  [ClientMessageType.EnableContinuousUpdates, 10],
]);

function readRect(q: ByteQueue): Rect {
  return { x: q.readU16(), y: q.readU16(), w: q.readU16(), h: q.readU16() };
}

/** Decodes after the type byte; null = incomplete (caller rewinds). */
function decodeBody(q: ByteQueue, type: number, opts: ClientMessageOptions): ClientMessage | null {
  switch (type) {
    case ClientMessageType.SetPixelFormat: {
      // U8 type, 3 padding, PIXEL_FORMAT (16 bytes, the last 3 are padding).
      if (!q.has(19)) return null;
      q.skip(3);
      return { kind: 'SetPixelFormat', pixelFormat: decodePixelFormat(q.readBytes(16)) };
    }
    case ClientMessageType.SetEncodings: {
      // U8 type, 1 padding, U16 count, count × S32.
      if (!q.has(3)) return null;
      q.skip(1);
      const count = q.readU16();
      if (count > opts.maxEncodings) {
        throw new VncError(ErrorCode.TooLarge, `SetEncodings lists ${count} encodings (max ${opts.maxEncodings})`);
      }
      if (!q.has(4 * count)) return null;
      const encodings: number[] = new Array<number>(count);
      for (let i = 0; i < count; i++) encodings[i] = q.readS32();
      return { kind: 'SetEncodings', encodings };
    }
    case ClientMessageType.FramebufferUpdateRequest: {
      if (!q.has(9)) return null;
      const incremental = q.readU8() !== 0;
      return { kind: 'FramebufferUpdateRequest', incremental, rect: readRect(q) };
    }
    case ClientMessageType.KeyEvent: {
      // U8 type, U8 down, 2 padding, U32 keysym.
      if (!q.has(7)) return null;
      const down = q.readU8() !== 0;
      q.skip(2);
      return { kind: 'KeyEvent', down, keysym: q.readU32() };
    }
    case ClientMessageType.PointerEvent: {
      // U8 type, U8 mask, U16 x, U16 y. ExtendedMouseButtons is never enabled, so bit 7 is
      // button 8 and there is no extra byte.
      if (!q.has(5)) return null;
      const buttonMask = q.readU8();
      const x = q.readU16();
      return { kind: 'PointerEvent', buttonMask, x, y: q.readU16() };
    }
    case ClientMessageType.ClientCutText:
      return decodeCutText(q, opts);
    case ClientMessageType.EnableContinuousUpdates: {
      if (!q.has(9)) return null;
      const enable = q.readU8() !== 0;
      return { kind: 'EnableContinuousUpdates', enable, rect: readRect(q) };
    }
    case ClientMessageType.ClientFence: {
      // U8 type, 3 padding, U32 flags, U8 length, payload (≤ 64 bytes by the spec).
      if (!q.has(8)) return null;
      q.skip(3);
      const flags = q.readU32();
      const length = q.readU8();
      if (length > FENCE_MAX_PAYLOAD_BYTES) {
        throw new VncError(ErrorCode.TooLarge, `ClientFence payload of ${length} bytes (max ${FENCE_MAX_PAYLOAD_BYTES})`);
      }
      if (!q.has(length)) return null;
      // Copy: the payload is echoed later, after the chunk it came in may be long gone.
      return { kind: 'ClientFence', flags, payload: Buffer.from(q.readBytes(length)) };
    }
    case ClientMessageType.SetDesktopSize: {
      // U8 type, 1 padding, U16 w, U16 h, U8 screens, 1 padding, screens × SCREEN.
      if (!q.has(7)) return null;
      q.skip(1);
      const width = q.readU16();
      const height = q.readU16();
      const count = q.readU8();
      q.skip(1);
      if (count > opts.maxScreens) {
        throw new VncError(ErrorCode.TooLarge, `SetDesktopSize lists ${count} screens (max ${opts.maxScreens})`);
      }
      if (!q.has(SCREEN_BYTES * count)) return null;
      const screens: RfbScreen[] = [];
      for (let i = 0; i < count; i++) screens.push(readScreen(q));
      return { kind: 'SetDesktopSize', width, height, screens };
    }
    case ClientMessageType.Qemu: {
      if (!q.has(1)) return null;
      const subtype = q.readU8();
      if (subtype !== QemuSubtype.ExtendedKeyEvent) {
        // Other sub-messages (audio) have their own layouts and were never offered.
        throw new VncError(ErrorCode.Protocol, `unsupported QEMU client message subtype ${subtype}`);
      }
      // U8 255, U8 0, U16 down, U32 keysym, U32 XT keycode.
      if (!q.has(10)) return null;
      const down = q.readU16() !== 0;
      const keysym = q.readU32();
      return { kind: 'QemuExtendedKeyEvent', down, keysym, keycode: q.readU32() };
    }
    default:
      throw new VncError(ErrorCode.Protocol, `unknown client message type ${type}`);
  }
}

/**
 * ClientCutText: U8 6, padding (3, or 1 for asyncvnc), S32 length, body. A positive length is
 * Latin-1 text; a negative one is an Extended Clipboard payload of abs(length) bytes.
 */
function decodeCutText(q: ByteQueue, opts: ClientMessageOptions): ClientMessage | null {
  if (!q.has(opts.cutTextPaddingBytes + 4)) return null;
  q.skip(opts.cutTextPaddingBytes);
  const raw = q.readU32();
  // asyncvnc never uses the extended form, so in 1-padding mode the length is plain U32.
  const extended = opts.cutTextPaddingBytes === 3 && (raw | 0) < 0;
  const length = extended ? -(raw | 0) : raw;
  if (length > opts.maxCutTextBytes) {
    throw new VncError(
      ErrorCode.TooLarge,
      `ClientCutText of ${length} bytes (max ${opts.maxCutTextBytes})` +
        (opts.cutTextPaddingBytes === 3 ? '; a one-padding-byte (asyncvnc) framing would also read like this' : ''),
    );
  }
  if (!q.has(length)) return null;
  const body = q.readBytes(length);
  if (!extended) return { kind: 'ClientCutText', text: body.toString('latin1') };
  return {
    kind: 'ExtendedClipboard',
    clipboard: parseExtendedClipboard(body, opts.maxCutTextBytes + INFLATE_HEADROOM_BYTES),
  };
}
