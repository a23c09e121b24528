/**
 * X11ScreenSource against a real Xvfb: first frame, verified change rectangles after real
 * drawing by another X client, cursor shapes through XFIXES, RANDR resize, and the loss of the
 * X server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import type { Rect } from '../../core/geometry.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { isVncError, ErrorCode, type VncError } from '../../core/errors.js';
import { X11ScreenSource, type CursorImage } from '../../capture/x11-screen-source.js';
import { fillRoot, startXterm, startXvfb, xEnv, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';
import { runOk, waitFor, withTimeout } from '../helpers/processes.js';

function rgbEqual(a: PixelBuffer, b: PixelBuffer): boolean {
  if (a.width !== b.width || a.height !== b.height) return false;
  for (let y = 0; y < a.height; y++)
    for (let x = 0; x < a.width; x++)
      if (((a.pixels[y * a.stride + x]! ^ b.pixels[y * b.stride + x]!) & 0xffffff) !== 0) return false;
  return true;
}

function union(rects: readonly Rect[]): Rect | null {
  if (rects.length === 0) return null;
  const x1 = Math.min(...rects.map((r) => r.x));
  const y1 = Math.min(...rects.map((r) => r.y));
  const x2 = Math.max(...rects.map((r) => r.x + r.w));
  const y2 = Math.max(...rects.map((r) => r.y + r.h));
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

/** A second X client that draws into an override-redirect window covering the screen. */
async function openPainter(display: string, w: number, h: number): Promise<{ fill(r: Rect, rgb: number): Promise<void>; conn: X11Connection }> {
  const conn = await openX11({ display });
  const X = conn.X;
  const wid = X.AllocID();
  X.CreateWindow(wid, conn.root, 0, 0, w, h, 0, 0, 0, 0, { backgroundPixel: 0x202020, overrideRedirect: 1 });
  X.MapWindow(wid);
  const gc = X.AllocID();
  X.CreateGC(gc, wid, { foreground: 0, graphicsExposures: 0 });
  await conn.sync();
  return {
    conn,
    async fill(r, rgb) {
      X.ChangeGC(gc, { foreground: rgb });
      X.PolyFillRectangle(wid, gc, [r.x, r.y, r.w, r.h]);
      await conn.sync();
    },
  };
}

/** Polls until a poll reports something; returns everything reported up to then plus one more poll. */
async function pollUntilChanged(src: X11ScreenSource, timeoutMs = 3000): Promise<Rect[]> {
  const all: Rect[] = [];
  await waitFor(
    async () => {
      const r = await src.poll();
      all.push(...r);
      return r.length > 0;
    },
    { timeoutMs, intervalMs: 10, what: 'poll() to report a change' },
  );
  all.push(...(await src.poll()));
  return all;
}

for (const variant of [
  { name: 'SHM + DAMAGE hints', useShm: true, useDamage: true },
  { name: 'GetImage, no DAMAGE', useShm: false, useDamage: false },
]) {
  describe(`X11ScreenSource (${variant.name})`, () => {
    let xvfb: XvfbHandle;
    let src: X11ScreenSource;

    beforeAll(async () => {
      xvfb = await startXvfb({ width: 640, height: 480 });
      await fillRoot(xvfb.display, 'desktop');
      // A long verify interval so the hint-limited path is what these tests exercise.
      src = await X11ScreenSource.open({
        display: xvfb.display,
        useShm: variant.useShm,
        useDamage: variant.useDamage,
        verifyIntervalMs: 60_000,
      });
    });
    afterAll(async () => {
      await src?.close();
      await xvfb?.close();
    });

    it('holds real pixels right after open; the first poll reports only what changed since', async () => {
      expect(src.method).toBe(variant.useShm ? 'shm' : 'getimage');
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);
      // Clients are sent this frame: reporting the whole screen again would send it twice.
      expect(await src.poll()).toEqual([]);
      expect(await src.poll()).toEqual([]);
    });

    it('reports exactly the pixels of a drawn rectangle, and the framebuffer follows', async () => {
      const painter = await openPainter(xvfb.display, 640, 480);
      try {
        // Mapping the full-screen window changes most of the screen.
        const mapped = union(await pollUntilChanged(src));
        expect(mapped).not.toBeNull();
        expect(await src.poll()).toEqual([]);

        const before = { ...src.stats };
        await painter.fill({ x: 100, y: 50, w: 40, h: 30 }, 0x12ab34);
        const rects = await pollUntilChanged(src);
        if (variant.useDamage) {
          // Found through the hints: no full comparison, and the idle poll captured nothing.
          // Only the damaged tiles' rows and columns were captured: 96..144 × 48..80, not
          // whole rows of the screen (unless a verify slice, whole rows, came with it).
          expect(src.stats.bandCaptures).toBeGreaterThan(before.bandCaptures);
          if (src.stats.verifiedSlices === before.verifiedSlices) {
            expect(src.stats.bandPixels - before.bandPixels).toBe(48 * 32 * (src.stats.bandCaptures - before.bandCaptures));
          }
          expect(src.stats.fullCompares).toBe(before.fullCompares);
          expect(src.stats.limitedCompares).toBeGreaterThan(before.limitedCompares);
          expect(src.stats.skipped).toBeGreaterThan(before.skipped);
        } else {
          expect(src.stats.limitedCompares).toBe(0);
        }
        // Found in tiles 6..8 × 3..4 (96..144 × 48..80), then trimmed to the changed pixels.
        expect(rects).toEqual([{ x: 100, y: 50, w: 40, h: 30 }]);
        expect(src.framebuffer.pixels[60 * src.framebuffer.stride + 120]! & 0xffffff).toBe(0x12ab34);
        expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);

        // Two far-apart changes stay two rectangles rather than their bounding box, and with
        // hints they are captured as two bands of one tile each, not the rows between.
        // The first poll must see both hints: a poll that already holds one skips its round
        // trip, so if the second DamageNotify were still unread it would take a poll of its own
        // (one band each). Wait until both notifies have been read before polling.
        const beforeTwo = { ...src.stats };
        let notified = 0;
        src.setHandlers({ changed: () => notified++ });
        await painter.fill({ x: 0, y: 0, w: 5, h: 5 }, 0xff0000);
        await painter.fill({ x: 630, y: 470, w: 10, h: 10 }, 0x0000ff);
        if (variant.useDamage) await waitFor(() => notified >= 2, { timeoutMs: 3000, what: 'both DamageNotify events' });
        src.setHandlers({});
        const two = await pollUntilChanged(src);
        expect([...two].sort((a, b) => a.y - b.y)).toEqual([
          { x: 0, y: 0, w: 5, h: 5 },
          { x: 630, y: 470, w: 10, h: 10 },
        ]);
        if (variant.useDamage) {
          expect(src.stats.bandsCaptured - beforeTwo.bandsCaptured).toBe(2 * (src.stats.bandCaptures - beforeTwo.bandCaptures));
          if (src.stats.verifiedSlices === beforeTwo.verifiedSlices) {
            expect(src.stats.bandPixels - beforeTwo.bandPixels).toBe(2 * 16 * 16 * (src.stats.bandCaptures - beforeTwo.bandCaptures));
          }
          expect(src.stats.fullCompares).toBe(beforeTwo.fullCompares);
        }
        expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);

        // Drawing the same colour again changes no pixel: damage fires, the diff says no.
        await painter.fill({ x: 100, y: 50, w: 40, h: 30 }, 0x12ab34);
        expect(await src.poll()).toEqual([]);
      } finally {
        await painter.conn.close();
      }
      await pollUntilChanged(src); // the window went away
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);
    });

    it('stays pixel-exact through many small and large changes (one or more bands, and full captures)', async () => {
      const painter = await openPainter(xvfb.display, 640, 480);
      try {
        await pollUntilChanged(src);
        let seed = 99;
        const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
        for (let i = 0; i < 24; i++) {
          // Mostly small (a glyph, a cursor), sometimes tall enough to force a full capture;
          // often several far apart before one poll (captured as separate bands).
          for (let k = 1 + rnd(3); k > 0; k--) {
            const w = 1 + rnd(i % 5 === 4 ? 600 : 40);
            const h = 1 + rnd(i % 5 === 4 ? 400 : 20);
            await painter.fill({ x: rnd(640 - w), y: rnd(480 - h), w, h }, rnd(0xffffff));
          }
          await pollUntilChanged(src);
          expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display)), `step ${i}`).toBe(true);
        }
      } finally {
        await painter.conn.close();
      }
      await pollUntilChanged(src);
    });

    it('exposes the cursor as non-premultiplied ARGB and reports shape changes', async () => {
      const initial = src.cursor;
      expect(initial).not.toBeNull();
      checkCursor(initial!);
      const seen: CursorImage[] = [];
      src.setHandlers({ cursor: (img) => seen.push(img) });
      const env = xEnv(xvfb.display);
      await runOk('xdotool', ['mousemove', '600', '450'], { timeoutMs: 5000, env });
      const term = await startXterm(xvfb.display, { file: `/tmp/capture-cursor-${process.pid}.txt`, geometry: '20x5+0+0' });
      try {
        await runOk('xdotool', ['mousemove', '20', '20'], { timeoutMs: 5000, env });
        await waitFor(() => seen.length > 0, { timeoutMs: 5000, what: 'a CursorNotify for the xterm I-beam' });
        const ibeam = seen[seen.length - 1]!;
        checkCursor(ibeam);
        expect(ibeam.argb).not.toEqual(initial!.argb);
        expect(src.cursor).toBe(ibeam);
      } finally {
        await term.close();
        src.setHandlers({});
      }
    });
  });
}

describe('X11ScreenSource change hints', () => {
  it('reports drawing at once after the first poll, where things had been drawn before it', async () => {
    // Above the NonEmpty level the X server reports only drawing that grows the damage region
    // (and Xvfb reports nothing at all before the first Subtract). Drawing before the first
    // poll (a full capture and comparison) is in that region; unless that capture clears it,
    // drawing there again is silent, and only a later safety poll finds it.
    const xvfb = await startXvfb({ width: 320, height: 240 });
    let hints = 0;
    // The painter's window first: mapping it repaints the screen.
    const painter = await openPainter(xvfb.display, 320, 240);
    const src = await X11ScreenSource.open({ display: xvfb.display, verifyIntervalMs: 60_000, handlers: { changed: () => hints++ } });
    try {
      await painter.fill({ x: 10, y: 10, w: 100, h: 50 }, 0x112233);
      // Drawn after open, before any poll: the first poll finds exactly it.
      expect(await src.poll()).toEqual([{ x: 10, y: 10, w: 100, h: 50 }]);
      hints = 0;
      await painter.fill({ x: 20, y: 20, w: 30, h: 20 }, 0x445566);
      await waitFor(() => hints > 0, { timeoutMs: 3000, what: 'a change hint for drawing after the full frame' });
      expect(await pollUntilChanged(src)).toEqual([{ x: 20, y: 20, w: 30, h: 20 }]);
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);
    } finally {
      await painter.conn.close();
      await src.close();
      await xvfb.close();
    }
  });
});

describe('X11ScreenSource verification against missed damage', () => {
  it('verifies a slice at every poll that comes (nearly) one slice interval after the last', async () => {
    // The frame clock's idle polls come at the slice interval, and a timer may fire a little
    // early: such a poll must still verify, or the cycle would stretch to twice its length.
    const xvfb = await startXvfb({ width: 320, height: 256 });
    await fillRoot(xvfb.display, 'desktop');
    // 8 slices, one due every 100 ms; polls every 95 ms.
    const src = await X11ScreenSource.open({ display: xvfb.display, verifyIntervalMs: 800 });
    try {
      await src.poll(); // the first poll: a full comparison
      await new Promise((r) => setTimeout(r, 110));
      await src.poll(); // verifies a slice: the cycle starts here
      const before = src.stats.verifiedSlices;
      for (let i = 0; i < 6; i++) {
        await new Promise((r) => setTimeout(r, 95));
        expect(await src.poll()).toEqual([]);
      }
      expect(src.stats.verifiedSlices - before).toBe(6);
    } finally {
      await src.close();
      await xvfb.close();
    }
  });

  it('compares one slice of rows per interval in full, so a change no hint covered is found within one cycle', async () => {
    const xvfb = await startXvfb({ width: 320, height: 256 });
    await fillRoot(xvfb.display, 'desktop');
    // 8 slices of 32 rows, one due every 10 ms.
    const src = await X11ScreenSource.open({ display: xvfb.display, verifyIntervalMs: 80 });
    try {
      await src.poll(); // the first poll: a full comparison
      // Settle: the damage state right after open asks for one full comparison.
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 12));
        expect(await src.poll()).toEqual([]);
      }
      // Make the framebuffer disagree with the screen where DAMAGE will never report anything:
      // what a missed damage event leaves behind.
      const fb = src.framebuffer;
      const truth = fb.pixels[200 * fb.stride + 300]!;
      fb.pixels[200 * fb.stride + 300] = truth ^ 0xffffff;
      const before = { ...src.stats };
      const found: Rect[] = [];
      for (let i = 0; i < 20 && !found.length; i++) {
        await new Promise((r) => setTimeout(r, 12));
        found.push(...(await src.poll()));
      }
      expect(found).toEqual([{ x: 300, y: 200, w: 1, h: 1 }]);
      expect(src.framebuffer.pixels[200 * fb.stride + 300]).toBe(truth);
      // Found by slices (hint-limited comparisons plus one slice each), not by full comparisons,
      // and reported as a damage miss.
      expect(src.stats.verifiedSlices - before.verifiedSlices).toBeGreaterThanOrEqual(1);
      expect(src.stats.verifiedSlices - before.verifiedSlices).toBeLessThanOrEqual(9);
      expect(src.stats.fullCompares).toBe(before.fullCompares);
      expect(src.stats.missedTiles).toBeGreaterThan(before.missedTiles);
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);
    } finally {
      await src.close();
      await xvfb.close();
    }
  });
});

describe('X11ScreenSource bell', () => {
  it('reports a core XBell from another client, merging bursts', async () => {
    const xvfb = await startXvfb({ width: 320, height: 200 });
    let bells = 0;
    const src = await X11ScreenSource.open({ display: xvfb.display, handlers: { bell: () => bells++ } });
    const other = await openX11({ display: xvfb.display });
    try {
      other.X.Bell(0);
      await other.sync();
      await waitFor(() => bells > 0, { timeoutMs: 3000, what: 'the bell handler' });
      expect(bells).toBe(1);
      // Ten bells at once arrive within the 100 ms merge window: at most a couple get through.
      for (let i = 0; i < 10; i++) other.X.Bell(0);
      await other.sync();
      await src.poll(); // a round trip on the source's connection: its events have been read
      expect(bells).toBeGreaterThanOrEqual(1);
      expect(bells).toBeLessThanOrEqual(3);
    } finally {
      await other.close();
      await src.close();
      await xvfb.close();
    }
  });
});

function checkCursor(c: CursorImage): void {
  expect(c.width).toBeGreaterThan(0);
  expect(c.height).toBeGreaterThan(0);
  expect(c.width).toBeLessThanOrEqual(64);
  expect(c.height).toBeLessThanOrEqual(64);
  expect(c.argb.length).toBe(c.width * c.height);
  expect(c.hotX).toBeLessThan(c.width);
  expect(c.hotY).toBeLessThan(c.height);
  let opaque = 0;
  let clear = 0;
  for (const p of c.argb) {
    const a = p >>> 24;
    if (a === 255) opaque++;
    if (a === 0) {
      clear++;
      expect(p).toBe(0); // transparent pixels carry no colour
    }
  }
  expect(opaque).toBeGreaterThan(0);
  expect(clear).toBeGreaterThan(0);
}

describe('X11ScreenSource resize and loss of the X server', () => {
  it('follows a RANDR mode switch and reports a fatal error when Xvfb dies', async () => {
    const xvfb = await startXvfb({ width: 640, height: 480 });
    const resizes: Array<[number, number]> = [];
    let fatal: VncError | null = null;
    const src = await X11ScreenSource.open({
      display: xvfb.display,
      handlers: { resize: (w, h) => resizes.push([w, h]), fatal: (e) => (fatal = e) },
    });
    try {
      expect(await src.poll()).toEqual([]);
      const env = xEnv(xvfb.display);
      const xr = (args: string[]) => runOk('xrandr', args, { timeoutMs: 10_000, env });
      await xr(['--newmode', '320x240', '0', '320', '0', '0', '0', '240', '0', '0', '0']);
      await xr(['--addmode', 'screen', '320x240']);
      await xr(['--output', 'screen', '--mode', '320x240']);
      await waitFor(() => resizes.length > 0, { timeoutMs: 5000, what: 'the resize callback' });
      expect(resizes[0]).toEqual([320, 240]);
      expect([src.framebuffer.width, src.framebuffer.height]).toEqual([320, 240]);
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);
      // The frame grabbed at the resize is current and the clients were sent all of it with the
      // new size: the poll after it finds nothing new.
      expect(await src.poll()).toEqual([]);

      await xr(['--output', 'screen', '--mode', '640x480']);
      await waitFor(() => resizes.length > 1, { timeoutMs: 5000, what: 'the second resize callback' });
      expect(resizes[1]).toEqual([640, 480]);
      expect(await src.poll()).toEqual([]);
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);

      // Our own RANDR resize (RFB SetDesktopSize): one handler call, pixels ready at once.
      expect(await src.setSize(400, 300)).toBe(0);
      expect(resizes.slice(2)).toEqual([[400, 300]]);
      expect([src.framebuffer.width, src.framebuffer.height]).toEqual([400, 300]);
      expect(rgbEqual(src.framebuffer, await xwdRoot(xvfb.display))).toBe(true);
      expect(await src.poll()).toEqual([]);
      // Larger than Xvfb's start size: invalid layout, nothing changes.
      expect(await src.setSize(800, 600)).toBe(3);
      expect(await src.setSize(640, 480)).toBe(0);
      await src.poll();
      expect(resizes.slice(2)).toEqual([[400, 300], [640, 480]]);
      // Same size again is a no-op success.
      expect(await src.setSize(640, 480)).toBe(0);
      expect(resizes).toHaveLength(4);

      await xvfb.close();
      await waitFor(() => fatal !== null, { timeoutMs: 5000, what: 'the fatal callback' });
      expect(isVncError(fatal, ErrorCode.Desktop)).toBe(true);
      expect(src.closed).toBe(true);
      await expect(src.poll()).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Desktop));
    } finally {
      await withTimeout(src.close(), 5000, 'source close');
      await xvfb.close();
    }
  });
});
