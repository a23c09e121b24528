/**
 * Joins vertically adjacent pieces that go out as the same kind of image (JPEG, RGB PNG) into
 * one image. Pieces are bounded (`split.ts`) so palette analysis and zlib work stay small, but
 * each sharp call costs about 1 ms of main-thread work and a thread-pool round trip whatever its
 * size, and every cut costs JPEG/PNG bytes at the seam: a 640×360 video frame used to go as four
 * JPEGs of 640×~100 (measured in the bench's video scene at JPEG quality 6: 4 sharp calls per
 * frame). Runs stay in one column (same x and width) and under `MAX_IMAGE_AREA` pixels.
 */
import type { Rect } from '../../core/geometry.js';

/**
 * Largest image made by joining pieces: a 1920-wide screen goes in two halves. It bounds the
 * main-thread RGB copy (3 MB) and keeps a JPEG at quality 97 on noise (2.3 bytes per pixel,
 * measured) well inside Tight's 4 MB compact-length limit.
 */
export const MAX_IMAGE_AREA = 1 << 20;

/** A run of adjacent pieces of one kind: the joined rectangle and the pieces it was made of. */
export interface ImageRun<K> {
  readonly kind: K;
  readonly rect: Rect;
  readonly pieces: readonly Rect[];
}

/**
 * Collects pieces in the order `splitRect` produces them. `add` returns the run that `piece`
 * could not extend (its kind differs, or it is not directly below, or the run would grow over
 * `maxArea`); `take` returns the last one. A caller encodes each returned run as one image.
 */
export class ImageRunBuilder<K> {
  private current: { kind: K; x: number; y: number; w: number; h: number; pieces: Rect[] } | null = null;

  constructor(private readonly maxArea = MAX_IMAGE_AREA) {}

  add(piece: Rect, kind: K): ImageRun<K> | null {
    const c = this.current;
    if (c && c.kind === kind && c.x === piece.x && c.w === piece.w && c.y + c.h === piece.y &&
      c.w * (c.h + piece.h) <= this.maxArea) {
      c.h += piece.h;
      c.pieces.push(piece);
      return null;
    }
    const done = this.take();
    this.current = { kind, x: piece.x, y: piece.y, w: piece.w, h: piece.h, pieces: [piece] };
    return done;
  }

  take(): ImageRun<K> | null {
    const c = this.current;
    this.current = null;
    return c && { kind: c.kind, rect: { x: c.x, y: c.y, w: c.w, h: c.h }, pieces: c.pieces };
  }
}
