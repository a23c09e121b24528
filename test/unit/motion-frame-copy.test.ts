/**
 * frame-copy.ts: CopyRect semantics on a frame (overlapping moves in every direction), checked
 * against a naive copy from a snapshot, and the tests' exact copy oracle (helpers/copy-oracle).
 */
import { describe, expect, it } from 'vitest';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { applyCopy, copyInFrame, type FrameCopy } from '../../capture/frame-copy.js';
import { verifyCopy } from '../helpers/copy-oracle.js';

function noise(w: number, h: number, seed: number, stride = w): PixelBuffer {
  const b = createPixelBuffer(w, h, stride);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < b.pixels.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    b.pixels[i] = s;
  }
  return b;
}

/** Reference: every dest pixel read from an untouched snapshot. */
function naiveCopy(frame: PixelBuffer, c: FrameCopy): PixelBuffer {
  const out = createPixelBuffer(frame.width, frame.height, frame.stride);
  frame.data.copy(out.data);
  for (let y = 0; y < c.dest.h; y++)
    for (let x = 0; x < c.dest.w; x++)
      out.pixels[(c.dest.y + y) * out.stride + c.dest.x + x] = frame.pixels[(c.dest.y + y - c.dy) * frame.stride + c.dest.x + x - c.dx]!;
  return out;
}

describe('applyCopy', () => {
  const deltas = [
    [0, 1], [0, -1], [1, 0], [-1, 0], [3, 5], [-3, 5], [3, -5], [-3, -5], [0, 17], [20, 0], [-20, -17],
  ] as const;
  for (const [dx, dy] of deltas) {
    it(`matches a copy from a snapshot for overlapping delta (${dx}, ${dy})`, () => {
      const frame = noise(64, 48, 7, 70); // stride > width on purpose
      const copy: FrameCopy = { dest: { x: 22, y: 19, w: 20, h: 12 }, dx, dy };
      const want = naiveCopy(frame, copy);
      applyCopy(frame, copy);
      expect(frame.data.equals(want.data)).toBe(true);
    });
  }

  it('refuses copies whose source or destination leaves the frame', () => {
    const frame = noise(32, 32, 3);
    expect(() => applyCopy(frame, { dest: { x: 0, y: 0, w: 10, h: 10 }, dx: 1, dy: 0 })).toThrow(RangeError);
    expect(() => applyCopy(frame, { dest: { x: 25, y: 0, w: 10, h: 10 }, dx: 0, dy: 0 })).toThrow(RangeError);
    expect(copyInFrame({ dest: { x: 0, y: 0, w: 0, h: 10 }, dx: 0, dy: 0 }, 32, 32)).toBe(false);
    expect(copyInFrame({ dest: { x: 1.5, y: 0, w: 4, h: 4 }, dx: 0, dy: 0 }, 32, 32)).toBe(false);
    expect(copyInFrame({ dest: { x: 4, y: 4, w: 4, h: 4 }, dx: 4, dy: -4 }, 32, 32)).toBe(true);
  });
});

describe('verifyCopy', () => {
  it('accepts an exact shift and rejects a single differing byte anywhere in it', () => {
    const prev = noise(80, 60, 11);
    const copy: FrameCopy = { dest: { x: 10, y: 5, w: 50, h: 40 }, dx: -7, dy: 3 };
    const cur = naiveCopy(prev, copy);
    expect(verifyCopy(prev, cur, copy)).toBe(true);
    for (const [x, y, byte] of [[10, 5, 0], [59, 44, 3], [30, 20, 1]] as const) {
      const bad = createPixelBuffer(80, 60);
      cur.data.copy(bad.data);
      const at = (y * 80 + x) * 4 + byte;
      bad.data[at] = bad.data[at]! ^ 1;
      expect(verifyCopy(prev, bad, copy)).toBe(false);
    }
    // Pixels outside the destination do not matter.
    const outside = createPixelBuffer(80, 60);
    cur.data.copy(outside.data);
    outside.pixels[0] = outside.pixels[0]! ^ 0xffffff;
    expect(verifyCopy(prev, outside, copy)).toBe(true);
    // A copy leaving the frame is never "verified".
    expect(verifyCopy(prev, cur, { dest: { x: 0, y: 0, w: 10, h: 10 }, dx: 1, dy: 0 })).toBe(false);
  });
});
