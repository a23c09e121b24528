import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/errors.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter, type PixelFormat } from '../../server/pixel-format.js';
import { ByteQueue } from '../../server/protocol/byte-queue.js';
import { decodeClientMessage } from '../../server/protocol/client-messages.js';
import { detectClientQuirks } from '../../server/protocol/client-quirks.js';
import { ClipboardAction, DesktopSizeStatus, LAST_RECT_COUNT, PseudoEncoding } from '../../server/protocol/constants.js';
import {
  encodeBell,
  encodeCursorRect,
  encodeDesktopNameRect,
  encodeDesktopSizeRect,
  encodeEndOfContinuousUpdates,
  encodeExtendedDesktopSizeRect,
  encodeFramebufferUpdateHeader,
  encodeLastRectRect,
  encodeServerClipboardCaps,
  encodeServerClipboardNotify,
  encodeServerClipboardPeek,
  encodeServerClipboardProvide,
  encodeServerClipboardRequest,
  encodeServerCutText,
  encodeServerFence,
  encodeServerInit,
  encodeSetDesktopSizeResult,
  truncateUtf8,
} from '../../server/protocol/server-messages.js';

const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));
const rect = (x: number, y: number, w: number, h: number, enc: number) => {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(x, 0); b.writeUInt16BE(y, 2); b.writeUInt16BE(w, 4); b.writeUInt16BE(h, 6); b.writeInt32BE(enc, 8);
  return b.toString('hex');
};

describe('ServerInit', () => {
  it('is width, height, PIXEL_FORMAT, name length, UTF-8 name', () => {
    const b = encodeServerInit(1024, 768, NATIVE_PIXEL_FORMAT, 'Xvfb :1 – bürо');
    const name = Buffer.from('Xvfb :1 – bürо', 'utf8');
    expect(hex(b)).toBe(
      '04000300' + '2018000100ff00ff00ff100800000000' + name.length.toString(16).padStart(8, '0') + name.toString('hex'),
    );
  });

  it('cuts long names at a character boundary', () => {
    const b = encodeServerInit(1, 1, NATIVE_PIXEL_FORMAT, 'ab€€', 6);
    // "ab€" is 5 bytes; the second € (3 bytes) does not fit in 6.
    expect(b.readUInt32BE(20)).toBe(5);
    expect(b.subarray(24).toString('utf8')).toBe('ab€');
    expect(encodeServerInit(1, 1, NATIVE_PIXEL_FORMAT, 'x'.repeat(1000)).readUInt32BE(20)).toBe(255);
    expect(truncateUtf8('😀x', 3).length).toBe(0);
    expect(truncateUtf8('😀x', 4).toString()).toBe('😀');
  });

  it('refuses sizes that do not fit U16', () => {
    expect(() => encodeServerInit(65536, 1, NATIVE_PIXEL_FORMAT, '')).toThrow(RangeError);
  });
});

describe('FramebufferUpdate framing', () => {
  it('header with a count, or 0xFFFF terminated by LastRect', () => {
    expect(hex(encodeFramebufferUpdateHeader(3))).toBe('00000003');
    expect(hex(encodeFramebufferUpdateHeader(LAST_RECT_COUNT))).toBe('0000ffff');
    expect(hex(encodeLastRectRect())).toBe(rect(0, 0, 0, 0, -224));
    expect(() => encodeFramebufferUpdateHeader(70000)).toThrow(RangeError);
  });

  it('DesktopSize, ExtendedDesktopSize, SetDesktopSize result and DesktopName pseudo-rectangles', () => {
    expect(hex(encodeDesktopSizeRect(800, 600))).toBe(rect(0, 0, 800, 600, -223));
    const screens = [{ id: 0x01020304, x: 0, y: 0, width: 800, height: 600, flags: 0 }];
    const screenHex = '01020304' + '0000' + '0000' + '0320' + '0258' + '00000000';
    expect(hex(encodeExtendedDesktopSizeRect(0, 0, 800, 600, screens))).toBe(rect(0, 0, 800, 600, -308) + '01000000' + screenHex);
    expect(hex(encodeSetDesktopSizeResult(DesktopSizeStatus.Prohibited, 800, 600, screens))).toBe(
      rect(1, 1, 800, 600, -308) + '01000000' + screenHex,
    );
    expect(hex(encodeExtendedDesktopSizeRect(2, 0, 10, 10, []))).toBe(rect(2, 0, 10, 10, -308) + '00000000');
    expect(hex(encodeDesktopNameRect('né'))).toBe(rect(0, 0, 0, 0, -307) + '00000003' + Buffer.from('né').toString('hex'));
  });
});

describe('simple messages', () => {
  it('Bell, EndOfContinuousUpdates, ServerFence', () => {
    expect(hex(encodeBell())).toBe('02');
    expect(hex(encodeEndOfContinuousUpdates())).toBe('96');
    expect(hex(encodeServerFence(0x80000007, Buffer.from('xy')))).toBe('f8000000' + '80000007' + '02' + '7879');
    expect(hex(encodeServerFence(0))).toBe('f8000000' + '00000000' + '00');
    expect(() => encodeServerFence(0, Buffer.alloc(65))).toThrow(expect.objectContaining({ code: ErrorCode.TooLarge }));
  });

  it('ServerCutText is Latin-1; anything outside becomes one "?" per character', () => {
    expect(hex(encodeServerCutText('café'))).toBe('03000000' + '00000004' + '636166e9');
    expect(encodeServerCutText('€ 😀 ÿ').subarray(8).toString('latin1')).toBe('? ? ÿ');
  });
});

/**
 * The message loop of asyncvnc 1.3.0 (asyncvnc.py `Client.read`), transcribed: 0 = video
 * (1 padding, U16 count, rects), 2 = clipboard (3 padding, U32 length, Latin-1), 3 = bell,
 * anything else raises.
 */
function asyncvncRead(stream: Buffer): string[] {
  const events: string[] = [];
  let o = 0;
  while (o < stream.length) {
    const type = stream[o++]!;
    if (type === 2) {
      o += 3;
      const len = stream.readUInt32BE(o);
      o += 4;
      if (o + len > stream.length) throw new Error('asyncvnc would block waiting for cut text');
      events.push('clipboard:' + stream.subarray(o, o + len).toString('latin1'));
      o += len;
    } else if (type === 3) events.push('bell');
    else if (type === 0) {
      o += 1;
      const n = stream.readUInt16BE(o);
      o += 2;
      if (n !== 0) throw new Error('test only models empty updates');
      events.push('video');
    } else throw new Error(`ValueError: ${type} is not a valid UpdateType`);
  }
  return events;
}

describe('asyncvnc compatibility', () => {
  const compat = detectClientQuirks([6]).asyncvnc ? { asyncvncCompat: true } : {};
  it('is detected from SetEncodings = [Zlib] only', () => {
    expect(compat).toEqual({ asyncvncCompat: true });
    expect(detectClientQuirks([6, 0]).asyncvnc).toBe(false);
    expect(detectClientQuirks([]).asyncvnc).toBe(false);
    expect(detectClientQuirks([0]).asyncvnc).toBe(false);
  });

  it('cut text goes out as type 2 and bell is suppressed, so asyncvnc stays in sync', () => {
    expect(encodeBell(compat)).toBeNull();
    const stream = Buffer.concat([encodeServerCutText('héllo', compat), encodeFramebufferUpdateHeader(0), encodeServerCutText('', compat)]);
    expect(asyncvncRead(stream)).toEqual(['clipboard:héllo', 'video', 'clipboard:']);
  });

  it('(control) spec messages desynchronise asyncvnc, which is why the option exists', () => {
    const spec = Buffer.concat([encodeBell()!, encodeFramebufferUpdateHeader(0), encodeServerCutText('hi')]);
    expect(() => asyncvncRead(spec)).toThrow();
  });
});

describe('Cursor pseudo-rectangle', () => {
  // 9×2: row 0 opaque red, half-transparent green (alpha 128, visible), alpha 127 blue (hidden)…
  const W = 9;
  const argb = new Uint32Array(W * 2);
  argb[0] = 0xffff0000;
  argb[1] = 0x8000ff00;
  argb[2] = 0x7f0000ff;
  argb[8] = 0xffffffff; // last pixel of row 0: needs the second mask byte
  argb[W + 3] = 0xff123456;

  const cursor = { width: W, height: 2, hotX: 4, hotY: 1, argb };

  it('native 32 bpp: BGRX pixels, invisible ones zero, MSB-first mask with padded rows', () => {
    const b = encodeCursorRect(cursor, new PixelConverter(NATIVE_PIXEL_FORMAT));
    expect(hex(b.subarray(0, 12))).toBe(rect(4, 1, 9, 2, PseudoEncoding.Cursor));
    const px = b.subarray(12, 12 + W * 2 * 4);
    expect(px.readUInt32LE(0)).toBe(0xff0000);
    expect(px.readUInt32LE(4)).toBe(0x00ff00);
    expect(px.readUInt32LE(8)).toBe(0); // alpha 127: hidden, written as 0
    expect(px.readUInt32LE(32)).toBe(0xffffff);
    expect(px.readUInt32LE((W + 3) * 4)).toBe(0x123456);
    const mask = b.subarray(12 + W * 2 * 4);
    expect(hex(mask)).toBe('c080' + '1000');
  });

  it('16 bpp 5/6/5 big-endian and 8 bpp 3/3/2 use the converter', () => {
    const rgb565be: PixelFormat = { bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 };
    const b16 = encodeCursorRect(cursor, new PixelConverter(rgb565be));
    expect(b16.length).toBe(12 + W * 2 * 2 + 2 * 2);
    expect(b16.readUInt16BE(12)).toBe(0xf800);
    expect(b16.readUInt16BE(14)).toBe(0x07e0);
    const bgr233: PixelFormat = { bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6 };
    const b8 = encodeCursorRect(cursor, new PixelConverter(bgr233));
    expect(b8.length).toBe(12 + W * 2 + 2 * 2);
    expect(b8[12]).toBe(0x07);
    expect(b8[13]).toBe(0x38);
    expect(b8[12 + 8]).toBe(0xff);
  });

  it('an empty cursor is a bare header; too few pixels is an error', () => {
    expect(encodeCursorRect({ width: 0, height: 0, hotX: 0, hotY: 0, argb: new Uint32Array(0) }, new PixelConverter(NATIVE_PIXEL_FORMAT)).length).toBe(12);
    expect(() => encodeCursorRect({ ...cursor, argb: new Uint32Array(3) }, new PixelConverter(NATIVE_PIXEL_FORMAT))).toThrow(RangeError);
  });
});

/** noVNC's own modules, loaded from node_modules by path (its package exports only rfb.js). */
async function loadNoVnc() {
  const base = fileURLToPath(new URL('../../node_modules/@novnc/novnc/core/', import.meta.url));
  const Inflator = (await import(base + 'inflator.js')).default;
  const Deflator = (await import(base + 'deflator.js')).default;
  const { decodeUTF8, encodeUTF8 } = await import(base + 'util/strings.js');
  return { Inflator, Deflator, decodeUTF8, encodeUTF8 };
}

/** Reads one ServerCutText the way noVNC 1.7 core/rfb.js `_handleServerCutText` does. */
function parseLikeNoVnc(msg: Buffer, nv: Awaited<ReturnType<typeof loadNoVnc>>) {
  expect(msg[0]).toBe(3);
  const length = msg.readInt32BE(4);
  expect(length).toBeLessThan(0);
  expect(msg.length).toBe(8 + Math.abs(length));
  const flags = msg.readUInt32BE(8);
  const formats = flags & 0xffff;
  const actions = flags & 0xff000000; // signed in JS, as in noVNC
  if (actions & ClipboardAction.Caps) {
    const sizes: number[] = [];
    for (let i = 0; i <= 15; i++) if (formats & (1 << i)) sizes.push(msg.readUInt32BE(12 + 4 * sizes.length));
    return { caps: true, formats, actions: actions >>> 0, sizes };
  }
  if (actions === ClipboardAction.Provide) {
    const inflator = new nv.Inflator();
    inflator.setInput(new Uint8Array(msg.subarray(12)));
    let textData: Uint8Array | null = null;
    for (let i = 0; i <= 15; i++) {
      const format = 1 << i;
      if (formats & format) {
        const s = inflator.inflate(4);
        const size = (s[0] << 24) | (s[1] << 16) | (s[2] << 8) | s[3];
        const chunk = inflator.inflate(size);
        if (format === 1) textData = chunk;
      }
    }
    let text = nv.decodeUTF8(String.fromCharCode(...textData!));
    if (text.length > 0 && text.charAt(text.length - 1) === '\0') text = text.slice(0, -1);
    return { provide: text.replaceAll('\r\n', '\n') };
  }
  if (![ClipboardAction.Request, ClipboardAction.Peek, ClipboardAction.Notify].includes(actions)) {
    throw new Error('noVNC: Unexpected action in extended clipboard message: ' + actions);
  }
  return { actions, formats };
}

describe('Extended Clipboard, checked with noVNC 1.7 code', () => {
  it('caps announces text with request/peek/notify/provide and our size limit', async () => {
    const nv = await loadNoVnc();
    expect(parseLikeNoVnc(encodeServerClipboardCaps(1 << 20), nv)).toEqual({
      caps: true,
      formats: 1,
      actions: (ClipboardAction.Caps | ClipboardAction.Request | ClipboardAction.Peek | ClipboardAction.Notify | ClipboardAction.Provide) >>> 0,
      sizes: [1 << 20],
    });
  });

  it('notify, request and peek each carry exactly one action (noVNC compares with ===)', async () => {
    const nv = await loadNoVnc();
    expect(parseLikeNoVnc(encodeServerClipboardNotify(), nv)).toEqual({ actions: ClipboardAction.Notify, formats: 1 });
    expect(parseLikeNoVnc(encodeServerClipboardNotify(false), nv)).toEqual({ actions: ClipboardAction.Notify, formats: 0 });
    expect(parseLikeNoVnc(encodeServerClipboardRequest(), nv)).toEqual({ actions: ClipboardAction.Request, formats: 1 });
    expect(parseLikeNoVnc(encodeServerClipboardPeek(), nv)).toEqual({ actions: ClipboardAction.Peek, formats: 0 });
  });

  it('provide delivers UTF-8 text intact through noVNC\'s inflator and UTF-8 decoder', async () => {
    const nv = await loadNoVnc();
    for (const text of ['héllo wörld € 😀', 'line1\nline2\r\nline3', '', 'x'.repeat(100_000)]) {
      const want = text.replace(/\r\n/g, '\n');
      expect(parseLikeNoVnc(encodeServerClipboardProvide(text), nv)).toEqual({ provide: want });
    }
  });

  it('what noVNC\'s Deflator sends (extendedClipboardProvide) decodes to the same text here', async () => {
    const nv = await loadNoVnc();
    const text = 'grüße\n€ 😀';
    // Transcription of RFB.messages.extendedClipboardProvide: CRLF, "\0", encodeUTF8, size, Z_FULL_FLUSH deflate.
    const utf8 = nv.encodeUTF8(text.replace(/\r\n|\r|\n/gm, '\r\n') + '\0') as string;
    const raw = [(utf8.length >> 24) & 0xff, (utf8.length >> 16) & 0xff, (utf8.length >> 8) & 0xff, utf8.length & 0xff];
    for (let j = 0; j < utf8.length; j++) raw.push(utf8.charCodeAt(j));
    const deflated: Uint8Array = new nv.Deflator().deflate(new Uint8Array(raw));
    const payload = Buffer.concat([Buffer.from([0x10, 0, 0, 1]), Buffer.from(deflated)]);
    const msg = Buffer.alloc(8);
    msg[0] = 6;
    msg.writeInt32BE(-payload.length, 4);
    const q = new ByteQueue();
    q.push(Buffer.concat([msg, payload]));
    expect(decodeClientMessage(q)).toEqual({ kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardProvide', formats: 1, text } });
  });
});
