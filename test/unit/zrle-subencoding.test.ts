/**
 * ZRLE's choice of tile subencoding beyond "smallest before compression": palette subencodings
 * only up to 48 colours, and palettes written in colour order (zrle.ts explains why; the byte
 * savings are measured by `npm run bench`). Checked on the decompressed tile bytes, and every
 * case also round-trips through the independent decoder.
 */
import { inflateSync, constants } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import { createZrleEncoder } from '../../server/encoding/zrle.js';
import { Palette } from '../../server/encoding/palette.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { FORMATS, ctxFor, roundTrip } from './encoding-fixtures.js';

/** A 64×64 tile whose rows are runs of `colours` distinct colours, the first in descending order. */
function tileOfRuns(colours: number): PixelBuffer {
  const fb = createPixelBuffer(64, 64);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      // Runs of 16 pixels, so palette RLE (1 index + 1 length byte per run) is the smallest
      // subencoding before compression at any colour count up to 127.
      const run = y * 4 + (x >> 4);
      fb.pixels[y * fb.stride + x] = 0x200000 + (colours - 1 - (run % colours)) * 0x000301;
    }
  }
  return fb;
}

/** The decompressed tile data of a one-tile ZRLE rectangle (fresh stream, so it starts with the zlib header). */
async function tileBytes(fb: PixelBuffer): Promise<Buffer> {
  const enc = createZrleEncoder();
  const res = await enc.encode(fb, { x: 0, y: 0, w: 64, h: 64 }, ctxFor(FORMATS.native32!));
  enc.dispose();
  const all = Buffer.concat(res.chunks);
  return inflateSync(all.subarray(16), { finishFlush: constants.Z_SYNC_FLUSH });
}

describe('ZRLE subencoding choice', () => {
  it('uses palette RLE up to 48 colours and plain RLE above, though palette RLE is smaller before zlib', async () => {
    const at48 = await tileBytes(tileOfRuns(48));
    expect(at48[0]).toBe(128 + 48);
    const at49 = await tileBytes(tileOfRuns(49));
    expect(at49[0]).toBe(128);
    const at100 = await tileBytes(tileOfRuns(100));
    expect(at100[0]).toBe(128);
    for (const n of [47, 48, 49, 100]) {
      const fb = tileOfRuns(n);
      await roundTrip(createZrleEncoder(), fb, [{ x: 0, y: 0, w: 64, h: 64 }], ctxFor(FORMATS.native32!));
      await roundTrip(createZrleEncoder(), fb, [{ x: 0, y: 0, w: 64, h: 64 }], ctxFor(FORMATS.rgb565be!));
    }
  });

  it('writes palettes in ascending colour order, whatever order the colours appear in', async () => {
    for (const n of [3, 12, 40]) {
      const bytes = await tileBytes(tileOfRuns(n));
      const palette: number[] = [];
      // CPIXELs of the native 32-bit format: 3 bytes, little-endian (blue, green, red).
      for (let i = 0; i < n; i++) palette.push(bytes.readUIntLE(1 + i * 3, 3));
      expect(palette).toEqual([...palette].sort((a, b) => a - b));
      expect(new Set(palette).size).toBe(n);
    }
  });

  it('stops analysing a tile only once raw is certain: noise over 47 rows then flat is plain RLE, over 49 rows raw', async () => {
    // Noise costs plain RLE 4 bytes per pixel (CPIXEL + length) against raw's 3: after 48 of 64
    // rows it equals raw (12288 bytes). A flat remainder then adds one run: plain RLE still wins
    // up to 47 noise rows, and the analysis must not give up on a partial count.
    const tile = (noiseRows: number): PixelBuffer => {
      const fb = createPixelBuffer(64, 64);
      for (let i = 0; i < 64 * 64; i++) fb.pixels[i] = i < noiseRows * 64 ? (Math.imul(i + 1, 0x9e3779b1) >>> 8) : 0x336699;
      return fb;
    };
    expect((await tileBytes(tile(47)))[0], '47 noise rows').toBe(128);
    expect((await tileBytes(tile(49)))[0], '49 noise rows').toBe(0);
    for (const n of [47, 49]) await roundTrip(createZrleEncoder(), tile(n), [{ x: 0, y: 0, w: 64, h: 64 }], ctxFor(FORMATS.native32!));
  });
});

describe('Palette.sortByColour', () => {
  it('reorders colours and counts together and keeps lookups consistent', () => {
    const p = new Palette(64);
    const colours = [0x909090, 0x101010, 0xff0000, 0x000001, 0x505050];
    colours.forEach((c, i) => p.add(c, i + 1));
    p.sortByColour();
    const sorted = [...colours].sort((a, b) => a - b);
    expect([...p.colours.subarray(0, p.size)]).toEqual(sorted);
    for (const c of colours) {
      const i = p.lookup(c);
      expect(p.colours[i]).toBe(c);
      expect(p.counts[i]).toBe(colours.indexOf(c) + 1);
    }
    // Adding after a sort appends and finds existing colours at their new places.
    expect(p.add(0x505050, 10)).toBe(sorted.indexOf(0x505050));
    expect(p.add(0x777777, 1)).toBe(5);
  });
});
