/**
 * Pixel comparison between images from different sources: BGRX from xwd/our capture, RGB from
 * vncsnapshot's JPEG (via sharp), RGBA from a noVNC canvas. Exact or with a per-channel
 * tolerance, with a failure message that says where and by how much, and on failure optional
 * PNGs (a, b, diff) in a temp directory for a human to look at.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Rect } from '../../core/geometry.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { ErrorCode, VncError } from '../../core/errors.js';

/** Byte layout of one pixel. `bgrx` is the project's internal format (X byte ignored). */
export type PixelLayout = 'bgrx' | 'rgb' | 'rgba';

/** Raw pixels with an explicit layout. */
export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly layout: PixelLayout;
  readonly data: Uint8Array;
  /** Bytes per row; defaults to `width * bytesPerPixel`. */
  readonly stride?: number;
}

/** Anything the comparison accepts: a RawImage or the project's BGRX PixelBuffer. */
export type AnyImage = RawImage | PixelBuffer;

const BPP: Record<PixelLayout, number> = { bgrx: 4, rgb: 3, rgba: 4 };

/** Normalises a PixelBuffer (BGRX, stride in pixels) to a RawImage. */
export function toRawImage(img: AnyImage): RawImage {
  if ('layout' in img) return img;
  return { width: img.width, height: img.height, layout: 'bgrx', data: img.data, stride: img.stride * 4 };
}

/** Reads one pixel as `0xRRGGBB`. */
export function pixelAt(img: AnyImage, x: number, y: number): number {
  const r = toRawImage(img);
  if (x < 0 || y < 0 || x >= r.width || y >= r.height) throw new RangeError(`pixel ${x},${y} outside ${r.width}x${r.height}`);
  const bpp = BPP[r.layout];
  const i = y * (r.stride ?? r.width * bpp) + x * bpp;
  const d = r.data;
  return r.layout === 'bgrx' ? (d[i + 2]! << 16) | (d[i + 1]! << 8) | d[i]! : (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
}

/** A new tightly packed RGB image of `rect` (clipped to the image). */
export function cropToRgb(img: AnyImage, rect?: Rect): RawImage {
  const r = toRawImage(img);
  const x0 = Math.max(0, rect?.x ?? 0);
  const y0 = Math.max(0, rect?.y ?? 0);
  const w = Math.max(0, Math.min(r.width, x0 + (rect?.w ?? r.width)) - x0);
  const h = Math.max(0, Math.min(r.height, y0 + (rect?.h ?? r.height)) - y0);
  const out = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = pixelAt(r, x0 + x, y0 + y);
      const o = (y * w + x) * 3;
      out[o] = p >>> 16;
      out[o + 1] = (p >>> 8) & 0xff;
      out[o + 2] = p & 0xff;
    }
  }
  return { width: w, height: h, layout: 'rgb', data: out };
}

/** Writes an image as PNG (for debugging and reports). */
export async function writePng(img: AnyImage, path: string): Promise<void> {
  const rgb = cropToRgb(img);
  await sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } }).png().toFile(path);
}

export interface CompareOptions {
  /** Largest accepted |a−b| per channel (default 0: exact). */
  tolerance?: number;
  /** Pixels allowed to exceed the tolerance (default 0), e.g. a cursor drawn by a viewer. */
  allowDiffering?: number;
  /** Compare only this area of `a` (default: all of `a`; sizes must then be equal). */
  region?: Rect;
  /** Where `region` lies in `b`, if not at the same place (e.g. a viewer window offset). */
  offsetInB?: { x: number; y: number };
  /** How many differing positions to list in the message (default 8). */
  maxReported?: number;
}

/** One differing pixel, as 0xRRGGBB values. */
export interface PixelDiff {
  x: number;
  y: number;
  a: number;
  b: number;
}

export interface CompareResult {
  /** True when at most `allowDiffering` pixels exceed the tolerance. */
  match: boolean;
  /** Pixels compared. */
  compared: number;
  /** Pixels with some channel beyond the tolerance. */
  differing: number;
  /** Largest channel delta seen anywhere (also among pixels within tolerance). */
  maxDelta: number;
  /** Mean absolute channel delta over all compared pixels. */
  meanDelta: number;
  /** The first differing pixels (in `a`'s coordinates), row-major. */
  first: PixelDiff[];
  /** A one-paragraph human summary. */
  summary: string;
}

const hex = (v: number): string => '#' + v.toString(16).padStart(6, '0');

/** Compares `a` (the expectation) with `b`. Pure and synchronous. */
export function compareImages(a: AnyImage, b: AnyImage, options: CompareOptions = {}): CompareResult {
  const ra = toRawImage(a);
  const rb = toRawImage(b);
  const tol = options.tolerance ?? 0;
  const allow = options.allowDiffering ?? 0;
  const maxReported = options.maxReported ?? 8;
  const region = options.region ?? { x: 0, y: 0, w: ra.width, h: ra.height };
  const off = options.offsetInB ?? { x: 0, y: 0 };
  if (!options.region && !options.offsetInB && (ra.width !== rb.width || ra.height !== rb.height)) {
    const summary = `size differs: expected ${ra.width}x${ra.height}, got ${rb.width}x${rb.height}`;
    return { match: false, compared: 0, differing: ra.width * ra.height, maxDelta: 255, meanDelta: 255, first: [], summary };
  }
  const fitsA = region.x >= 0 && region.y >= 0 && region.x + region.w <= ra.width && region.y + region.h <= ra.height;
  const fitsB = region.x + off.x >= 0 && region.y + off.y >= 0 && region.x + off.x + region.w <= rb.width && region.y + off.y + region.h <= rb.height;
  if (!fitsA || !fitsB) {
    throw new VncError(
      ErrorCode.Config,
      `compare region ${region.w}x${region.h}+${region.x}+${region.y} (offset ${off.x},${off.y}) outside ${ra.width}x${ra.height} / ${rb.width}x${rb.height}`,
    );
  }
  let differing = 0;
  let maxDelta = 0;
  let sum = 0;
  const first: PixelDiff[] = [];
  for (let y = region.y; y < region.y + region.h; y++) {
    for (let x = region.x; x < region.x + region.w; x++) {
      const pa = pixelAt(ra, x, y);
      const pb = pixelAt(rb, x + off.x, y + off.y);
      if (pa === pb) continue;
      const dr = Math.abs((pa >>> 16) - (pb >>> 16));
      const dg = Math.abs(((pa >>> 8) & 0xff) - ((pb >>> 8) & 0xff));
      const db = Math.abs((pa & 0xff) - (pb & 0xff));
      const d = Math.max(dr, dg, db);
      sum += dr + dg + db;
      if (d > maxDelta) maxDelta = d;
      if (d > tol) {
        differing++;
        if (first.length < maxReported) first.push({ x, y, a: pa, b: pb });
      }
    }
  }
  const compared = region.w * region.h;
  const meanDelta = compared ? sum / (compared * 3) : 0;
  const match = differing <= allow;
  const where = first.map((p) => `(${p.x},${p.y}) ${hex(p.a)}≠${hex(p.b)}`).join(', ');
  const summary =
    `${differing} of ${compared} pixels differ by more than ${tol} per channel` +
    (allow ? ` (${allow} allowed)` : '') +
    `; max delta ${maxDelta}, mean delta ${meanDelta.toFixed(3)}` +
    (first.length ? `; first: ${where}` : '');
  return { match, compared, differing, maxDelta, meanDelta, first, summary };
}

export interface ExpectMatchOptions extends CompareOptions {
  /** Name used in the message and the debug file names. */
  label?: string;
  /** Write a.png, b.png and diff.png to a temp dir on mismatch (default true). */
  writeDiff?: boolean;
}

/**
 * Throws (with the summary and, by default, the path of debug PNGs) unless the images match.
 * Returns the comparison so a test can also assert on e.g. `maxDelta`.
 */
export async function expectImagesMatch(a: AnyImage, b: AnyImage, options: ExpectMatchOptions = {}): Promise<CompareResult> {
  const result = compareImages(a, b, options);
  if (result.match) return result;
  let where = '';
  if (options.writeDiff ?? true) {
    try {
      where = `; debug images in ${await writeDiffImages(a, b, options)}`;
    } catch (e) {
      where = `; could not write debug images: ${(e as Error).message}`;
    }
  }
  throw new VncError(ErrorCode.Protocol, `${options.label ?? 'images'} do not match: ${result.summary}${where}`);
}

/**
 * Writes `a.png`, `b.png` (both cropped to the compared area) and `diff.png` (matching pixels as
 * a faded copy of `a`, differing ones in red) to a fresh temp directory and returns its path.
 */
export async function writeDiffImages(a: AnyImage, b: AnyImage, options: ExpectMatchOptions = {}): Promise<string> {
  const ra = toRawImage(a);
  const region = options.region ?? { x: 0, y: 0, w: ra.width, h: ra.height };
  const off = options.offsetInB ?? { x: 0, y: 0 };
  const label = (options.label ?? 'images').replace(/[^a-zA-Z0-9_-]+/g, '_').slice(0, 60);
  const dir = join(tmpdir(), 'vnc-runner-diffs', `${label}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  const ca = cropToRgb(a, region);
  const cb = cropToRgb(b, { x: region.x + off.x, y: region.y + off.y, w: region.w, h: region.h });
  await writePng(ca, join(dir, 'a.png'));
  if (cb.width > 0 && cb.height > 0) await writePng(cb, join(dir, 'b.png'));
  if (cb.width === ca.width && cb.height === ca.height) {
    const tol = options.tolerance ?? 0;
    const diff = Buffer.alloc(ca.data.length);
    for (let i = 0; i < ca.data.length; i += 3) {
      const d = Math.max(
        Math.abs(ca.data[i]! - cb.data[i]!),
        Math.abs(ca.data[i + 1]! - cb.data[i + 1]!),
        Math.abs(ca.data[i + 2]! - cb.data[i + 2]!),
      );
      if (d > tol) {
        diff[i] = 255;
      } else {
        const grey = Math.round((ca.data[i]! + ca.data[i + 1]! + ca.data[i + 2]!) / 12) + 160;
        diff[i] = diff[i + 1] = diff[i + 2] = grey;
      }
    }
    await writePng({ width: ca.width, height: ca.height, layout: 'rgb', data: diff }, join(dir, 'diff.png'));
  }
  return dir;
}

/**
 * Does a test client's framebuffer (`RfbClient.fb`: BGRX, rows of `truth.width` pixels) show
 * exactly `truth` (e.g. `xwdRoot`)? The X byte is ignored. Cheap enough to poll in a loop.
 */
export function clientShows(fb: Buffer, truth: PixelBuffer): boolean {
  if (fb.length !== truth.width * truth.height * 4) return false;
  const a = new Uint32Array(fb.buffer, fb.byteOffset, fb.length / 4);
  for (let y = 0; y < truth.height; y++)
    for (let x = 0; x < truth.width; x++) if (((a[y * truth.width + x]! ^ truth.pixels[y * truth.stride + x]!) & 0xffffff) !== 0) return false;
  return true;
}
