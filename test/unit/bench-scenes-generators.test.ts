/**
 * The scene benchmark's content is generated, never downloaded: the generators must be pure
 * functions of their seed (same seed → same pixels and the same draw calls, so every server and
 * every run sees the same scene), must actually differ between seeds, and the web page's banded
 * rendering (what scrolling asks for) must equal one big render.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashingCanvas } from '../../bench/scenes/canvas.js';
import { createGlyphFont } from '../../bench/scenes/glyphs.js';
import { photoImage } from '../../bench/scenes/photo.js';
import { createPrng } from '../../bench/scenes/prng.js';
import { SCENE_NAMES, createScene, videoFrames, type SceneName } from '../../bench/scenes/scene-catalog.js';
import { logLine, typingText } from '../../bench/scenes/text-feed.js';
import { WebPage } from '../../bench/scenes/web-page.js';

const sha = (b: Buffer | Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Digest of a scene's setup and its first `frames` frames on a hashing canvas (small screen). */
async function sceneDigest(name: SceneName, seed: number, frames: number): Promise<{ digest: string; calls: number }> {
  const canvas = new HashingCanvas(960, 540);
  const scene = createScene(name, seed);
  await scene.setup(canvas);
  const afterSetup = canvas.calls;
  for (let i = 0; i < frames; i++) scene.frame(i);
  expect(canvas.calls, `${name} draws nothing per frame`).toBeGreaterThan(afterSetup);
  return { digest: canvas.digest(), calls: canvas.calls };
}

describe('scene generators', () => {
  it('prng: same seed, same stream; different seeds differ', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(sa);
    for (const v of sa) expect(v >= 0 && v < 1).toBe(true);
  });

  it('photo: deterministic per seed, continuous-tone, different per seed', () => {
    const a = photoImage(320, 180, 5);
    expect(a.length).toBe(320 * 180 * 4);
    expect(sha(photoImage(320, 180, 5))).toBe(sha(a));
    expect(sha(photoImage(320, 180, 6))).not.toBe(sha(a));
    const colours = new Set<number>();
    for (let i = 0; i < a.length; i += 4) colours.add(a.readUInt32LE(i) & 0xffffff);
    expect(colours.size).toBeGreaterThan(5000); // photo-like: palettes cannot hold it
  });

  it('video frames: deterministic, and consecutive frames differ', () => {
    const a = videoFrames(3, 3, 160, 90);
    const b = videoFrames(3, 3, 160, 90);
    expect(a.map(sha)).toEqual(b.map(sha));
    expect(sha(a[0]!)).not.toBe(sha(a[1]!));
  });

  it('glyph font: deterministic, blank space, antialiased edges', () => {
    const f = createGlyphFont(9);
    const g = createGlyphFont(9);
    expect(f.small.map(sha)).toEqual(g.small.map(sha));
    expect(f.small[32]!.every((v) => v === 0)).toBe(true);
    const levels = new Set(f.small.flatMap((m) => [...m]));
    expect(levels.size).toBeGreaterThan(2); // grey levels, not just on/off
  });

  it('web page: bands equal one big render, and the page is deterministic', () => {
    const page = new WebPage(640, 11);
    const whole = page.rows(0, 2400);
    const banded = Buffer.concat(Array.from({ length: 240 }, (_, k) => new WebPage(640, 11).rows(k * 10, 10)));
    expect(sha(banded)).toBe(sha(whole));
    const scrolled = page.rows(1000, 300);
    expect(sha(scrolled)).toBe(sha(whole.subarray(1000 * 640 * 4, 1300 * 640 * 4)));
    expect(sha(new WebPage(640, 12).rows(0, 2400))).not.toBe(sha(whole));
  });

  it('text: log lines and typed text are deterministic, printable and bounded', () => {
    for (let i = 0; i < 200; i++) {
      const line = logLine(1, i);
      expect(line).toBe(logLine(1, i));
      expect(line.length).toBeLessThanOrEqual(118);
      expect(line).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(logLine(1, 5)).not.toBe(logLine(2, 5));
    const t = typingText(4, 500);
    expect(t).toHaveLength(500);
    expect(t).toMatch(/^[a-z ]+$/);
    expect(typingText(4, 500)).toBe(t);
  });

  it.each(SCENE_NAMES.map((n) => [n]))('scene %s: same seed → same frames hash; another seed → another', async (name) => {
    const frames = 8;
    const a = await sceneDigest(name, 1, frames);
    const b = await sceneDigest(name, 1, frames);
    expect(b).toEqual(a);
    const c = await sceneDigest(name, 2, frames);
    expect(c.digest).not.toBe(a.digest);
  });

  it.each(SCENE_NAMES.map((n) => [n]))('scene %s: frame(0) resets it (a replay draws the same calls)', async (name) => {
    const canvas = new HashingCanvas(960, 540);
    const scene = createScene(name, 1);
    await scene.setup(canvas);
    canvas.partDigest();
    for (let i = 0; i < 6; i++) scene.frame(i);
    const first = canvas.partDigest();
    for (let i = 0; i < 6; i++) scene.frame(i);
    expect(canvas.partDigest()).toBe(first);
  });

  it('refuses to draw before setup', () => {
    expect(() => createScene('idle', 1).frame(0)).toThrow(/before setup/);
  });
});
