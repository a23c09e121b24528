/**
 * Framing of Hextile (encoding 5) rectangles, which bench/lib/rect-framing.ts does not cover:
 * consumes the body without decoding it (rfbproto.rst, "Hextile Encoding"). Tiles are 16×16,
 * left to right, top to bottom, the last ones in a row or column smaller.
 */
import type { ByteReader } from '../lib/byte-reader.js';

const RAW = 1;
const BACKGROUND = 2;
const FOREGROUND = 4;
const ANY_SUBRECTS = 8;
const SUBRECTS_COLOURED = 16;

/** Consumes one Hextile rectangle body of w×h pixels at `bpp` bytes per pixel. */
export async function skipHextile(r: ByteReader, w: number, h: number, bpp: number, deadline: number): Promise<void> {
  for (let ty = 0; ty < h; ty += 16) {
    const th = Math.min(16, h - ty);
    for (let tx = 0; tx < w; tx += 16) {
      const tw = Math.min(16, w - tx);
      const sub = await r.u8(deadline);
      if (sub & RAW) {
        await r.skip(tw * th * bpp, deadline);
        continue;
      }
      let n = 0;
      if (sub & BACKGROUND) n += bpp;
      if (sub & FOREGROUND) n += bpp;
      if (n) await r.skip(n, deadline);
      if (sub & ANY_SUBRECTS) {
        const count = await r.u8(deadline);
        await r.skip(count * ((sub & SUBRECTS_COLOURED ? bpp : 0) + 2), deadline);
      }
    }
  }
}
