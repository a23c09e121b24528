/**
 * The Extended Clipboard extension (rfbproto "Extended Clipboard Pseudo-Encoding"): a Client- or
 * ServerCutText whose S32 length is negative carries `abs(length)` bytes starting with a U32
 * flags word (formats in bits 0–15, actions in bits 24–31). Text is UTF-8 with CRLF line ends
 * and a terminating NUL, zlib-compressed inside `provide`.
 *
 * This file turns such a payload into a typed message and builds the payloads we send. The
 * flow noVNC (core/rfb.js `_handleServerCutText`, `clipboardPasteFrom`) needs:
 * - server → client, once per SetEncodings that lists the pseudo-encoding: `caps` announcing
 *   text and the actions request/peek/notify/provide. noVNC answers with its own caps and from
 *   then on uses the extended path.
 * - server clipboard changed: `notify(text)`; noVNC answers `request(text)`; we send
 *   `provide(text)`. (noVNC also accepts an unsolicited `provide`, but its caps advertise a 0
 *   byte unsolicited limit, so notify-first is the polite path.)
 * - client pasted: noVNC sends `notify(text)`; we send `request(text)`; noVNC sends `provide`.
 * noVNC requires exactly one action bit per non-caps message (`actions === …`), and every
 * `provide` is its own zlib stream (noVNC makes a new Inflator/Deflator per message, and
 * flushes with Z_FULL_FLUSH rather than finishing the stream).
 */
import zlib from 'node:zlib';
import { ErrorCode, VncError } from '../../core/errors.js';
import { CLIPBOARD_ACTION_MASK, CLIPBOARD_FORMAT_MASK, ClipboardAction, ClipboardFormat } from './constants.js';

/** A decoded extended ClientCutText. Format/action fields are the raw bit sets. */
export type ExtendedClipboardMessage =
  | {
      readonly kind: 'ClipboardCaps';
      /** Formats the client accepts (ClipboardFormat bits). */
      readonly formats: number;
      /** Actions the client accepts (ClipboardAction bits, Caps included). */
      readonly actions: number;
      /** Largest unsolicited `provide` per format bit, in bytes. */
      readonly maxSizes: ReadonlyMap<number, number>;
    }
  | { readonly kind: 'ClipboardRequest'; readonly formats: number }
  | { readonly kind: 'ClipboardPeek' }
  | { readonly kind: 'ClipboardNotify'; readonly formats: number }
  | {
      readonly kind: 'ClipboardProvide';
      readonly formats: number;
      /** The text format, decoded: NUL terminator removed, CRLF turned into LF. Null if absent. */
      readonly text: string | null;
    };

/** Format bits 0..15 that are set in `formats`, lowest first (the wire order of per-format data). */
function formatBits(formats: number): number[] {
  const bits: number[] = [];
  for (let i = 0; i < 16; i++) if (formats & (1 << i)) bits.push(1 << i);
  return bits;
}

/** Exactly one bit set? */
function isSingleBit(v: number): boolean {
  return v !== 0 && (v & (v - 1)) === 0;
}

/**
 * Decodes the payload (flags word included) of an extended ClientCutText.
 * `maxInflatedBytes` bounds what a `provide` may decompress to; more is VNC_ERR_TOO_LARGE.
 * Bytes after the documented fields of caps/request/peek/notify are ignored: they lie inside a
 * length-delimited frame, so skipping them cannot desynchronise the stream, and future
 * revisions may append fields.
 */
export function parseExtendedClipboard(payload: Buffer, maxInflatedBytes: number): ExtendedClipboardMessage {
  if (payload.length < 4) {
    throw new VncError(ErrorCode.Protocol, `extended clipboard message of ${payload.length} bytes has no flags`);
  }
  const flags = payload.readUInt32BE(0);
  const formats = flags & CLIPBOARD_FORMAT_MASK;
  const actions = (flags & CLIPBOARD_ACTION_MASK) >>> 0;
  if (actions & ClipboardAction.Caps) {
    const bits = formatBits(formats);
    if (payload.length < 4 + 4 * bits.length) {
      throw new VncError(ErrorCode.Protocol, `extended clipboard caps lists ${bits.length} formats but has no room for their sizes`);
    }
    const maxSizes = new Map<number, number>();
    bits.forEach((bit, i) => maxSizes.set(bit, payload.readUInt32BE(4 + 4 * i)));
    return { kind: 'ClipboardCaps', formats, actions, maxSizes };
  }
  // Without caps, exactly one action (rfbproto: "only one of the other actions may be set").
  if (!isSingleBit(actions)) {
    throw new VncError(ErrorCode.Protocol, `extended clipboard flags 0x${flags.toString(16)} do not name exactly one action`);
  }
  switch (actions) {
    case ClipboardAction.Request:
      return { kind: 'ClipboardRequest', formats };
    case ClipboardAction.Peek:
      return { kind: 'ClipboardPeek' };
    case ClipboardAction.Notify:
      return { kind: 'ClipboardNotify', formats };
    case ClipboardAction.Provide:
      return { kind: 'ClipboardProvide', formats, text: parseProvide(formats, payload.subarray(4), maxInflatedBytes) };
    default:
      throw new VncError(ErrorCode.Protocol, `unknown extended clipboard action 0x${actions.toString(16)}`);
  }
}

function parseProvide(formats: number, compressed: Buffer, maxInflatedBytes: number): string | null {
  let data: Buffer;
  try {
    // Z_SYNC_FLUSH as finishFlush accepts a stream that was flushed but never finished
    // (noVNC's Deflator uses Z_FULL_FLUSH); maxOutputLength is the zip-bomb bound.
    data = zlib.inflateSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, maxInflatedBytes) });
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new VncError(ErrorCode.TooLarge, `extended clipboard data inflates to more than ${maxInflatedBytes} bytes`, { cause: e });
    }
    throw new VncError(ErrorCode.Protocol, `extended clipboard data is not a valid zlib stream: ${(e as Error).message}`, { cause: e });
  }
  let off = 0;
  let text: string | null = null;
  for (const bit of formatBits(formats)) {
    if (off + 4 > data.length) {
      throw new VncError(ErrorCode.Protocol, 'extended clipboard provide ends before the size of a listed format');
    }
    const size = data.readUInt32BE(off);
    off += 4;
    if (size > data.length - off) {
      throw new VncError(ErrorCode.Protocol, `extended clipboard provide announces ${size} bytes but only ${data.length - off} remain`);
    }
    if (bit === ClipboardFormat.Text) text = decodeClipboardText(data.subarray(off, off + size));
    off += size;
  }
  return text;
}

/** UTF-8 → string, minus the terminating NUL, CRLF → LF (the desktop side uses LF). */
function decodeClipboardText(bytes: Buffer): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0) end--;
  return bytes.toString('utf8', 0, end).replace(/\r\n/g, '\n');
}

function flagsOnly(flags: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(flags >>> 0, 0);
  return b;
}

/**
 * `caps` payload. `maxSizes` gives, per format bit in `formats`, the largest unsolicited
 * `provide` we accept; formats without an entry get 0.
 */
export function clipboardCapsPayload(formats: number, actions: number, maxSizes: ReadonlyMap<number, number>): Buffer {
  const bits = formatBits(formats);
  const b = Buffer.alloc(4 + 4 * bits.length);
  b.writeUInt32BE(((actions | ClipboardAction.Caps) & CLIPBOARD_ACTION_MASK | (formats & CLIPBOARD_FORMAT_MASK)) >>> 0, 0);
  bits.forEach((bit, i) => b.writeUInt32BE((maxSizes.get(bit) ?? 0) >>> 0, 4 + 4 * i));
  return b;
}

export function clipboardNotifyPayload(formats: number): Buffer {
  return flagsOnly(ClipboardAction.Notify | (formats & CLIPBOARD_FORMAT_MASK));
}

export function clipboardRequestPayload(formats: number): Buffer {
  return flagsOnly(ClipboardAction.Request | (formats & CLIPBOARD_FORMAT_MASK));
}

export function clipboardPeekPayload(): Buffer {
  return flagsOnly(ClipboardAction.Peek);
}

/**
 * `provide` payload carrying `text` only: flags, then one zlib stream (finished, so any
 * inflater accepts it) holding U32 size + UTF-8 text with CRLF line ends and a NUL.
 */
export function clipboardProvideTextPayload(text: string): Buffer {
  const utf8 = Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n') + '\0', 'utf8');
  const size = Buffer.alloc(4);
  size.writeUInt32BE(utf8.length, 0);
  const compressed = zlib.deflateSync(Buffer.concat([size, utf8]));
  return Buffer.concat([flagsOnly(ClipboardAction.Provide | ClipboardFormat.Text), compressed]);
}
