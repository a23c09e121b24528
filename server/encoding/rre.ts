/**
 * RRE encoding (2): a background colour plus subrectangles of other colours covering the rest
 * (rfbproto "RRE Encoding"). Cheap for solid and large flat areas, hopeless for photo content;
 * the encode manager uses it only for those classes (and falls back when it loses to Raw).
 * Stateless between calls.
 *
 * Background = most frequent colour (counted over at most 256 distinct colours, enough to find
 * the dominant one on flat content). Subrectangles are found greedily in raster order like
 * Hextile's, with a coverage bitmap of the rectangle.
 */
import type { Encoder, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache } from './pixel-pack.js';
import { Palette } from './palette.js';

export function createRreEncoder(): Encoder {
  const packerFor = packerCache('pixel');
  const palette = new Palette(256);
  let covered = new Uint8Array(0);

  return {
    encoding: Encoding.RRE,
    encode(fb, r, ctx): EncodedRects {
      const packer = packerFor(ctx.converter);
      const bpp = packer.bytesPerPixel;
      const px = fb.pixels, stride = fb.stride;
      palette.clear();
      let prev = px[r.y * stride + r.x]!, run = 0;
      for (let j = 0; j < r.h; j++) {
        let s = (r.y + j) * stride + r.x;
        for (const end = s + r.w; s < end; s++) {
          const v = px[s]!;
          if (v === prev) { run++; continue; }
          palette.add(prev, run);
          prev = v;
          run = 1;
        }
      }
      palette.add(prev, run);
      const bg = palette.colours[palette.mostFrequent()]!;

      const area = r.w * r.h;
      if (covered.length < area) covered = new Uint8Array(area);
      else covered.fill(0, 0, area);
      const parts: Buffer[] = [];
      let part = Buffer.allocUnsafe(64 * 1024);
      let o = 0, n = 0;
      const rec = bpp + 8;
      for (let y = 0; y < r.h; y++) {
        const row = (r.y + y) * stride + r.x;
        for (let x = 0; x < r.w; x++) {
          const c = px[row + x]!;
          if (c === bg || covered[y * r.w + x]) continue;
          let w = 1;
          while (x + w < r.w && !covered[y * r.w + x + w] && px[row + x + w] === c) w++;
          let h = 1;
          extend: while (y + h < r.h) {
            const r2 = (r.y + y + h) * stride + r.x + x;
            for (let i = 0; i < w; i++) if (px[r2 + i] !== c || covered[(y + h) * r.w + x + i]) break extend;
            h++;
          }
          for (let j = 1; j < h; j++) covered.fill(1, (y + j) * r.w + x, (y + j) * r.w + x + w);
          if (o + rec > part.length) { parts.push(part.subarray(0, o)); part = Buffer.allocUnsafe(part.length); o = 0; }
          o = packer.pack(c, part, o);
          part.writeUInt16BE(x, o);
          part.writeUInt16BE(y, o + 2);
          part.writeUInt16BE(w, o + 4);
          part.writeUInt16BE(h, o + 6);
          o += 8;
          n++;
          x += w - 1;
        }
      }
      parts.push(part.subarray(0, o));
      const head = Buffer.allocUnsafe(16 + bpp);
      rectHeader(r.x, r.y, r.w, r.h, Encoding.RRE).copy(head, 0);
      head.writeUInt32BE(n, 12);
      packer.pack(bg, head, 16);
      return { count: 1, chunks: [head, ...parts] };
    },
    dispose() {},
  };
}
