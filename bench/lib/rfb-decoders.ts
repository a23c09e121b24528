/**
 * Independent decoders for every encoding the server emits, written from rfbproto.rst (not
 * from our encoders) so encode → decode round trips are a real check. The tests use them for
 * round trips; the scene benchmark uses them to see what a viewer of a lossy stream ends up
 * showing (its quality figures), for our server and the peers alike. The decoder keeps a
 * framebuffer of *client pixel values* (numbers in the client's pixel format), which tests
 * compare with `PixelConverter.pixel()` of the source pixels.
 *
 * Compressed encodings use one persistent inflate stream per server stream, fed rectangle by
 * rectangle exactly like a real client (Zlib: 1, ZRLE: 1, Tight/TightPNG: 4 with reset bits).
 * JPEG and PNG payloads are decoded with sharp and converted to client pixels here.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';

export interface DecoderPixelFormat {
  bitsPerPixel: number; depth: number; bigEndian: boolean; trueColour: boolean;
  redMax: number; greenMax: number; blueMax: number; redShift: number; greenShift: number; blueShift: number;
}

export interface DecodedRectHeader { x: number; y: number; w: number; h: number; encoding: number }

/** Where rectangle bodies come from: a socket reader (RfbClient.read) or a buffer. */
export interface ByteSource {
  read(n: number): Promise<Buffer>;
}

/** A ByteSource over concatenated wire bytes; fails loudly on a short read. */
export class BufferSource implements ByteSource {
  private offset = 0;
  private readonly buf: Buffer;
  constructor(data: Buffer | Buffer[]) {
    this.buf = Array.isArray(data) ? Buffer.concat(data) : data;
  }
  async read(n: number): Promise<Buffer> {
    if (this.offset + n > this.buf.length) {
      throw new Error(`short read: need ${n} at ${this.offset}, have ${this.buf.length - this.offset}`);
    }
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  get remaining(): number {
    return this.buf.length - this.offset;
  }
}

/** One client-side inflate stream: each call inflates one rectangle's bytes up to its sync flush. */
/** One persistent inflate stream, as the client side of Zlib/ZRLE/Tight needs. */
export class ClientInflate {
  private inf = zlib.createInflate();
  reset(): void {
    this.inf.close();
    this.inf = zlib.createInflate();
  }
  inflate(data: Buffer): Promise<Buffer> {
    const inf = this.inf;
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const onData = (c: Buffer) => chunks.push(c);
      inf.on('data', onData);
      inf.once('error', reject);
      inf.write(data);
      inf.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        inf.off('data', onData);
        inf.off('error', reject);
        resolve(Buffer.concat(chunks));
      });
    });
  }
  close(): void {
    this.inf.close();
  }
}

/** Sequential reader over an inflated buffer. */
class Cursor {
  o = 0;
  constructor(readonly b: Buffer) {}
  take(n: number): Buffer {
    if (this.o + n > this.b.length) throw new Error(`inflated data too short: need ${n} at ${this.o} of ${this.b.length}`);
    const s = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return s;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  get done(): boolean {
    return this.o === this.b.length;
  }
}

export class RfbTestDecoder {
  /** Client pixel values, `width*height`, row-major. */
  readonly pixels: Uint32Array;
  private readonly bpp: number;
  private readonly zlibStream = new ClientInflate();
  private readonly zrleStream = new ClientInflate();
  private readonly tightStreams = [new ClientInflate(), new ClientInflate(), new ClientInflate(), new ClientInflate()];
  /** Count of rectangles decoded per encoding number. */
  readonly seen = new Map<number, number>();

  constructor(readonly format: DecoderPixelFormat, readonly width: number, readonly height: number) {
    this.bpp = format.bitsPerPixel / 8;
    this.pixels = new Uint32Array(width * height);
  }

  dispose(): void {
    this.zlibStream.close();
    this.zrleStream.close();
    for (const s of this.tightStreams) s.close();
  }

  /** Reads `count` rectangles (header + body) from `src`. */
  async decodeRects(src: ByteSource, count: number): Promise<DecodedRectHeader[]> {
    const out: DecodedRectHeader[] = [];
    for (let i = 0; i < count; i++) {
      const h = await src.read(12);
      const r = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), w: h.readUInt16BE(4), h: h.readUInt16BE(6), encoding: h.readInt32BE(8) };
      await this.decodeRect(r, src);
      out.push(r);
    }
    return out;
  }

  /** Decodes one rectangle body. */
  async decodeRect(r: DecodedRectHeader, src: ByteSource): Promise<void> {
    if (r.x + r.w > this.width || r.y + r.h > this.height) throw new Error(`rect ${JSON.stringify(r)} outside ${this.width}x${this.height}`);
    this.seen.set(r.encoding, (this.seen.get(r.encoding) ?? 0) + 1);
    switch (r.encoding) {
      case 0: return this.decodeRawBody(r, await src.read(r.w * r.h * this.bpp));
      case 1: return this.decodeCopyRect(r, await src.read(4));
      case 2: return this.decodeRre(r, src);
      case 5: return this.decodeHextile(r, src);
      case 6: {
        const len = (await src.read(4)).readUInt32BE(0);
        const data = await this.zlibStream.inflate(await src.read(len));
        if (data.length !== r.w * r.h * this.bpp) throw new Error(`zlib rect inflated to ${data.length}, expected ${r.w * r.h * this.bpp}`);
        return this.decodeRawBody(r, data);
      }
      case 7: return this.decodeTight(r, src, false);
      case 16: return this.decodeZrle(r, src);
      case -260: return this.decodeTight(r, src, true);
      default: throw new Error(`test decoder: unknown encoding ${r.encoding}`);
    }
  }

  // ---- pixel helpers -------------------------------------------------------------------------

  /** A PIXEL in the client's byte order. */
  private readPixel(b: Buffer, o: number): number {
    switch (this.bpp) {
      case 4: return this.format.bigEndian ? b.readUInt32BE(o) : b.readUInt32LE(o);
      case 2: return this.format.bigEndian ? b.readUInt16BE(o) : b.readUInt16LE(o);
      default: return b[o]!;
    }
  }

  /** ZRLE CPIXEL layout: null = full PIXEL, else which bytes of the 4-byte word it carries. */
  private cpixel(): { size: number; firstByte: number } | null {
    const f = this.format;
    if (!f.trueColour || f.bitsPerPixel !== 32 || f.depth > 24) return null;
    let used = 0n;
    for (const [max, shift] of [[f.redMax, f.redShift], [f.greenMax, f.greenShift], [f.blueMax, f.blueShift]] as const) {
      used |= BigInt(max) << BigInt(shift);
    }
    const inLeast = used < (1n << 24n);
    const inMost = (used & 0xffn) === 0n;
    if (!inLeast && !inMost) return null;
    // Position of the 3 carried bytes inside the 4-byte wire word.
    if (f.bigEndian) return { size: 3, firstByte: inLeast ? 1 : 0 };
    return { size: 3, firstByte: inLeast ? 0 : 1 };
  }

  private readCpixel(b: Buffer, o: number, layout: { size: number; firstByte: number } | null): number {
    if (!layout) return this.readPixel(b, o);
    const word = Buffer.alloc(4);
    b.copy(word, layout.firstByte, o, o + 3);
    return this.format.bigEndian ? word.readUInt32BE(0) : word.readUInt32LE(0);
  }

  private tpixelIs24(): boolean {
    const f = this.format;
    return f.trueColour && f.bitsPerPixel === 32 && f.depth === 24 && f.redMax === 255 && f.greenMax === 255 && f.blueMax === 255;
  }

  private readTpixel(b: Buffer, o: number): number {
    if (!this.tpixelIs24()) return this.readPixel(b, o);
    const f = this.format;
    return ((b[o]! << f.redShift) | (b[o + 1]! << f.greenShift) | (b[o + 2]! << f.blueShift)) >>> 0;
  }

  private fromRgb(r: number, g: number, b: number): number {
    const f = this.format;
    return (Math.round((r * f.redMax) / 255) * 2 ** f.redShift +
      Math.round((g * f.greenMax) / 255) * 2 ** f.greenShift +
      Math.round((b * f.blueMax) / 255) * 2 ** f.blueShift) >>> 0;
  }

  private fill(x: number, y: number, w: number, h: number, v: number): void {
    if (x + w > this.width || y + h > this.height) throw new Error(`fill ${x},${y} ${w}x${h} outside framebuffer`);
    for (let j = 0; j < h; j++) this.pixels.fill(v, (y + j) * this.width + x, (y + j) * this.width + x + w);
  }

  // ---- encodings -----------------------------------------------------------------------------

  private decodeRawBody(r: DecodedRectHeader, data: Buffer): void {
    let o = 0;
    for (let j = 0; j < r.h; j++) {
      for (let i = 0; i < r.w; i++, o += this.bpp) this.pixels[(r.y + j) * this.width + r.x + i] = this.readPixel(data, o);
    }
  }

  private decodeCopyRect(r: DecodedRectHeader, b: Buffer): void {
    const sx = b.readUInt16BE(0), sy = b.readUInt16BE(2);
    const copy = new Uint32Array(r.w * r.h);
    for (let j = 0; j < r.h; j++) for (let i = 0; i < r.w; i++) copy[j * r.w + i] = this.pixels[(sy + j) * this.width + sx + i]!;
    for (let j = 0; j < r.h; j++) for (let i = 0; i < r.w; i++) this.pixels[(r.y + j) * this.width + r.x + i] = copy[j * r.w + i]!;
  }

  private async decodeRre(r: DecodedRectHeader, src: ByteSource): Promise<void> {
    const head = await src.read(4 + this.bpp);
    const n = head.readUInt32BE(0);
    this.fill(r.x, r.y, r.w, r.h, this.readPixel(head, 4));
    const body = await src.read(n * (this.bpp + 8));
    for (let i = 0, o = 0; i < n; i++, o += this.bpp + 8) {
      const v = this.readPixel(body, o);
      const sx = body.readUInt16BE(o + this.bpp), sy = body.readUInt16BE(o + this.bpp + 2);
      const sw = body.readUInt16BE(o + this.bpp + 4), sh = body.readUInt16BE(o + this.bpp + 6);
      if (sx + sw > r.w || sy + sh > r.h) throw new Error('RRE subrect outside its rectangle');
      this.fill(r.x + sx, r.y + sy, sw, sh, v);
    }
  }

  private async decodeHextile(r: DecodedRectHeader, src: ByteSource): Promise<void> {
    let bg: number | null = null;
    let fg: number | null = null;
    for (let ty = 0; ty < r.h; ty += 16) {
      for (let tx = 0; tx < r.w; tx += 16) {
        const tw = Math.min(16, r.w - tx), th = Math.min(16, r.h - ty);
        const mask = (await src.read(1))[0]!;
        if (mask & 1) {
          this.decodeRawBody({ x: r.x + tx, y: r.y + ty, w: tw, h: th, encoding: 0 }, await src.read(tw * th * this.bpp));
          bg = null;
          fg = null;
          continue;
        }
        if (mask & 2) bg = this.readPixel(await src.read(this.bpp), 0);
        if (bg === null) throw new Error('hextile tile without a valid background');
        this.fill(r.x + tx, r.y + ty, tw, th, bg);
        if (mask & 4) {
          if (mask & 16) throw new Error('hextile ForegroundSpecified together with SubrectsColoured');
          fg = this.readPixel(await src.read(this.bpp), 0);
        }
        if (!(mask & 8)) continue;
        const n = (await src.read(1))[0]!;
        const coloured = (mask & 16) !== 0;
        if (!coloured && fg === null) throw new Error('hextile subrects without a valid foreground');
        for (let i = 0; i < n; i++) {
          const v = coloured ? this.readPixel(await src.read(this.bpp), 0) : fg!;
          const xy = await src.read(2);
          const sx = xy[0]! >> 4, sy = xy[0]! & 15, sw = (xy[1]! >> 4) + 1, sh = (xy[1]! & 15) + 1;
          if (sx + sw > tw || sy + sh > th) throw new Error('hextile subrect outside its tile');
          this.fill(r.x + tx + sx, r.y + ty + sy, sw, sh, v);
        }
        if (coloured) fg = null;
      }
    }
  }

  private async decodeZrle(r: DecodedRectHeader, src: ByteSource): Promise<void> {
    const len = (await src.read(4)).readUInt32BE(0);
    const c = new Cursor(await this.zrleStream.inflate(await src.read(len)));
    const layout = this.cpixel();
    const cp = layout ? 3 : this.bpp;
    const readCp = () => this.readCpixel(c.take(cp), 0, layout);
    for (let ty = 0; ty < r.h; ty += 64) {
      for (let tx = 0; tx < r.w; tx += 64) {
        const tw = Math.min(64, r.w - tx), th = Math.min(64, r.h - ty);
        const sub = c.u8();
        const put = (i: number, v: number) => { this.pixels[(r.y + ty + Math.floor(i / tw)) * this.width + r.x + tx + (i % tw)] = v; };
        const rle = (sub & 128) !== 0;
        const paletteSize = sub & 127;
        const palette: number[] = [];
        for (let i = 0; i < paletteSize; i++) palette.push(readCp());
        if (!rle) {
          if (paletteSize === 0) {
            for (let i = 0; i < tw * th; i++) put(i, readCp());
          } else if (paletteSize === 1) {
            this.fill(r.x + tx, r.y + ty, tw, th, palette[0]!);
          } else {
            if (paletteSize > 16) throw new Error(`ZRLE packed palette of ${paletteSize}`);
            const bits = paletteSize === 2 ? 1 : paletteSize <= 4 ? 2 : 4;
            const rowBytes = Math.floor((tw * bits + 7) / 8);
            for (let y = 0; y < th; y++) {
              const row = c.take(rowBytes);
              for (let x = 0; x < tw; x++) {
                const bit = x * bits;
                const idx = (row[bit >> 3]! >> (8 - bits - (bit & 7))) & ((1 << bits) - 1);
                if (idx >= paletteSize) throw new Error('ZRLE packed index outside palette');
                put(y * tw + x, palette[idx]!);
              }
            }
          }
          continue;
        }
        if (paletteSize === 1) throw new Error('ZRLE subencoding 129 is unused');
        const runLength = () => {
          let n = 1, b: number;
          do { b = c.u8(); n += b; } while (b === 255);
          return n;
        };
        let i = 0;
        while (i < tw * th) {
          let v: number, n: number;
          if (paletteSize === 0) {
            v = readCp();
            n = runLength();
          } else {
            const idx = c.u8();
            if ((idx & 127) >= paletteSize) throw new Error('ZRLE RLE index outside palette');
            v = palette[idx & 127]!;
            n = idx & 128 ? runLength() : 1;
          }
          if (i + n > tw * th) throw new Error('ZRLE run past the end of its tile');
          for (let k = 0; k < n; k++) put(i + k, v);
          i += n;
        }
      }
    }
    if (!c.done) throw new Error(`ZRLE rect left ${c.b.length - c.o} unused bytes`);
  }

  private async readCompact(src: ByteSource): Promise<number> {
    let b = (await src.read(1))[0]!;
    let len = b & 0x7f;
    if (b & 0x80) {
      b = (await src.read(1))[0]!;
      len |= (b & 0x7f) << 7;
      if (b & 0x80) len |= (await src.read(1))[0]! << 14;
    }
    return len;
  }

  private async decodeImage(r: DecodedRectHeader, data: Buffer): Promise<void> {
    const { data: px, info } = await sharp(data).raw().toBuffer({ resolveWithObject: true });
    if (info.width !== r.w || info.height !== r.h) throw new Error(`image is ${info.width}x${info.height}, rect ${r.w}x${r.h}`);
    const ch = info.channels;
    for (let j = 0; j < r.h; j++) {
      for (let i = 0; i < r.w; i++) {
        const o = (j * r.w + i) * ch;
        this.pixels[(r.y + j) * this.width + r.x + i] = ch >= 3 ? this.fromRgb(px[o]!, px[o + 1]!, px[o + 2]!) : this.fromRgb(px[o]!, px[o]!, px[o]!);
      }
    }
  }

  private async decodeTight(r: DecodedRectHeader, src: ByteSource, png: boolean): Promise<void> {
    if (!png && r.w > 2048) throw new Error('Tight rect wider than 2048');
    const ctl = (await src.read(1))[0]!;
    for (let s = 0; s < 4; s++) if (ctl & (1 << s)) this.tightStreams[s]!.reset();
    const type = ctl >> 4;
    const tp = this.tpixelIs24() ? 3 : this.bpp;
    if (type === 8) {
      this.fill(r.x, r.y, r.w, r.h, this.readTpixel(await src.read(tp), 0));
      return;
    }
    if (type === 9) {
      if (this.bpp === 1) throw new Error('Tight JPEG is not allowed at 8 bpp');
      return this.decodeImage(r, await src.read(await this.readCompact(src)));
    }
    if (png) {
      if (type !== 10) throw new Error(`TightPNG control type ${type} (BasicCompression received in TightPNG rect)`);
      return this.decodeImage(r, await src.read(await this.readCompact(src)));
    }
    if (type >= 8) throw new Error(`Tight control type ${type} not produced by this server`);
    const stream = this.tightStreams[type & 3]!;
    const filter = type & 4 ? (await src.read(1))[0]! : 0;
    const palette: number[] = [];
    let size: number;
    if (filter === 0) size = r.w * r.h * tp;
    else if (filter === 2) {
      if (tp !== 3) throw new Error(`Tight gradient filter with ${tp}-byte TPIXELs (only 3 is produced)`);
      size = r.w * r.h * 3;
    }
    else if (filter === 1) {
      const n = (await src.read(1))[0]! + 1;
      const pal = await src.read(n * tp);
      for (let i = 0; i < n; i++) palette.push(this.readTpixel(pal, i * tp));
      size = n === 2 ? ((r.w + 7) >> 3) * r.h : r.w * r.h;
    } else throw new Error(`Tight filter ${filter} is not produced by this server`);
    let data: Buffer;
    if (size < 12) data = await src.read(size);
    else {
      data = await stream.inflate(await src.read(await this.readCompact(src)));
      if (data.length !== size) throw new Error(`Tight basic data inflated to ${data.length}, expected ${size}`);
    }
    if (filter === 2) {
      // Inverse gradient, per channel byte: value = residual + clamp(left + upper − upper-left).
      const rb = r.w * 3;
      const v = Buffer.alloc(data.length);
      for (let j = 0; j < r.h; j++) {
        for (let k = 0; k < rb; k++) {
          const i = j * rb + k;
          const left = k >= 3 ? v[i - 3]! : 0;
          const up = j > 0 ? v[i - rb]! : 0;
          const ul = j > 0 && k >= 3 ? v[i - rb - 3]! : 0;
          const pred = Math.min(255, Math.max(0, left + up - ul));
          v[i] = (data[i]! + pred) & 255;
        }
      }
      data = v;
    }
    if (filter === 0 || filter === 2) {
      for (let j = 0, o = 0; j < r.h; j++) for (let i = 0; i < r.w; i++, o += tp) this.pixels[(r.y + j) * this.width + r.x + i] = this.readTpixel(data, o);
      return;
    }
    const rowBytes = (r.w + 7) >> 3;
    for (let j = 0; j < r.h; j++) {
      for (let i = 0; i < r.w; i++) {
        const idx = palette.length === 2 ? (data[j * rowBytes + (i >> 3)]! >> (7 - (i & 7))) & 1 : data[j * r.w + i]!;
        if (idx >= palette.length) throw new Error('Tight palette index outside palette');
        this.pixels[(r.y + j) * this.width + r.x + i] = palette[idx]!;
      }
    }
  }
}

/** Splits a client pixel value into its channels scaled to 0–255, for lossy comparisons. */
export function clientPixelToRgb(f: DecoderPixelFormat, v: number): [number, number, number] {
  const ch = (max: number, shift: number) => Math.round(((Math.floor(v / 2 ** shift) & max) * 255) / max);
  return [ch(f.redMax, f.redShift), ch(f.greenMax, f.greenShift), ch(f.blueMax, f.blueShift)];
}
