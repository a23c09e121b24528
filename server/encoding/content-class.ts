/**
 * What kind of content a piece is, for the choices that depend on it: whether JPEG suits it
 * (Tight, TightPNG: no hard edges) and how hard zlib should work on it (Zlib, ZRLE, Tight:
 * many pixels repeat their neighbour). Text and UI have hard edges and repeat; gradients repeat
 * without hard edges; photos and video neither.
 */
import type { Rect } from '../../core/geometry.js';

/**
 * Colour step (largest channel difference between horizontal neighbours) that counts as a hard
 * edge: a glyph stroke against its background, a UI border. Gradients and camera noise step by
 * a few levels at a time.
 */
const HARD_EDGE_STEP = 48;
/**
 * Share of pixels with a hard edge to their right that marks a piece as drawn. Measured on the
 * bench scenes' many-coloured pieces: xterm's antialiased text 0.077–0.6, photos, video and the
 * gradient wallpaper ≤ 0.003.
 */
const DRAWN_EDGE_SHARE = 0.02;
/** Rows looked at by `looksPhotographic` and `isRepetitive`: one in this many. */
const EDGE_SAMPLE_ROWS = 3;

/**
 * Is JPEG right for this many-coloured piece? Only for continuous-tone content (photos, video,
 * gradients). Antialiased text has hundreds of colours too, but hard edges: JPEG blurs them,
 * costs a sharp call (about 1 ms of main-thread work), and the area must be refreshed
 * losslessly afterwards anyway, while the lossless encodings compress text well. Exits as soon
 * as enough edges are seen.
 */
export function looksPhotographic(px: Uint32Array, stride: number, r: Rect): boolean {
  // Every EDGE_SAMPLE_ROWS-th row is enough for a share (a photo is scanned to the end).
  const need = DRAWN_EDGE_SHARE * r.w * Math.ceil(r.h / EDGE_SAMPLE_ROWS);
  let edges = 0;
  for (let y = 0; y < r.h; y += EDGE_SAMPLE_ROWS) {
    let s = (r.y + y) * stride + r.x;
    for (const end = s + r.w - 1; s < end; s++) {
      const a = px[s]!, b = px[s + 1]!;
      if (a === b) continue;
      const step = Math.max(
        Math.abs(((a >>> 16) & 0xff) - ((b >>> 16) & 0xff)),
        Math.abs(((a >>> 8) & 0xff) - ((b >>> 8) & 0xff)),
        Math.abs((a & 0xff) - (b & 0xff)),
      );
      if (step > HARD_EDGE_STEP && ++edges >= need) return false;
    }
  }
  return true;
}

/**
 * Share of pixels equal to their left neighbour that makes a piece repetitive. Measured on the
 * bench scenes' many-coloured pieces: photos and video 0.04–0.08, text, UI and the gradient
 * wallpaper 0.5–0.95.
 */
const REPETITIVE_SHARE = 0.25;

/** Do at least REPETITIVE_SHARE of the (sampled) pixels repeat their left neighbour? */
export function isRepetitive(px: Uint32Array, stride: number, r: Rect): boolean {
  const need = REPETITIVE_SHARE * r.w * Math.ceil(r.h / EDGE_SAMPLE_ROWS);
  let same = 0;
  for (let y = 0; y < r.h; y += EDGE_SAMPLE_ROWS) {
    let s = (r.y + y) * stride + r.x;
    for (const end = s + r.w - 1; s < end; s++) if (px[s] === px[s + 1] && ++same >= need) return true;
  }
  return false;
}

/**
 * Least zlib level for repetitive content. Its long matches make lazy matching (zlib level 4
 * on) pay and stay cheap: measured in `npm run bench` at compress level 2, the terminal's and
 * the window drag's bytes drop 5–12 % (Tight palettes) and 12–38 % (Zlib, ZRLE) for about
 * the same CPU. Noisy content (photos, video) keeps the client's level: there a higher one
 * costs several times the CPU for a few percent.
 */
export const REPETITIVE_MIN_ZLIB_LEVEL = 6;

/** zlib level for a piece: `level`, raised to REPETITIVE_MIN_ZLIB_LEVEL for repetitive content (never from 0). */
export function zlibLevelFor(repetitive: boolean, level: number): number {
  return repetitive && level > 0 ? Math.max(level, REPETITIVE_MIN_ZLIB_LEVEL) : level;
}
