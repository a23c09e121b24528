/**
 * An endless generated web page (headings, paragraphs of antialiased text, photos with
 * captions, a sidebar of links), rendered on demand a band of rows at a time — what a browser
 * has to paint while the user scrolls. The page is cut into sections laid out from the seed;
 * each rendered section is cached by the instance (a few at most), so scrolling renders each
 * section once. Deterministic: the same seed always gives the same rows.
 */
import { blit, createGlyphFont, drawText, fillRect, GLYPH_H, GLYPH_W, type Bitmap, type GlyphFont, type Rgb } from './glyphs.js';
import { photoImage } from './photo.js';
import { createPrng, subSeed } from './prng.js';
import { sentence } from './text-feed.js';

const WHITE: Rgb = [255, 255, 255];
const TEXT: Rgb = [34, 34, 34];
const HEADING: Rgb = [17, 17, 17];
const LINK: Rgb = [26, 13, 171];
const CAPTION: Rgb = [102, 102, 102];
const RULE: Rgb = [221, 221, 221];
const LINE_H = 20;
/** Rendered sections kept per page (a viewport spans at most two or three). */
const CACHE_SECTIONS = 4;

interface Section {
  readonly start: number;
  readonly height: number;
  readonly index: number;
}

export class WebPage {
  private readonly font: GlyphFont;
  private readonly sections: Section[] = [];
  private readonly cache = new Map<number, Buffer>();
  private readonly contentX: number;
  private readonly contentW: number;
  private readonly sideX: number;

  /** A page `width` pixels wide (at least 320) for `seed`. */
  constructor(readonly width: number, private readonly seed: number) {
    if (!(Number.isInteger(width) && width >= 320)) throw new RangeError(`page width must be an integer ≥ 320 (got ${width})`);
    this.font = createGlyphFont(subSeed(seed, 7));
    this.contentX = Math.round(width * 0.12);
    this.contentW = Math.round(width * 0.6);
    this.sideX = this.contentX + this.contentW + 32;
  }

  /** Rows [y, y + h) of the page as BGRX (`width` × `h`). */
  rows(y: number, h: number): Buffer {
    if (!(Number.isInteger(y) && Number.isInteger(h) && y >= 0 && h >= 0)) throw new RangeError(`bad row range ${y}+${h}`);
    const out = Buffer.alloc(this.width * h * 4);
    const stride = this.width * 4;
    let row = y;
    while (row < y + h) {
      const s = this.sectionAt(row);
      const img = this.render(s);
      const from = row - s.start;
      const n = Math.min(s.height - from, y + h - row);
      img.copy(out, (row - y) * stride, from * stride, (from + n) * stride);
      row += n;
    }
    return out;
  }

  private sectionAt(y: number): Section {
    for (;;) {
      const last = this.sections[this.sections.length - 1];
      if (last && y < last.start + last.height) break;
      const index = this.sections.length;
      this.sections.push({ index, start: last ? last.start + last.height : 0, height: this.layout(index, null) });
    }
    // Sections grow monotonically: binary search.
    let lo = 0;
    let hi = this.sections.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.sections[mid]!.start <= y) lo = mid;
      else hi = mid - 1;
    }
    return this.sections[lo]!;
  }

  private render(s: Section): Buffer {
    let img = this.cache.get(s.index);
    if (!img) {
      img = Buffer.alloc(this.width * s.height * 4);
      this.layout(s.index, { data: img, width: this.width, height: s.height });
      this.cache.set(s.index, img);
      if (this.cache.size > CACHE_SECTIONS) this.cache.delete(this.cache.keys().next().value!);
    }
    return img;
  }

  /**
   * Lays out section `index` and, when `img` is given, paints it. Returns the section height.
   * One function for both so that measuring and painting can never disagree.
   */
  private layout(index: number, img: Bitmap | null): number {
    const p = createPrng(subSeed(this.seed, index));
    const charsPerLine = Math.floor(this.contentW / GLYPH_W);
    let y = 24;
    if (img) fillRect(img, 0, 0, this.width, img.height, WHITE);
    const heading = sentence(p, p.int(2, 6)).slice(0, Math.floor(this.contentW / (2 * GLYPH_W)));
    if (img) drawText(img, this.font, this.contentX, y, heading, HEADING, 2);
    y += 2 * GLYPH_H + 16;
    const sideTop = y;
    const paragraphs = p.int(2, 4);
    const imageAfter = p.next() < 0.6 ? p.int(0, paragraphs - 1) : -1;
    for (let k = 0; k < paragraphs; k++) {
      const lines = p.int(3, 7);
      for (let l = 0; l < lines; l++) {
        let text = sentence(p, 40);
        const n = l === lines - 1 ? p.int(Math.floor(charsPerLine / 3), charsPerLine) : charsPerLine;
        text = text.slice(0, n);
        const colour = p.next() < 0.05 ? LINK : TEXT;
        if (img) drawText(img, this.font, this.contentX, y + Math.floor((LINE_H - GLYPH_H) / 2), text, colour);
        y += LINE_H;
      }
      y += 12;
      if (k === imageAfter) {
        const w = Math.min(this.contentW, 480);
        const h = Math.round(w * 0.5625);
        // The caption is drawn from the stream in both passes, so measuring and painting agree.
        const caption = sentence(p, 6).slice(0, Math.floor(w / GLYPH_W));
        if (img) {
          blit(img, photoImage(w, h, subSeed(this.seed, 1000 + index), { grain: 2 }), w, h, this.contentX, y);
          drawText(img, this.font, this.contentX, y + h + 4, caption, CAPTION);
        }
        y += h + LINE_H + 16;
      }
    }
    // Sidebar: a column of links beside the section.
    const links = p.int(4, 10);
    const sideChars = Math.floor((this.width - this.sideX - 16) / GLYPH_W);
    for (let k = 0; k < links && sideChars > 4; k++) {
      const text = sentence(p, p.int(2, 5)).slice(0, sideChars);
      if (img) drawText(img, this.font, this.sideX, sideTop + k * LINE_H, text, LINK);
    }
    y = Math.max(y, sideTop + links * LINE_H) + 16;
    if (img) fillRect(img, this.contentX, y - 8, this.contentW, 1, RULE);
    return y;
  }
}
