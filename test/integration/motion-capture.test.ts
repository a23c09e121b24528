/**
 * Motion detection against a real Xvfb: an xterm scrolling lines and a window moved with
 * `xdotool windowmove` (no window manager). `pollMotion()` must report copies with the right
 * delta, and a client-side framebuffer built only from what it reports (copies applied from a
 * snapshot, then the changed pixels) must equal `xwd -root` after every step.
 */
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { X11ScreenSource, type MotionPoll } from '../../capture/x11-screen-source.js';
import { fillRoot, startXvfb, xEnv, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';
import { ProcessScope, runOk, sleep, waitFor } from '../helpers/processes.js';

const W = 1024;
const H = 768;
/** xterm's default font is `fixed` 6×13 (built into the X server). */
const LINE_H = 13;

function clone(b: PixelBuffer): PixelBuffer {
  const c = createPixelBuffer(b.width, b.height);
  for (let y = 0; y < b.height; y++) b.data.copy(c.data, y * c.width * 4, y * b.stride * 4, (y * b.stride + b.width) * 4);
  return c;
}

/** RGB equality (the X byte of BGRX is not part of the image). Returns the first differing pixel. */
function firstDiff(a: PixelBuffer, b: PixelBuffer): string | null {
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++)
      if (((a.pixels[y * a.stride + x]! ^ b.pixels[y * b.stride + x]!) & 0xffffff) !== 0) return `(${x}, ${y})`;
  return null;
}

/** What a viewer does with one poll: copies from a snapshot of its framebuffer, then pixels. */
function applyPoll(client: PixelBuffer, poll: MotionPoll, frame: PixelBuffer): void {
  const snap = clone(client);
  for (const c of poll.copies) {
    for (let y = 0; y < c.dest.h; y++) {
      const s = ((c.dest.y + y - c.dy) * snap.stride + c.dest.x - c.dx) * 4;
      snap.data.copy(client.data, ((c.dest.y + y) * client.stride + c.dest.x) * 4, s, s + c.dest.w * 4);
    }
  }
  for (const r of poll.changed) {
    for (let y = r.y; y < r.y + r.h; y++) {
      frame.data.copy(client.data, (y * client.stride + r.x) * 4, (y * frame.stride + r.x) * 4, (y * frame.stride + r.x + r.w) * 4);
    }
  }
}

describe('motion detection on a real X server', () => {
  const scope = new ProcessScope();
  let xvfb: XvfbHandle;
  let src: X11ScreenSource;
  let client: PixelBuffer;
  const polls: MotionPoll[] = [];

  /** Polls until two polls in a row report nothing, applying everything to `client`. */
  async function settle(): Promise<MotionPoll[]> {
    const got: MotionPoll[] = [];
    let quiet = 0;
    await waitFor(
      async () => {
        const p = await src.pollMotion();
        if (p.copies.length || p.changed.length) {
          applyPoll(client, p, src.framebuffer);
          got.push(p);
          quiet = 0;
        } else quiet++;
        return quiet >= 2;
      },
      { timeoutMs: 10_000, intervalMs: 40, what: 'the screen to settle' },
    );
    polls.push(...got);
    return got;
  }

  async function expectClientMatchesX(): Promise<void> {
    const truth = await xwdRoot(xvfb.display);
    expect(firstDiff(client, truth)).toBeNull();
  }

  beforeAll(async () => {
    xvfb = await startXvfb({ width: W, height: H, scope });
    await fillRoot(xvfb.display, 'desktop');
    // A generous budget: this test checks detection on a loaded 2-core machine, not speed.
    src = await X11ScreenSource.open({ display: xvfb.display, motion: { budgetMs: 2_000 } });
    client = clone(src.framebuffer);
    await settle();
  });
  afterAll(async () => {
    await src?.close();
    await scope.dispose();
  });

  it('reports a scrolling xterm as vertical copies, and the rebuilt screen equals xwd', async () => {
    const file = `/tmp/motion-xterm-${process.pid}.txt`;
    writeFileSync(file, '');
    scope.defer('remove xterm feed', () => rmSync(file, { force: true }));
    const env = xEnv(xvfb.display);
    const term = scope.spawn('xterm', ['-geometry', '80x30+40+30', '-e', 'tail', '-s', '0.05', '-n', '+1', '-f', file], { env });
    await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 10_000, env });
    let n = 0;
    const line = (): string => `${String(n).padStart(4, '0')} ${'lorem ipsum dolor sit amet consectetur '.slice(n % 13)}${'#'.repeat(n % 29)}`;
    // Fill the terminal first so every further line scrolls it.
    for (; n < 40; n++) appendFileSync(file, `${line()}\n`);
    await waitFor(async () => (await settle()).length > 0, { timeoutMs: 10_000, what: 'the xterm to draw' });
    await settle();
    await expectClientMatchesX();

    const before = polls.length;
    const motionFirstBefore = src.stats.motionFirst;
    for (let step = 0; step < 8; step++) {
      const k = 1 + (step % 3); // 1, 2 or 3 lines per step
      for (let i = 0; i < k; i++, n++) appendFileSync(file, `${line()}\n`);
      await sleep(150); // let tail and xterm draw
      await settle();
      await expectClientMatchesX();
    }
    const copies = polls.slice(before).flatMap((p) => p.copies);
    expect(copies.length).toBeGreaterThanOrEqual(4);
    // Found from the damage hints, before any in-place comparison (the exactness checks above
    // cover that path); some polls may be verify polls, which compare in place first.
    expect(src.stats.motionFirst - motionFirstBefore).toBeGreaterThanOrEqual(2);
    for (const c of copies) {
      expect(c.dx).toBe(0);
      expect(c.dy).toBeLessThan(0);
      expect(-c.dy % LINE_H).toBe(0);
      // Over the terminal's text (80×30 cells of 6×13 at +40+30). It may reach further where
      // the wallpaper also matches under the shift (flat areas): harmless, and verified.
      const overlap = Math.min(c.dest.x + c.dest.w, 40 + 80 * 6) - Math.max(c.dest.x, 42);
      expect(overlap).toBeGreaterThanOrEqual(400);
      expect(c.dest.h).toBeGreaterThanOrEqual(20 * LINE_H);
    }
    await term.kill();
    await settle();
    await expectClientMatchesX();
  });

  it('reports a window moved with xdotool windowmove as a copy by the move delta', async () => {
    const env = xEnv(xvfb.display);
    // Text-filled xterm as the window; -fg/-bg differ from the wallpaper.
    const file = `/tmp/motion-window-${process.pid}.txt`;
    writeFileSync(file, Array.from({ length: 14 }, (_, i) => `window line ${i} ${'=+-'.repeat(i)}`).join('\n'));
    scope.defer('remove window feed', () => rmSync(file, { force: true }));
    const term = scope.spawn('xterm', ['-geometry', '50x15+200+150', '-bg', '#fffff0', '-fg', '#202080', '-e', 'tail', '-n', '+1', '-f', file], { env });
    const found = await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 10_000, env });
    const wid = found.stdout.toString('utf8').trim().split('\n')[0]!;
    await sleep(300);
    await settle();
    await expectClientMatchesX();

    const before = polls.length;
    let x = 200;
    let y = 150;
    const steps = [[24, 16], [24, 16], [24, 16], [-40, 8], [-40, 8], [0, -30]] as const;
    for (const [dx, dy] of steps) {
      x += dx;
      y += dy;
      await runOk('xdotool', ['windowmove', '--sync', wid, String(x), String(y)], { timeoutMs: 10_000, env });
      await sleep(100);
      const got = await settle();
      const deltas = got.flatMap((p) => p.copies).map((c) => [c.dx, c.dy]);
      expect(deltas).toContainEqual([dx, dy]);
      await expectClientMatchesX();
    }
    const copies = polls.slice(before).flatMap((p) => p.copies);
    // The moved window (50×15 cells ≈ 304×199 px) travels as one copy per step.
    for (const c of copies) expect(c.dest.w * c.dest.h).toBeGreaterThan(250 * 150);
    await term.kill();
    await settle();
    await expectClientMatchesX();
    const s = src.motionStats!;
    console.log(`motion (Xvfb ${W}x${H}): ${s.calls} detections, ${s.copiesFound} copies, last ${s.lastMs.toFixed(1)} ms, ${s.budgetExhausted} over budget`);
  });
});
