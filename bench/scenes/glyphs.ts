/**
 * A generated pseudo-font for the page-like scenes (web page, dragged document window, idle
 * desktop text). Real text matters to encoders for three reasons this reproduces: glyphs repeat
 * (a font has ~90 shapes), they are thin strokes on a flat background, and antialiasing adds a
 * few grey levels at the edges. Each printable ASCII character gets a glyph made of 2–4 strokes
 * drawn at twice the size and box-filtered down (that filtering is the antialiasing). The shapes
 * only look like letters from afar; nothing here depends on the system's fonts, so the scenes
 * are identical on every machine. Pure.
 */
import { createPrng, subSeed } from './prng.js';

/** Advance and line box of the 1× font, in pixels. */
export const GLYPH_W = 7;
export const GLYPH_H = 15;

/** Glyph coverage maps for one seed. */
export interface GlyphFont {
  /** 1× antialiased coverage (0–255), GLYPH_W × GLYPH_H per character code 0–127. */
  readonly small: readonly Uint8Array[];
  /** 2× coverage (0 or 255), 2·GLYPH_W × 2·GLYPH_H, for headings. */
  readonly large: readonly Uint8Array[];
}

const ASCENDERS = new Set('bdfhklt'.split(''));
const DESCENDERS = new Set('gjpqy'.split(''));

/** Builds the font for `seed`. */
export function createGlyphFont(seed: number): GlyphFont {
  const W2 = GLYPH_W * 2;
  const H2 = GLYPH_H * 2;
  const small: Uint8Array[] = [];
  const large: Uint8Array[] = [];
  for (let code = 0; code < 128; code++) {
    const hi = new Uint8Array(W2 * H2);
    const ch = String.fromCharCode(code);
    if (code > 32 && code < 127) {
      const prng = createPrng(subSeed(seed, code));
      const upper = /[A-Z0-9]/.test(ch);
      const punct = !/[A-Za-z0-9]/.test(ch);
      // Vertical extent in 2× pixels: cap height, x-height, ascender, descender.
      let top = upper || ASCENDERS.has(ch) ? 6 : 12;
      let bottom = DESCENDERS.has(ch) ? 28 : 23;
      if (punct) {
        top = prng.int(8, 16);
        bottom = Math.min(25, top + prng.int(2, 12));
      }
      const left = 2;
      const right = W2 - 3;
      const strokes = punct ? prng.int(1, 2) : prng.int(2, 4);
      for (let s = 0; s < strokes; s++) {
        const x0 = prng.int(left, right);
        const y0 = prng.int(top, bottom);
        // Strokes are mostly vertical or horizontal, like real letters.
        const kind = prng.int(0, 2);
        const x1 = kind === 0 ? x0 : prng.int(left, right);
        const y1 = kind === 1 ? y0 : prng.int(top, bottom);
        const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
        for (let k = 0; k <= steps; k++) {
          const x = Math.round(x0 + ((x1 - x0) * k) / steps);
          const y = Math.round(y0 + ((y1 - y0) * k) / steps);
          for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) if (x + dx < W2 && y + dy < H2) hi[(y + dy) * W2 + x + dx] = 255;
        }
      }
    }
    const lo = new Uint8Array(GLYPH_W * GLYPH_H);
    for (let y = 0; y < GLYPH_H; y++) {
      for (let x = 0; x < GLYPH_W; x++) {
        const i = 2 * y * W2 + 2 * x;
        lo[y * GLYPH_W + x] = (hi[i]! + hi[i + 1]! + hi[i + W2]! + hi[i + W2 + 1]!) >> 2;
      }
    }
    small.push(lo);
    large.push(hi);
  }
  return { small, large };
}

/** A BGRX image being drawn into. */
export interface Bitmap {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
}

export type Rgb = readonly [number, number, number];

/** Fills a rectangle (clipped) with an opaque colour. */
export function fillRect(img: Bitmap, x: number, y: number, w: number, h: number, c: Rgb): void {
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(img.width, x + w);
  const y1 = Math.min(img.height, y + h);
  for (let yy = y0; yy < y1; yy++) {
    let o = (yy * img.width + x0) * 4;
    for (let xx = x0; xx < x1; xx++, o += 4) {
      img.data[o] = c[2];
      img.data[o + 1] = c[1];
      img.data[o + 2] = c[0];
      img.data[o + 3] = 0;
    }
  }
}

/**
 * Draws `text` with its top-left corner at (x, y), blending `colour` over what is there by the
 * glyph coverage. `scale` 2 uses the large glyphs. Clipped to the image. Returns the x after
 * the last character.
 */
export function drawText(img: Bitmap, font: GlyphFont, x: number, y: number, text: string, colour: Rgb, scale: 1 | 2 = 1): number {
  const gw = GLYPH_W * scale;
  const gh = GLYPH_H * scale;
  const maps = scale === 1 ? font.small : font.large;
  for (let k = 0; k < text.length; k++, x += gw) {
    const code = text.charCodeAt(k);
    if (code <= 32 || code >= 127) continue;
    if (x >= img.width || x + gw <= 0 || y >= img.height || y + gh <= 0) continue;
    const map = maps[code]!;
    for (let gy = 0; gy < gh; gy++) {
      const yy = y + gy;
      if (yy < 0 || yy >= img.height) continue;
      for (let gx = 0; gx < gw; gx++) {
        const a = map[gy * gw + gx]!;
        if (a === 0) continue;
        const xx = x + gx;
        if (xx < 0 || xx >= img.width) continue;
        const o = (yy * img.width + xx) * 4;
        img.data[o] = img.data[o]! + (((colour[2] - img.data[o]!) * a) >> 8);
        img.data[o + 1] = img.data[o + 1]! + (((colour[1] - img.data[o + 1]!) * a) >> 8);
        img.data[o + 2] = img.data[o + 2]! + (((colour[0] - img.data[o + 2]!) * a) >> 8);
      }
    }
  }
  return x;
}

/** Copies a BGRX image (w×h) into `img` at (x, y), clipped. */
export function blit(img: Bitmap, src: Buffer, w: number, h: number, x: number, y: number): void {
  for (let sy = 0; sy < h; sy++) {
    const yy = y + sy;
    if (yy < 0 || yy >= img.height) continue;
    const sx0 = Math.max(0, -x);
    const sx1 = Math.min(w, img.width - x);
    if (sx1 <= sx0) return;
    src.copy(img.data, (yy * img.width + x + sx0) * 4, (sy * w + sx0) * 4, (sy * w + sx1) * 4);
  }
}
