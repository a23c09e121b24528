/**
 * Valid byte streams the mutator starts from: every client message type the decoder knows, and
 * handshake prefixes for each protocol version and security type. Each sample records where its
 * length and count fields are, so the "length-field extremes" mutation hits the fields that
 * drive allocation instead of random bytes.
 */
import { vncAuthResponse } from '../server/auth/vnc-auth.js';
import { encodePixelFormat, NATIVE_PIXEL_FORMAT, type PixelFormat } from '../server/pixel-format.js';
import {
  clipboardCapsPayload,
  clipboardNotifyPayload,
  clipboardPeekPayload,
  clipboardProvideTextPayload,
  clipboardRequestPayload,
} from '../server/protocol/extended-clipboard.js';
import { ClipboardAction, ClipboardFormat, Encoding, FenceFlag, PseudoEncoding } from '../server/protocol/constants.js';
import { writeScreen } from '../server/protocol/screen.js';
import type { Rng } from './random.js';

/** A length or count field inside a sample. */
export interface Field {
  readonly offset: number;
  readonly size: 1 | 2 | 4;
}

export interface Sample {
  readonly bytes: Buffer;
  readonly fields: readonly Field[];
}

/** The password and fixed challenge the VNC-auth samples are computed for. */
export const FUZZ_PASSWORD = 'fuzz-pw1';
export const FUZZ_CHALLENGE = Buffer.from('0123456789abcdef', 'latin1');

function sample(bytes: Buffer, fields: Field[] = []): Sample {
  return { bytes, fields };
}

function shift(s: Sample, by: number): Field[] {
  return s.fields.map((f) => ({ offset: f.offset + by, size: f.size }));
}

/** Concatenates samples, keeping their field positions. */
export function concatSamples(parts: readonly Sample[]): Sample {
  const fields: Field[] = [];
  let at = 0;
  for (const p of parts) {
    fields.push(...shift(p, at));
    at += p.bytes.length;
  }
  return sample(Buffer.concat(parts.map((p) => p.bytes)), fields);
}

// ------------------------------------------------------------------------------ messages

function setPixelFormat(pf: PixelFormat): Sample {
  const b = Buffer.alloc(20);
  encodePixelFormat(pf).copy(b, 4);
  return sample(b);
}

function setEncodings(list: readonly number[]): Sample {
  const b = Buffer.alloc(4 + 4 * list.length);
  b[0] = 2;
  b.writeUInt16BE(list.length, 2);
  list.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return sample(b, [{ offset: 2, size: 2 }]);
}

function updateRequest(incremental: boolean, x: number, y: number, w: number, h: number): Sample {
  const b = Buffer.alloc(10);
  b[0] = 3;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return sample(b, [{ offset: 6, size: 2 }, { offset: 8, size: 2 }]);
}

function keyEvent(keysym: number, down: boolean): Sample {
  const b = Buffer.alloc(8);
  b[0] = 4;
  b[1] = down ? 1 : 0;
  b.writeUInt32BE(keysym >>> 0, 4);
  return sample(b);
}

function pointerEvent(mask: number, x: number, y: number): Sample {
  const b = Buffer.alloc(6);
  b[0] = 5;
  b[1] = mask;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  return sample(b);
}

/** ClientCutText with an S32 length: positive = Latin-1 text, negative = extended payload. */
function cutText(body: Buffer, extended: boolean): Sample {
  const b = Buffer.alloc(8 + body.length);
  b[0] = 6;
  b.writeInt32BE(extended ? -body.length : body.length, 4);
  body.copy(b, 8);
  const fields: Field[] = [{ offset: 4, size: 4 }];
  // The per-format size words inside caps sit after the flags word.
  if (extended && body.length >= 8) fields.push({ offset: 12, size: 4 });
  return sample(b, fields);
}

function enableContinuousUpdates(enable: boolean): Sample {
  const b = Buffer.alloc(10);
  b[0] = 150;
  b[1] = enable ? 1 : 0;
  b.writeUInt16BE(64, 6);
  b.writeUInt16BE(48, 8);
  return sample(b);
}

function clientFence(flags: number, payload: Buffer): Sample {
  const b = Buffer.alloc(9 + payload.length);
  b[0] = 248;
  b.writeUInt32BE(flags >>> 0, 4);
  b[8] = payload.length;
  payload.copy(b, 9);
  return sample(b, [{ offset: 8, size: 1 }]);
}

function setDesktopSize(w: number, h: number, screens: number): Sample {
  const b = Buffer.alloc(8 + 16 * screens);
  b[0] = 251;
  b.writeUInt16BE(w, 2);
  b.writeUInt16BE(h, 4);
  b[6] = screens;
  for (let i = 0; i < screens; i++) writeScreen(b, 8 + 16 * i, { id: i + 1, x: i * 32, y: 0, width: 32, height: h, flags: 0 });
  return sample(b, [{ offset: 6, size: 1 }, { offset: 2, size: 2 }]);
}

function qemuKey(keysym: number, keycode: number, down: boolean): Sample {
  const b = Buffer.alloc(12);
  b[0] = 255;
  b[1] = 0;
  b.writeUInt16BE(down ? 1 : 0, 2);
  b.writeUInt32BE(keysym >>> 0, 4);
  b.writeUInt32BE(keycode >>> 0, 8);
  return sample(b);
}

const FORMAT_16: PixelFormat = { ...NATIVE_PIXEL_FORMAT, bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 };
const FORMAT_8: PixelFormat = { ...NATIVE_PIXEL_FORMAT, bitsPerPixel: 8, depth: 8, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6 };
const FORMAT_RGBX: PixelFormat = { ...NATIVE_PIXEL_FORMAT, redShift: 0, blueShift: 16 };
const FORMAT_COLOUR_MAP: PixelFormat = { ...FORMAT_8, trueColour: false };

/** One valid instance of every client message (several for the variable-length ones). */
export function messageCorpus(): Sample[] {
  const text = Buffer.from('hello, clipboard\r\nline two \u00e9', 'latin1');
  return [
    setPixelFormat(NATIVE_PIXEL_FORMAT),
    setPixelFormat(FORMAT_16),
    setPixelFormat(FORMAT_8),
    setPixelFormat(FORMAT_RGBX),
    setPixelFormat(FORMAT_COLOUR_MAP),
    setEncodings([Encoding.Raw]),
    setEncodings([Encoding.Tight, Encoding.ZRLE, Encoding.Hextile, Encoding.Zlib, Encoding.CopyRect, Encoding.Raw, PseudoEncoding.Cursor,
      PseudoEncoding.DesktopSize, PseudoEncoding.ExtendedDesktopSize, PseudoEncoding.LastRect, PseudoEncoding.Fence,
      PseudoEncoding.QemuExtendedKeyEvent, PseudoEncoding.ExtendedClipboard, PseudoEncoding.QualityLevel0 + 6, PseudoEncoding.CompressLevel0 + 2]),
    setEncodings([]),
    updateRequest(false, 0, 0, 64, 48),
    updateRequest(true, 0, 0, 64, 48),
    updateRequest(true, 10, 10, 0xffff, 0xffff),
    keyEvent(0x61, true),
    keyEvent(0xffe1, false),
    pointerEvent(1, 10, 20),
    pointerEvent(0x80, 0xffff, 0xffff),
    cutText(text, false),
    cutText(Buffer.alloc(0), false),
    cutText(clipboardCapsPayload(ClipboardFormat.Text | ClipboardFormat.Html, ClipboardAction.Request | ClipboardAction.Notify | ClipboardAction.Provide,
      new Map([[ClipboardFormat.Text, 1 << 20], [ClipboardFormat.Html, 0]])), true),
    cutText(clipboardRequestPayload(ClipboardFormat.Text), true),
    cutText(clipboardPeekPayload(), true),
    cutText(clipboardNotifyPayload(ClipboardFormat.Text), true),
    cutText(clipboardProvideTextPayload('pasted text\nsecond line'), true),
    enableContinuousUpdates(true),
    clientFence(FenceFlag.Request | FenceFlag.BlockBefore, Buffer.from('fence-payload')),
    clientFence(0, Buffer.alloc(0)),
    setDesktopSize(64, 48, 1),
    setDesktopSize(128, 48, 2),
    qemuKey(0x61, 30, true),
  ];
}

// ------------------------------------------------------------------------------ handshakes

export type SecurityConfig = 'none' | 'vnc-auth';

/** A complete valid handshake (ProtocolVersion … ClientInit) for `security`. */
export function handshakeCorpus(security: SecurityConfig): Sample[] {
  const shared = Buffer.from([1]);
  const exclusive = Buffer.from([0]);
  if (security === 'none') {
    return [
      sample(Buffer.concat([Buffer.from('RFB 003.008\n', 'latin1'), Buffer.from([1]), shared])),
      sample(Buffer.concat([Buffer.from('RFB 003.007\n', 'latin1'), Buffer.from([1]), shared])),
      sample(Buffer.concat([Buffer.from('RFB 003.003\n', 'latin1'), exclusive])),
      sample(Buffer.concat([Buffer.from('RFB 003.889\n', 'latin1'), Buffer.from([1]), shared])),
    ];
  }
  const response = vncAuthResponse(FUZZ_CHALLENGE, FUZZ_PASSWORD);
  const wrong = vncAuthResponse(FUZZ_CHALLENGE, 'not-the-pw');
  return [
    sample(Buffer.concat([Buffer.from('RFB 003.008\n', 'latin1'), Buffer.from([2]), response, shared])),
    sample(Buffer.concat([Buffer.from('RFB 003.007\n', 'latin1'), Buffer.from([2]), response, shared])),
    sample(Buffer.concat([Buffer.from('RFB 003.003\n', 'latin1'), response, exclusive])),
    sample(Buffer.concat([Buffer.from('RFB 003.008\n', 'latin1'), Buffer.from([2]), wrong, shared])),
  ];
}

/** 1..maxMessages random messages from the corpus, concatenated. */
export function messageSequence(rng: Rng, corpus: readonly Sample[], maxMessages: number): Sample {
  const n = 1 + rng.int(maxMessages);
  const parts: Sample[] = [];
  for (let i = 0; i < n; i++) parts.push(rng.pick(corpus));
  return concatSamples(parts);
}
