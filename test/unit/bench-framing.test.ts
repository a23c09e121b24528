/**
 * The benchmark client frames rectangles without decoding them (bench/lib/rect-framing.ts).
 * Checked here against our own encoders: every rectangle EncodeManager writes for a mixed
 * frame, fed in random splits, must be consumed exactly — no byte left, none missing — or the
 * client would misread every later message from a server.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { Encoding, PseudoEncoding } from '../../server/encoding/encodings.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter } from '../../server/pixel-format.js';
import { ByteReader } from '../../bench/lib/byte-reader.js';
import { skipRectBody, tightPixelSize } from '../../bench/lib/rect-framing.js';

/** Gradient top, flat panel with "text" (2-colour strokes), a multi-colour band, noise corner. */
function mixedFrame(w: number, h: number): PixelBuffer {
  const fb = createPixelBuffer(w, h);
  let s = 12345;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v: number;
      if (y < h / 4) v = ((x * 255) / w) << 16 | ((y * 4 * 255) / h) << 8 | 128;
      else if (y < h / 2) v = (x % 7 < 2 && y % 9 < 6) ? 0x202020 : 0xf0f0f0;
      else if (y < (3 * h) / 4) v = [0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x00ffff][Math.floor(x / 9) % 5]!;
      else if (x < w / 2) v = 0x3a6ea5;
      else {
        s = (s * 1103515245 + 12345) >>> 0;
        v = s & 0xffffff;
      }
      fb.pixels[y * w + x] = v >>> 0;
    }
  }
  return fb;
}

async function frameAndCount(encodings: number[]): Promise<{ bytes: Buffer; count: number }> {
  const fb = mixedFrame(400, 300); // 120 000 px: more than one piece for every encoding
  const m = new EncodeManager();
  m.setEncodings(encodings);
  try {
    const out = await m.encodeRegion(fb, [{ x: 0, y: 0, w: 400, h: 300 }], { converter: new PixelConverter(NATIVE_PIXEL_FORMAT) });
    return { bytes: Buffer.concat(out.chunks), count: out.count };
  } finally {
    m.dispose();
  }
}

const CASES: [string, number[]][] = [
  ['Raw', [Encoding.Raw]],
  ['Zlib', [Encoding.Zlib]],
  ['ZRLE', [Encoding.ZRLE]],
  ['Tight', [Encoding.Tight]],
  ['Tight+JPEG', [Encoding.Tight, PseudoEncoding.QualityLevel0 + 6]],
  ['TightPNG', [Encoding.TightPNG]],
];

describe('benchmark rectangle framing', () => {
  it.each(CASES)('consumes every %s rectangle exactly, whatever the TCP splits', async (_name, encodings) => {
    const { bytes, count } = await frameAndCount(encodings);
    expect(count).toBeGreaterThan(1);
    const stream = new PassThrough();
    const reader = new ByteReader(stream);
    // Random splits, including 1-byte pieces, delivered asynchronously.
    let seed = 7;
    const feed = (async () => {
      for (let off = 0; off < bytes.length; ) {
        seed = (seed * 48271) % 2147483647;
        const n = Math.min(bytes.length - off, 1 + (seed % 5000));
        stream.write(bytes.subarray(off, off + n));
        off += n;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const deadline = performance.now() + 10_000;
    const encs = new Set<number>();
    for (let i = 0; i < count; i++) {
      const h = await reader.read(12, deadline);
      const rect = { w: h.readUInt16BE(4), h: h.readUInt16BE(6), encoding: h.readInt32BE(8) };
      encs.add(rect.encoding);
      expect(await skipRectBody(reader, rect, NATIVE_PIXEL_FORMAT, deadline)).toBe(true);
    }
    await feed;
    expect(reader.available).toBe(0);
    expect(reader.received).toBe(bytes.length);
    expect([...encs].every((e) => encodings.includes(e) || e === Encoding.Raw)).toBe(true);
  });

  it('uses 3-byte TPIXELs only for 32-bpp depth-24 8-bit true colour', () => {
    expect(tightPixelSize(NATIVE_PIXEL_FORMAT)).toBe(3);
    expect(tightPixelSize({ ...NATIVE_PIXEL_FORMAT, depth: 32 })).toBe(4);
    expect(tightPixelSize({ bitsPerPixel: 16, depth: 16, trueColour: true, redMax: 31, greenMax: 63, blueMax: 31 })).toBe(2);
  });

  it('times out instead of waiting forever for a truncated rectangle', async () => {
    const stream = new PassThrough();
    const reader = new ByteReader(stream);
    stream.write(Buffer.from([0x00, 0x00, 0x01])); // half of a Zlib length
    await expect(skipRectBody(reader, { w: 4, h: 4, encoding: Encoding.Zlib }, NATIVE_PIXEL_FORMAT, performance.now() + 50)).rejects.toThrow(/timed out/);
  });

  it('refuses an encoding it cannot frame', async () => {
    const reader = new ByteReader(new PassThrough());
    await expect(skipRectBody(reader, { w: 4, h: 4, encoding: Encoding.Hextile }, NATIVE_PIXEL_FORMAT, performance.now() + 50)).rejects.toThrow(/cannot frame/);
  });
});
