/**
 * Hextile encoding (5): 16×16 tiles, each either raw or a background plus subrectangles
 * (one foreground colour, or coloured subrectangles), with background/foreground carried over
 * from the previous tile when unchanged (rfbproto "Hextile Encoding"). Stateless between calls, so
 * a large rectangle can be written in bands of tile rows (`encodeRows`).
 *
 * Subrectangles are found greedily in raster order: a horizontal run of one colour, extended
 * down while the rows below match; the colour with the most of them is the background. The tile
 * goes raw as soon as the subrectangles would cost as much as the raw pixels.
 */
import type { Encoder, EncodedRects } from './encoder.js';
import { rectHeader } from './encoder.js';
import { Encoding } from './encodings.js';
import { packerCache, type PixelPacker } from './pixel-pack.js';
import { Palette } from './palette.js';
import { BufferPool } from './buffer-pool.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';

const RAW = 1, BG = 2, FG = 4, ANY = 8, COLOURED = 16;
/** Hash buckets of the palette-free raw test (a power of two; the hash keeps the top bits). */
const CORNER_SLOTS = 64;
const CORNER_SLOT_SHIFT = 32 - Math.log2(CORNER_SLOTS);

/** `buffers` lends the output (the session gives it back once the socket has flushed it). */
export function createHextileEncoder(buffers = new BufferPool()): Encoder {
  const packerFor = packerCache('pixel');
  const palette = new Palette(256);
  const covered = new Uint8Array(256);
  // Subrectangles of the current tile: colour, packed xy, packed wh.
  const subColour = new Uint32Array(256);
  const subXY = new Uint8Array(256);
  const subWH = new Uint8Array(256);
  /** Subrectangles per palette index during `findSubrects`, and the background it chose. */
  const perColour = new Uint16Array(256);
  const cornerSlots = new Uint16Array(CORNER_SLOTS);
  let subrectBg = 0;
  /** Set by `analyseTile` for the tile it analysed. */
  let tileMono = false, tileBackground = 0;

  /**
   * The tiles of `r` behind `reserve` free bytes. The first tile that is not raw always specifies
   * its background (nothing is assumed from before `r`), which is what lets bands of a larger
   * rectangle be encoded separately (`encodeRows`).
   */
  function encodeTiles(fb: PixelBuffer, r: Rect, packer: PixelPacker, reserve: number): Buffer {
    const bpp = packer.bytesPerPixel;
    const tiles = Math.ceil(r.w / 16) * Math.ceil(r.h / 16);
    const out = buffers.take(reserve + tiles + r.w * r.h * bpp);
    let o = reserve;
    let bg = 0, bgValid = false, fg = 0, fgValid = false, lastRaw = false;
    const px = fb.pixels, stride = fb.stride;
    for (let ty = r.y; ty < r.y + r.h; ty += 16) {
      for (let tx = r.x; tx < r.x + r.w; tx += 16) {
        const tw = Math.min(16, r.x + r.w - tx), th = Math.min(16, r.y + r.h - ty);
        const rawSize = tw * th * bpp;
        // Only after a raw tile: photos come in areas, and on text the test is wasted work.
        const n: number = lastRaw && cornersSurelyRaw(px, stride, tx, ty, tw, th, bpp, rawSize) ? -1 : analyseTile(px, stride, tx, ty, tw, th, bpp, rawSize);
        lastRaw = n < 0;
        const mono = tileMono, tileBg = tileBackground;
        if (n < 0) {
          out[o++] = RAW;
          for (let j = 0; j < th; j++) o = packer.packRun(px, (ty + j) * stride + tx, tw, out, o);
          bgValid = false;
          fgValid = false;
          continue;
        }
        let mask = 0;
        const maskAt = o++;
        if (!bgValid || tileBg !== bg) { mask |= BG; bg = tileBg; bgValid = true; o = packer.pack(bg, out, o); }
        if (n > 0) {
          mask |= ANY;
          if (mono) {
            const c = subColour[0]!;
            if (!fgValid || c !== fg) { mask |= FG; fg = c; fgValid = true; o = packer.pack(fg, out, o); }
          } else {
            mask |= COLOURED;
            fgValid = false;
          }
          out[o++] = n;
          for (let i = 0; i < n; i++) {
            if (!mono) o = packer.pack(subColour[i]!, out, o);
            out[o++] = subXY[i]!;
            out[o++] = subWH[i]!;
          }
        }
        out[maskAt] = mask;
      }
    }
    return out.subarray(0, o);
  }

  /**
   * The palette and subrectangles of one tile: returns how many subrectangles it takes besides
   * its background (in subColour/subXY/subWH, background and mono-ness in `tileBackground` and
   * `tileMono`), or -1 when it goes raw.
   */
  function analyseTile(px: Uint32Array, stride: number, tx: number, ty: number, tw: number, th: number, bpp: number, rawSize: number): number {
    // Colours with counts (the most frequent is the background), and the pixels that must
    // be a subrectangle's top-left corner: left and upper neighbours of another colour.
    palette.clear();
    let corners = 0;
    for (let j = 0; j < th; j++) {
      let s = (ty + j) * stride + tx;
      let prev = px[s]!, run = 0;
      if (j === 0 || px[s - stride] !== prev) corners++;
      for (const end = s + tw; s < end; s++) {
        const v = px[s]!;
        if (v === prev) { run++; continue; }
        palette.add(prev, run);
        if (j === 0 || px[s - stride] !== v) corners++;
        prev = v;
        run = 1;
      }
      palette.add(prev, run);
    }
    const bgIndex = palette.mostFrequent();
    const mono = palette.size === 2;
    // Worst-case fixed cost: mask, background, foreground (mono only), count.
    const base = 2 + bpp + (mono ? bpp : 0);
    const cost = mono ? 2 : 2 + bpp;
    // Each corner of another colour than the background needs its own subrectangle, and at
    // most as many corners as the most frequent colour has pixels are of the background,
    // whichever colour that is: photo tiles go raw here without the subrectangle search,
    // which cost ~20 ns per pixel before it gave up.
    const surelyRaw = (corners - palette.counts[bgIndex]!) * cost > rawSize - base;
    const n = palette.size === 1 ? 0 : surelyRaw ? -1 : findSubrects(px, stride, tx, ty, tw, th, cost, rawSize - base);
    tileMono = mono;
    tileBackground = palette.size === 1 ? palette.colours[0]! : subrectBg;
    return n;
  }

  /**
   * Is the tile certainly raw, decided without the palette (photo tiles, whose palette pass was
   * most of Hextile's time on photos)? Every "corner" pixel (left and upper neighbours of other
   * colours) must start a subrectangle of its own colour, so the subrectangles that are not the
   * background's number at least corners − (the background's corners). Corners are tallied in
   * `CORNER_SLOTS` buckets by a colour hash: a bucket's count bounds each of its colours' from
   * above, so corners − the fullest bucket is a lower bound whichever colour is the background.
   * Three non-empty buckets mean three colours, so the tile is not mono and every subrectangle
   * carries its colour. When this says raw, `findSubrects` would have given up too: the output
   * is the same, only cheaper.
   */
  function cornersSurelyRaw(px: Uint32Array, stride: number, tx: number, ty: number, tw: number, th: number, bpp: number, rawSize: number): boolean {
    cornerSlots.fill(0);
    const cost = 2 + bpp;
    let corners = 0, fullest = 0, used = 0;
    for (let j = 0; j < th; j++) {
      const s = (ty + j) * stride + tx;
      for (let i = 0; i < tw; i++) {
        const v = px[s + i]!;
        if (i > 0 && px[s + i - 1] === v) continue;
        if (j > 0 && px[s + i - stride] === v) continue;
        corners++;
        const k = Math.imul(v, 0x9e3779b1) >>> CORNER_SLOT_SHIFT;
        const n = ++cornerSlots[k]!;
        if (n === 1) used++;
        if (n > fullest) fullest = n;
      }
      // corners − fullest never decreases (a corner raises `fullest` by at most one): once
      // over the budget it stays there, and the rest of the tile need not be looked at.
      if (used >= 3 && (corners - fullest) * cost > rawSize - cost) return true;
    }
    return false;
  }

  /**
   * A greedy cover of the whole tile by single-colour subrectangles (a run, extended down while
   * the rows below match). The colour with the most subrectangles becomes the background, in
   * `subrectBg`, and its subrectangles are dropped: that drops the most of them, which the most
   * frequent colour need not (TigerVNC chooses the same way; measured in `npm run bench`:
   * typing −15 %, window drag −2.5 % with Hextile). Returns how many remain, in reading order in
   * subColour/subXY/subWH, or -1 when they would take more than `budget` bytes (the tile then
   * goes raw, which also bounds the output buffer). Every colour must be in `palette`.
   */
  function findSubrects(px: Uint32Array, stride: number, tx: number, ty: number, tw: number, th: number, cost: number, budget: number): number {
    covered.fill(0);
    perColour.fill(0, 0, palette.size);
    let n = 0, most = 0, mostIndex = 0;
    for (let y = 0; y < th; y++) {
      const row = (ty + y) * stride + tx;
      for (let x = 0; x < tw; x++) {
        if (covered[y * 16 + x]) continue;
        const c = px[row + x]!;
        let w = 1;
        while (x + w < tw && !covered[y * 16 + x + w] && px[row + x + w] === c) w++;
        let h = 1;
        extend: while (y + h < th) {
          const r2 = (ty + y + h) * stride + tx + x;
          for (let i = 0; i < w; i++) if (px[r2 + i] !== c || covered[(y + h) * 16 + x + i]) break extend;
          h++;
        }
        for (let j = 0; j < h; j++) covered.fill(1, (y + j) * 16 + x, (y + j) * 16 + x + w);
        const k = palette.lookup(c);
        if (++perColour[k]! > most) { most = perColour[k]!; mostIndex = k; }
        subColour[n] = c;
        subXY[n] = (x << 4) | y;
        subWH[n] = ((w - 1) << 4) | (h - 1);
        n++;
        // All but the background's subrectangles cost `cost`; n − most never decreases.
        if ((n - most) * cost > budget) return -1;
        x += w - 1;
      }
    }
    subrectBg = palette.colours[mostIndex]!;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (subColour[i] === subrectBg) continue;
      subColour[kept] = subColour[i]!;
      subXY[kept] = subXY[i]!;
      subWH[kept] = subWH[i]!;
      kept++;
    }
    return kept <= 255 ? kept : -1;
  }

  return {
    encoding: Encoding.Hextile,
    rowAlign: 16,
    encode(fb, r, ctx): EncodedRects {
      const out = encodeTiles(fb, r, packerFor(ctx.converter), 12);
      rectHeader(r.x, r.y, r.w, r.h, Encoding.Hextile).copy(out, 0);
      return { count: 1, chunks: [out] };
    },
    encodeRows(fb, r, ctx): Buffer {
      return encodeTiles(fb, r, packerFor(ctx.converter), 0);
    },
    dispose() {},
  };
}
