/**
 * Cross-check with a real client's decoders: noVNC's own decoder classes (the npm package,
 * core/decoders/*.js) run in node against a minimal receive queue and a framebuffer "display".
 * noVNC always asks for 32 bpp depth 24 R0/G8/B16 (RGBX), so that is the format tested here.
 * JPEG and PNG payloads go to `imageRect` (a browser Image in noVNC); they are decoded with sharp.
 */
import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { Encoding } from '../../server/encoding/encodings.js';
import type { Encoder } from '../../server/encoding/encoder.js';
import { createRawEncoder } from '../../server/encoding/raw.js';
import { createZlibEncoder } from '../../server/encoding/zlib.js';
import { createZrleEncoder } from '../../server/encoding/zrle.js';
import { createHextileEncoder } from '../../server/encoding/hextile.js';
import { createRreEncoder } from '../../server/encoding/rre.js';
import { createTightEncoder } from '../../server/encoding/tight.js';
import { createTightPngEncoder } from '../../server/encoding/tight-png.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { FORMATS, ODD_RECTS, ctxFor, makeFramebuffer, type ContentClass } from './encoding-fixtures.js';

type NoVncDecoder = { decodeRect(x: number, y: number, w: number, h: number, sock: unknown, display: unknown, depth: number): boolean };
const DECODER_FILES: Record<number, string> = {
  [Encoding.Raw]: 'raw.js', [Encoding.CopyRect]: 'copyrect.js', [Encoding.RRE]: 'rre.js', [Encoding.Hextile]: 'hextile.js',
  [Encoding.Zlib]: 'zlib.js', [Encoding.Tight]: 'tight.js', [Encoding.ZRLE]: 'zrle.js', [Encoding.TightPNG]: 'tightpng.js',
};

async function loadDecoders(): Promise<Map<number, NoVncDecoder>> {
  // noVNC's logging module reads `window.console` at import time; in node the global object
  // plays that role. File URLs bypass the package's "exports" map (only core/rfb.js is exported).
  (globalThis as { window?: unknown }).window ??= globalThis;
  const dir = path.resolve('node_modules/@novnc/novnc/core/decoders');
  const out = new Map<number, NoVncDecoder>();
  for (const [enc, file] of Object.entries(DECODER_FILES)) {
    const mod = await import(pathToFileURL(path.join(dir, file)).href);
    out.set(Number(enc), new mod.default());
  }
  return out;
}

/** The subset of noVNC's Websock receive queue its decoders use. */
class ReceiveQueue {
  _rQ: Uint8Array;
  _rQi = 0;
  _rQlen: number;
  constructor(data: Buffer) { this._rQ = new Uint8Array(data); this._rQlen = data.length; }
  rQlen() { return this._rQlen - this._rQi; }
  rQpeek8() { return this._rQ[this._rQi]!; }
  rQskipBytes(n: number) { this._rQi += n; }
  rQshift8() { return this.shift(1); }
  rQshift16() { return this.shift(2); }
  rQshift32() { return this.shift(4); }
  private shift(n: number) { let r = 0; for (let i = 0; i < n; i++) r = r * 256 + this._rQ[this._rQi++]!; return r >>> 0; }
  rQshiftBytes(n: number, copy = true) { this._rQi += n; return copy ? this._rQ.slice(this._rQi - n, this._rQi) : this._rQ.subarray(this._rQi - n, this._rQi); }
  rQpeekBytes(n: number, copy = true) { return copy ? this._rQ.slice(this._rQi, this._rQi + n) : this._rQ.subarray(this._rQi, this._rQi + n); }
  rQshiftTo(t: Uint8Array, n: number) { t.set(this._rQ.subarray(this._rQi, this._rQi + n)); this._rQi += n; }
  rQwait(_msg: string, n: number) { if (this.rQlen() < n) throw new Error(`noVNC decoder wanted ${n} bytes, ${this.rQlen()} left`); return false; }
}

/** noVNC Display stand-in: RGBA framebuffer, images collected for later decoding. */
class Screen {
  readonly rgba: Uint8Array;
  readonly images: { x: number; y: number; w: number; h: number; mime: string; data: Uint8Array }[] = [];
  constructor(readonly width: number, readonly height: number) { this.rgba = new Uint8Array(width * height * 4); }
  fillRect(x: number, y: number, w: number, h: number, c: number[]) {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.rgba.set([c[0]!, c[1]!, c[2]!, 255], (j * this.width + i) * 4);
  }
  blitImage(x: number, y: number, w: number, h: number, arr: Uint8Array, offset: number) {
    for (let j = 0; j < h; j++) this.rgba.set(arr.subarray(offset + j * w * 4, offset + (j + 1) * w * 4), ((y + j) * this.width + x) * 4);
  }
  copyImage(sx: number, sy: number, x: number, y: number, w: number, h: number) {
    const copy = new Uint8Array(w * h * 4);
    for (let j = 0; j < h; j++) copy.set(this.rgba.subarray(((sy + j) * this.width + sx) * 4, ((sy + j) * this.width + sx + w) * 4), j * w * 4);
    this.blitImage(x, y, w, h, copy, 0);
  }
  imageRect(x: number, y: number, w: number, h: number, mime: string, data: Uint8Array) {
    this.images.push({ x, y, w, h, mime, data: data.slice() });
  }
  async drawImages() {
    for (const im of this.images) {
      const { data, info } = await sharp(im.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([im.w, im.h]);
      for (let j = 0; j < im.h; j++) for (let i = 0; i < im.w; i++) {
        const s = (j * im.w + i) * 3;
        this.rgba.set([data[s]!, data[s + 1]!, data[s + 2]!, 255], ((im.y + j) * this.width + im.x + i) * 4);
      }
    }
    this.images.length = 0;
  }
}

/** Feeds `count` rectangles to noVNC's decoders; returns the encodings seen and images drawn. */
async function feed(decoders: Map<number, NoVncDecoder>, screen: Screen, chunks: Buffer[], count: number): Promise<{ seen: number[]; images: number }> {
  const q = new ReceiveQueue(Buffer.concat(chunks));
  const seen: number[] = [];
  for (let i = 0; i < count; i++) {
    const x = q.rQshift16(), y = q.rQshift16(), w = q.rQshift16(), h = q.rQshift16();
    const enc = q.rQshift32() | 0;
    const d = decoders.get(enc);
    if (!d) throw new Error(`no noVNC decoder for ${enc}`);
    expect(d.decodeRect(x, y, w, h, q, screen, 24)).toBe(true);
    seen.push(enc);
  }
  expect(q.rQlen()).toBe(0);
  const images = screen.images.length;
  await screen.drawImages();
  return { seen, images };
}

function compare(screen: Screen, fb: PixelBuffer, r: { x: number; y: number; w: number; h: number }, tolerance = 0): void {
  let bad = 0, first = '';
  for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) {
    const v = fb.pixels[y * fb.stride + x]!;
    const o = (y * screen.width + x) * 4;
    const d = Math.max(Math.abs(screen.rgba[o]! - ((v >>> 16) & 255)), Math.abs(screen.rgba[o + 1]! - ((v >>> 8) & 255)), Math.abs(screen.rgba[o + 2]! - (v & 255)));
    if (d > tolerance && !bad++) first = `(${x},${y}) diff ${d}`;
  }
  expect(bad, `${bad} pixels differ, first ${first}`).toBe(0);
}

const CLASSES: ContentClass[] = ['solid', 'twoColour', 'palette', 'noise', 'desktop'];
const ENCODERS: Record<string, () => Encoder> = {
  Raw: createRawEncoder, Zlib: createZlibEncoder, ZRLE: createZrleEncoder, Hextile: createHextileEncoder,
  RRE: createRreEncoder, Tight: createTightEncoder, TightPNG: createTightPngEncoder,
};

describe('noVNC decoders accept our encodings', () => {
  for (const [name, make] of Object.entries(ENCODERS)) {
    it(`${name}: every content class and odd rect, one decoder instance (persistent streams)`, async () => {
      const decoders = await loadDecoders();
      const enc = make();
      const ctx = ctxFor(FORMATS.rgbx32!);
      const screen = new Screen(300, 220);
      for (const cls of CLASSES) {
        const fb = makeFramebuffer(300, 220, cls, 4);
        for (const r of ODD_RECTS) {
          const out = await enc.encode(fb, r, ctx);
          await feed(decoders, screen, out.chunks, out.count);
          compare(screen, fb, r);
        }
      }
      enc.dispose();
    });
  }

  it('the noVNC encoding list through the manager (Tight + JPEG quality 6, CopyRect)', async () => {
    const decoders = await loadDecoders();
    const m = new EncodeManager();
    m.setEncodings([1, 7, -260, 16, 5, 2, 0, -26, -254, -239, -223, -308, -312, -313, -224]);
    const fb = makeFramebuffer(800, 500, 'desktop');
    const screen = new Screen(800, 500);
    const ctx = ctxFor(FORMATS.rgbx32!);
    const out = await m.encodeRegion(fb, [{ x: 0, y: 0, w: 800, h: 500 }], ctx);
    const { seen, images } = await feed(decoders, screen, out.chunks, out.count);
    expect(new Set(seen)).toEqual(new Set([Encoding.Tight]));
    expect(images, 'JPEG rectangles for the photo-like window').toBeGreaterThan(0);
    compare(screen, fb, { x: 0, y: 0, w: 800, h: 500 }, 100);
    // Outside the photo-like window the content is palette-like and must be exact.
    compare(screen, fb, { x: 0, y: 0, w: 800, h: 70 });
    compare(screen, fb, { x: 0, y: 340, w: 800, h: 160 });
    const copy = m.encodeCopies([{ dest: { x: 0, y: 0, w: 50, h: 50 }, srcX: 100, srcY: 100 }]);
    await feed(decoders, screen, copy.chunks, copy.count);
    // CopyRect promises: the destination now shows what the client had at the source.
    for (let y = 0; y < 50; y++) for (let x = 0; x < 50; x++) {
      const a = (y * 800 + x) * 4, b = ((y + 100) * 800 + x + 100) * 4;
      expect([...screen.rgba.subarray(a, a + 4)]).toEqual([...screen.rgba.subarray(b, b + 4)]);
    }
    m.dispose();
  });
});
