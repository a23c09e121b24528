import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isVncError } from '../../core/errors.js';
import { NATIVE_PIXEL_FORMAT, encodePixelFormat, validatePixelFormat } from '../../server/pixel-format.js';
import { ByteQueue } from '../../server/protocol/byte-queue.js';
import {
  decodeClientMessage,
  describePendingClientMessage,
  resolveClientMessageOptions,
  type ClientMessage,
  type ClientMessageOptions,
} from '../../server/protocol/client-messages.js';
import { ClipboardAction, ClipboardFormat, PseudoEncoding } from '../../server/protocol/constants.js';
import { chunkings, feed } from '../helpers/chunked-feeder.js';

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n, 0); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0, 0); return b; };
const s32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n, 0); return b; };
const pad = (n: number) => Buffer.alloc(n);
const cat = (...b: Buffer[]) => Buffer.concat(b);

const OPTS = resolveClientMessageOptions();
const ASYNCVNC_OPTS = resolveClientMessageOptions({ cutTextPaddingBytes: 1 });

/** Decodes everything currently decodable. */
const drain = (opts: ClientMessageOptions) => (q: ByteQueue, emit: (m: ClientMessage) => void) => {
  for (let m = decodeClientMessage(q, opts); m; m = decodeClientMessage(q, opts)) emit(m);
};

const extCut = (payload: Buffer) => cat(u8(6), pad(3), s32(-payload.length), payload);
/** A provide payload the way noVNC builds it: Z_FULL_FLUSH, stream never finished. */
function noVncProvide(text: string): Buffer {
  const utf8 = Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n') + '\0', 'utf8');
  const z = zlib.deflateSync(cat(u32(utf8.length), utf8), { finishFlush: zlib.constants.Z_FULL_FLUSH });
  return cat(u32(ClipboardAction.Provide | ClipboardFormat.Text), z);
}

const RED_565 = {
  bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true,
  redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
};

/** Every message type, as [bytes, decoded]. */
const CASES: [string, Buffer, ClientMessage][] = [
  ['SetPixelFormat', cat(u8(0), pad(3), encodePixelFormat(RED_565)), { kind: 'SetPixelFormat', pixelFormat: RED_565 }],
  [
    'SetEncodings',
    cat(u8(2), pad(1), u16(4), s32(7), s32(0), s32(PseudoEncoding.ExtendedClipboard), s32(-223)),
    { kind: 'SetEncodings', encodings: [7, 0, PseudoEncoding.ExtendedClipboard, -223] },
  ],
  ['SetEncodings empty', cat(u8(2), pad(1), u16(0)), { kind: 'SetEncodings', encodings: [] }],
  [
    'FramebufferUpdateRequest',
    cat(u8(3), u8(1), u16(10), u16(20), u16(640), u16(480)),
    { kind: 'FramebufferUpdateRequest', incremental: true, rect: { x: 10, y: 20, w: 640, h: 480 } },
  ],
  ['KeyEvent down', cat(u8(4), u8(1), pad(2), u32(0xffe1)), { kind: 'KeyEvent', down: true, keysym: 0xffe1 }],
  ['KeyEvent up', cat(u8(4), u8(0), pad(2), u32(0x1008ff13)), { kind: 'KeyEvent', down: false, keysym: 0x1008ff13 }],
  ['PointerEvent', cat(u8(5), u8(0x85), u16(65535), u16(3)), { kind: 'PointerEvent', buttonMask: 0x85, x: 65535, y: 3 }],
  ['ClientCutText Latin-1', cat(u8(6), pad(3), u32(4), Buffer.from([0x63, 0x61, 0x66, 0xe9])), { kind: 'ClientCutText', text: 'café' }],
  ['ClientCutText empty', cat(u8(6), pad(3), u32(0)), { kind: 'ClientCutText', text: '' }],
  [
    'EnableContinuousUpdates',
    cat(u8(150), u8(1), u16(0), u16(0), u16(800), u16(600)),
    { kind: 'EnableContinuousUpdates', enable: true, rect: { x: 0, y: 0, w: 800, h: 600 } },
  ],
  [
    'ClientFence',
    cat(u8(248), pad(3), u32(0x80000003), u8(3), Buffer.from('abc')),
    { kind: 'ClientFence', flags: 0x80000003, payload: Buffer.from('abc') },
  ],
  ['ClientFence empty', cat(u8(248), pad(3), u32(4), u8(0)), { kind: 'ClientFence', flags: 4, payload: Buffer.alloc(0) }],
  [
    'SetDesktopSize',
    cat(u8(251), pad(1), u16(1024), u16(768), u8(2), pad(1),
      u32(1), u16(0), u16(0), u16(512), u16(768), u32(0),
      u32(0xdeadbeef), u16(512), u16(0), u16(512), u16(768), u32(7)),
    {
      kind: 'SetDesktopSize', width: 1024, height: 768, screens: [
        { id: 1, x: 0, y: 0, width: 512, height: 768, flags: 0 },
        { id: 0xdeadbeef, x: 512, y: 0, width: 512, height: 768, flags: 7 },
      ],
    },
  ],
  [
    'QEMU extended key event',
    cat(u8(255), u8(0), u16(1), u32(0x41), u32(0x1e)),
    { kind: 'QemuExtendedKeyEvent', down: true, keysym: 0x41, keycode: 0x1e },
  ],
  [
    'Extended clipboard caps (noVNC reply)',
    extCut(cat(u32(0x1f000001), u32(0))),
    { kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardCaps', formats: 1, actions: 0x1f000000, maxSizes: new Map([[1, 0]]) } },
  ],
  [
    'Extended clipboard caps, two formats',
    extCut(cat(u32(ClipboardAction.Caps | ClipboardFormat.Text | ClipboardFormat.Html), u32(1000), u32(2000))),
    {
      kind: 'ExtendedClipboard',
      clipboard: { kind: 'ClipboardCaps', formats: 5, actions: ClipboardAction.Caps, maxSizes: new Map([[1, 1000], [4, 2000]]) },
    },
  ],
  ['Extended clipboard notify', extCut(u32(ClipboardAction.Notify | 1)), { kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardNotify', formats: 1 } }],
  ['Extended clipboard request', extCut(u32(ClipboardAction.Request | 1)), { kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardRequest', formats: 1 } }],
  ['Extended clipboard peek', extCut(u32(ClipboardAction.Peek)), { kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardPeek' } }],
  [
    'Extended clipboard provide (noVNC, UTF-8, CRLF)',
    extCut(noVncProvide('héllo €\nwörld ✓')),
    { kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardProvide', formats: 1, text: 'héllo €\nwörld ✓' } },
  ],
];

describe('decodeClientMessage', () => {
  it.each(CASES)('%s', (_name, bytes, expected) => {
    const q = new ByteQueue();
    q.push(bytes);
    expect(decodeClientMessage(q, OPTS)).toEqual(expected);
    expect(q.available).toBe(0);
    // Every strict prefix is "need more" and consumes nothing.
    for (let n = 0; n < bytes.length; n++) {
      const p = new ByteQueue();
      p.push(bytes.subarray(0, n));
      expect(decodeClientMessage(p, OPTS)).toBeNull();
      expect(p.available).toBe(n);
    }
  });

  it('the whole stream decodes identically whole, byte by byte and in 100 random splits', () => {
    const stream = cat(...CASES.map((c) => c[1]));
    const expected = CASES.map((c) => c[2]);
    for (const { label, chunks } of chunkings(stream, 50)) {
      const r = feed(chunks, drain(OPTS));
      expect(r.error, label).toBeUndefined();
      expect(r.items, label).toEqual(expected);
      expect(r.leftover, label).toBe(0);
    }
  });

  it('reads a provide that was finished normally (TigerVNC-style stream) too', () => {
    const utf8 = Buffer.from('a\r\nb\0', 'utf8');
    const payload = cat(u32(ClipboardAction.Provide | 1), zlib.deflateSync(cat(u32(utf8.length), utf8)));
    const q = new ByteQueue();
    q.push(extCut(payload));
    expect(decodeClientMessage(q, OPTS)).toEqual({ kind: 'ExtendedClipboard', clipboard: { kind: 'ClipboardProvide', formats: 1, text: 'a\nb' } });
  });

  it('provide with text and another format returns the text only', () => {
    const text = Buffer.from('hi\0');
    const html = Buffer.from('<b>hi</b>');
    const z = zlib.deflateSync(cat(u32(text.length), text, u32(html.length), html));
    const q = new ByteQueue();
    q.push(extCut(cat(u32(ClipboardAction.Provide | ClipboardFormat.Text | ClipboardFormat.Html), z)));
    expect(decodeClientMessage(q, OPTS)).toMatchObject({ clipboard: { kind: 'ClipboardProvide', formats: 5, text: 'hi' } });
  });
});

/** Asserts a VncError with `code` is thrown, identically in every chunking, and nothing decodes before it except `before`. */
function expectErrorEverywhere(bytes: Buffer, code: string, opts = OPTS, before = 0, seeds = 10) {
  let message: string | undefined;
  for (const { label, chunks } of chunkings(bytes, seeds)) {
    const r = feed(chunks, drain(opts));
    expect(isVncError(r.error, code as never), `${label}: ${String(r.error)}`).toBe(true);
    expect(r.items.length, label).toBe(before);
    message ??= (r.error as Error).message;
    expect((r.error as Error).message, label).toBe(message);
  }
  return message!;
}

describe('bounds (VNC_ERR_TOO_LARGE), checked as soon as the header is in', () => {
  it('ClientCutText over maxCutTextBytes, before any of the body arrives', () => {
    const small = resolveClientMessageOptions({ maxCutTextBytes: 100 });
    expectErrorEverywhere(cat(u8(6), pad(3), u32(101)), ErrorCode.TooLarge, small);
    expectErrorEverywhere(cat(u8(6), pad(3), u32(0x7fffffff)), ErrorCode.TooLarge);
    // Exactly at the bound is fine.
    const q = new ByteQueue();
    q.push(cat(u8(6), pad(3), u32(100), Buffer.alloc(100, 0x41)));
    expect(decodeClientMessage(q, small)).toEqual({ kind: 'ClientCutText', text: 'A'.repeat(100) });
  });

  it('extended ClientCutText whose abs(length) is over the bound, including INT32_MIN', () => {
    const small = resolveClientMessageOptions({ maxCutTextBytes: 100 });
    expectErrorEverywhere(cat(u8(6), pad(3), s32(-101)), ErrorCode.TooLarge, small);
    expectErrorEverywhere(cat(u8(6), pad(3), s32(-0x80000000)), ErrorCode.TooLarge);
  });

  it('a provide that inflates past the bound (zip bomb)', () => {
    const small = resolveClientMessageOptions({ maxCutTextBytes: 4096 });
    const bomb = Buffer.alloc(200_000, 0x61);
    const payload = cat(u32(ClipboardAction.Provide | 1), zlib.deflateSync(cat(u32(bomb.length), bomb)));
    expect(payload.length).toBeLessThan(4096);
    expectErrorEverywhere(extCut(payload), ErrorCode.TooLarge, small, 0, 2);
  });

  it('SetEncodings with more than maxEncodings', () => {
    expectErrorEverywhere(cat(u8(2), pad(1), u16(1025)), ErrorCode.TooLarge);
    const q = new ByteQueue();
    q.push(cat(u8(2), pad(1), u16(3), s32(1), s32(2), s32(3)));
    expect(() => decodeClientMessage(q, resolveClientMessageOptions({ maxEncodings: 2 }))).toThrow(
      expect.objectContaining({ code: ErrorCode.TooLarge }),
    );
  });

  it('ClientFence payload over 64 bytes', () => {
    expectErrorEverywhere(cat(u8(248), pad(3), u32(0), u8(65)), ErrorCode.TooLarge);
  });

  it('SetDesktopSize with more screens than maxScreens', () => {
    expectErrorEverywhere(cat(u8(251), pad(1), u16(100), u16(100), u8(17), pad(1)), ErrorCode.TooLarge);
  });
});

describe('garbage (VNC_ERR_PROTOCOL), never "skip a byte"', () => {
  it.each([1, 7, 8, 127, 149, 200, 249, 250, 252, 253, 254])('unknown message type %i', (type) => {
    const msg = expectErrorEverywhere(cat(u8(type), Buffer.alloc(20, 0x55)), ErrorCode.Protocol);
    expect(msg).toContain(`type ${type}`);
  });

  it('messages before the garbage are still delivered, then the error; the queue stays at the bad byte', () => {
    const good = CASES[4]![1];
    expectErrorEverywhere(cat(good, good, u8(99), pad(30)), ErrorCode.Protocol, OPTS, 2);
    const q = new ByteQueue();
    q.push(cat(u8(99), pad(3)));
    expect(() => decodeClientMessage(q, OPTS)).toThrow();
    expect(q.available).toBe(4);
  });

  it('QEMU sub-messages other than the extended key event', () => {
    expectErrorEverywhere(cat(u8(255), u8(1), pad(20)), ErrorCode.Protocol);
  });

  it('extended clipboard: shorter than its flags, two actions, no action, caps without room for sizes, bad zlib, truncated sizes', () => {
    const bad = [
      cat(u8(6), pad(3), s32(-2), pad(2)),
      extCut(u32(ClipboardAction.Notify | ClipboardAction.Request | 1)),
      extCut(u32(1)),
      extCut(cat(u32(ClipboardAction.Caps | 3), u32(0))),
      extCut(cat(u32(ClipboardAction.Provide | 1), Buffer.from('not zlib at all'))),
      extCut(cat(u32(ClipboardAction.Provide | 1), zlib.deflateSync(cat(u32(50), Buffer.from('short'))))),
      extCut(cat(u32(ClipboardAction.Provide | 3), zlib.deflateSync(cat(u32(2), Buffer.from('a\0'))))),
    ];
    for (const b of bad) expectErrorEverywhere(b, ErrorCode.Protocol, OPTS, 0, 3);
  });

  it('random byte soup always ends in a VncError or "need more", never a different exception or a hang', () => {
    for (let seed = 1; seed <= 300; seed++) {
      let x = seed;
      const soup = Buffer.alloc(64, 0).map(() => (x = (x * 1103515245 + 12345) >>> 0) >>> 24);
      const q = new ByteQueue();
      q.push(soup);
      try {
        while (decodeClientMessage(q, OPTS)) { /* keep going */ }
      } catch (e) {
        expect(isVncError(e), String(e)).toBe(true);
      }
    }
  });
});

describe('asyncvnc ClientCutText framing (06 00 LEN DATA)', () => {
  // Exactly what asyncvnc.py Clipboard.write sends: b'\x06\x00' + len(data).to_bytes(4, 'big') + data
  const asyncvncCut = (text: string) => {
    const data = Buffer.from(text, 'latin1');
    return cat(Buffer.from([6, 0]), u32(data.length), data);
  };

  it('decodes with cutTextPaddingBytes: 1, in every split, followed by more messages', () => {
    const key = cat(u8(4), u8(1), pad(2), u32(0x61));
    const stream = cat(asyncvncCut('hello wörld'), key, asyncvncCut(''), key);
    for (const { label, chunks } of chunkings(stream, 30)) {
      const r = feed(chunks, drain(ASYNCVNC_OPTS));
      expect(r.error, label).toBeUndefined();
      expect(r.items, label).toEqual([
        { kind: 'ClientCutText', text: 'hello wörld' },
        { kind: 'KeyEvent', down: true, keysym: 0x61 },
        { kind: 'ClientCutText', text: '' },
        { kind: 'KeyEvent', down: true, keysym: 0x61 },
      ]);
    }
  });

  it('in 1-padding mode a negative length is not "extended": it is a too-large U32', () => {
    expectErrorEverywhere(cat(Buffer.from([6, 0]), s32(-8), u32(ClipboardAction.Peek)), ErrorCode.TooLarge, ASYNCVNC_OPTS);
  });

  it('mismatch, asyncvnc text of 256+ bytes read with 3 padding bytes: immediate VNC_ERR_TOO_LARGE', () => {
    expectErrorEverywhere(asyncvncCut('x'.repeat(300)), ErrorCode.TooLarge);
  });

  it('mismatch, asyncvnc text of 16–255 bytes: VNC_ERR_TOO_LARGE with the default 1 MiB bound', () => {
    expectErrorEverywhere(asyncvncCut('x'.repeat(16)), ErrorCode.TooLarge);
    expectErrorEverywhere(asyncvncCut('x'.repeat(255)), ErrorCode.TooLarge);
  });

  it('mismatch, asyncvnc text of 1–15 bytes: waits (bounded) and describePendingClientMessage tells for what', () => {
    const q = new ByteQueue();
    q.push(asyncvncCut('hello'));
    expect(decodeClientMessage(q, OPTS)).toBeNull();
    // length read = 05 'h' 'e' … = 0x00 0x05 0x68 0x65 → 5·65536 + 0x6865
    const pending = describePendingClientMessage(q, OPTS);
    expect(pending).toEqual({ type: 6, neededBytes: 8 + 5 * 65536 + 0x6865, availableBytes: 11 });
    expect(pending!.neededBytes).toBeLessThanOrEqual(8 + OPTS.maxCutTextBytes);
  });

  it('mismatch the other way: a spec ClientCutText read with 1 padding byte turns into a rejectable SetPixelFormat', () => {
    const text = 'hello world, a longer paste';
    const spec = cat(u8(6), pad(3), u32(text.length), Buffer.from(text, 'latin1'));
    // 06 00 | 00 00 00 00 → empty text; then 00 (the length's third byte) is SetPixelFormat,
    // whose PIXEL_FORMAT is made of text bytes: bpp 'l' = 108, which validatePixelFormat refuses.
    const r = feed([spec], drain(ASYNCVNC_OPTS));
    // …and the text after those 20 bytes is parsed as messages too: 'g' = 103 is unknown.
    expect(isVncError(r.error, ErrorCode.Protocol)).toBe(true);
    expect(r.items[0]).toEqual({ kind: 'ClientCutText', text: '' });
    expect(r.items[1]!.kind).toBe('SetPixelFormat');
    const pf = (r.items[1] as Extract<ClientMessage, { kind: 'SetPixelFormat' }>).pixelFormat;
    expect(() => validatePixelFormat(pf)).toThrow(expect.objectContaining({ code: ErrorCode.Unsupported }));
  });
});

describe('describePendingClientMessage', () => {
  it('reports type, needed and available bytes for incomplete messages; null when empty', () => {
    const q = new ByteQueue();
    expect(describePendingClientMessage(q)).toBeNull();
    q.push(cat(u8(2), pad(1), u16(10), s32(1)));
    expect(describePendingClientMessage(q)).toEqual({ type: 2, neededBytes: 44, availableBytes: 8 });
    const f = new ByteQueue();
    f.push(cat(u8(248), pad(3), u32(0), u8(10)));
    expect(describePendingClientMessage(f)).toEqual({ type: 248, neededBytes: 19, availableBytes: 9 });
    const k = new ByteQueue();
    k.push(cat(u8(4), u8(1)));
    expect(describePendingClientMessage(k)).toEqual({ type: 4, neededBytes: 8, availableBytes: 2 });
  });
});

describe('resolveClientMessageOptions', () => {
  it('defaults: 1 MiB, 1024 encodings, 16 screens, 3 padding bytes', () => {
    expect(resolveClientMessageOptions()).toEqual({ maxCutTextBytes: 1048576, maxEncodings: 1024, maxScreens: 16, cutTextPaddingBytes: 3 });
  });
  it('rejects out-of-range values with VNC_ERR_CONFIG', () => {
    for (const bad of [{ maxCutTextBytes: -1 }, { maxEncodings: 0 }, { maxScreens: 300 }, { cutTextPaddingBytes: 2 as 3 }]) {
      expect(() => resolveClientMessageOptions(bad)).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
    }
  });
});

it('SetPixelFormat keeps the native format decodable (round trip through encodePixelFormat)', () => {
  const q = new ByteQueue();
  q.push(cat(u8(0), pad(3), encodePixelFormat(NATIVE_PIXEL_FORMAT)));
  expect(decodeClientMessage(q)).toEqual({ kind: 'SetPixelFormat', pixelFormat: { ...NATIVE_PIXEL_FORMAT } });
});
