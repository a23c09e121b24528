import { describe, expect, it } from 'vitest';
import { UpdateState, copyRectsFor, orderCopyRects } from '../../server/updates/update-state.js';
import { Congestion } from '../../server/updates/congestion.js';
import type { Rect } from '../../core/geometry.js';
import { Region } from '../../core/region.js';
import { seededRandom } from '../helpers/chunked-feeder.js';

const W = 40;
const H = 30;

/** Applies an update to a model client framebuffer exactly as a VNC client would. */
function applyUpdate(client: Int32Array, server: Int32Array, u: ReturnType<UpdateState['take']>): void {
  if (u.copy) {
    // As the sender does: a fragmented copy may go as its bounding box when the pixels sent
    // after it cover the holes.
    for (const r of orderCopyRects(copyRectsFor(u.copy, u.changed, { x: 0, y: 0, w: W, h: H }), u.copy.dx, u.copy.dy)) {
      const tmp: number[] = [];
      for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) tmp.push(client[(r.y + y - u.copy.dy) * W + r.x + x - u.copy.dx]!);
      let i = 0;
      for (let y = 0; y < r.h; y++) for (let x = 0; x < r.w; x++) client[(r.y + y) * W + r.x + x] = tmp[i++]!;
    }
  }
  for (const r of u.changed.rects()) for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) client[y * W + x] = server[y * W + x]!;
}

describe('UpdateState', () => {
  it('keeps a model client pixel-exact through random scrolls, moves, damage and partial sends', () => {
    let totalCopies = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = seededRandom(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const server = new Int32Array(W * H).map(() => int(1000));
      const client = new Int32Array(W * H).fill(-1);
      const st = new UpdateState();
      const full: Rect = { x: 0, y: 0, w: W, h: H };
      st.addRequest(full, false);
      applyUpdate(client, server, st.take());
      let copiesSent = 0;
      for (let step = 0; step < 40; step++) {
        const op = int(3);
        if (op === 0) {
          // move a block by (dx, dy), exposing its old place as damage
          const w = 1 + int(W / 2), h = 1 + int(H / 2);
          const dx = int(11) - 5, dy = int(11) - 5;
          const x = Math.max(0, Math.min(W - w, int(W)));
          const y = Math.max(0, Math.min(H - h, int(H)));
          const dest = { x: Math.max(0, Math.min(W - w, x + dx)), y: Math.max(0, Math.min(H - h, y + dy)), w, h };
          const rdx = dest.x - x, rdy = dest.y - y;
          const old = server.slice();
          for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) server[(dest.y + yy) * W + dest.x + xx] = old[(y + yy) * W + x + xx]!;
          st.addCopied(dest, rdx, rdy, rnd() < 0.9);
          // the exposed source area gets new content
          for (let yy = 0; yy < h; yy++) for (let xx = 0; xx < w; xx++) {
            const px = x + xx, py = y + yy;
            if (px >= dest.x && px < dest.x + w && py >= dest.y && py < dest.y + h) continue;
            server[py * W + px] = int(1000);
          }
          st.addChanged([{ x, y, w, h }]); // conservative: the whole source as damage
          // damage must not undo the copy inside dest: re-add dest parts the source overlapped
        } else if (op === 1) {
          const r = { x: int(W), y: int(H), w: 1 + int(8), h: 1 + int(8) };
          const c = { x: r.x, y: r.y, w: Math.min(r.w, W - r.x), h: Math.min(r.h, H - r.y) };
          for (let yy = c.y; yy < c.y + c.h; yy++) for (let xx = c.x; xx < c.x + c.w; xx++) server[yy * W + xx] = int(1000);
          st.addChanged([c]);
        } else {
          // a request for part of the screen, or all of it
          const part = rnd() < 0.3 ? { x: int(W / 2), y: int(H / 2), w: W / 2, h: H / 2 } : full;
          st.addRequest(part, true);
          const u = st.take();
          if (u.copy) copiesSent++;
          applyUpdate(client, server, u);
        }
      }
      st.addRequest(full, true);
      applyUpdate(client, server, st.take());
      expect([...client], `seed ${seed}`).toEqual([...server]);
      totalCopies += copiesSent;
    }
    expect(totalCopies).toBeGreaterThan(100); // the copy path was really exercised
  });

  it('composes a window dragged several steps between two updates into one copy', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = seededRandom(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const wall = (x: number, y: number) => 5000 + x * 7 + y * 131; // "wallpaper"
      const server = new Int32Array(W * H);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) server[y * W + x] = wall(x, y);
      const win = { x: 10, y: 8, w: 12, h: 9 };
      const paintWindow = () => {
        for (let y = 0; y < win.h; y++) for (let x = 0; x < win.w; x++) server[(win.y + y) * W + win.x + x] = 100 + y * win.w + x;
      };
      paintWindow();
      const client = new Int32Array(W * H).fill(-1);
      const st = new UpdateState();
      const full: Rect = { x: 0, y: 0, w: W, h: H };
      st.addRequest(full, false);
      applyUpdate(client, server, st.take());
      let copied = 0;
      let pixels = 0;
      for (let step = 0; step < 12; step++) {
        const moves = 1 + int(3); // several moves before the client gets the next update
        for (let m = 0; m < moves; m++) {
          const dx = Math.max(-win.x, Math.min(W - win.w - win.x, int(7) - 3));
          const dy = Math.max(-win.y, Math.min(H - win.h - win.y, int(7) - 3));
          const old = { ...win };
          win.x += dx;
          win.y += dy;
          // the X server: uncovered wallpaper repainted, window drawn at its new place
          for (let y = old.y; y < old.y + old.h; y++) for (let x = old.x; x < old.x + old.w; x++) server[y * W + x] = wall(x, y);
          paintWindow();
          // what motion detection reports: the window as a copy, the uncovered strips as damage
          st.addCopied({ ...win }, dx, dy, true);
          const uncovered = Region.of(old).subtract(win);
          st.addChanged(uncovered.rects());
        }
        st.addRequest(full, true);
        const u = st.take();
        if (u.copy) copied++;
        pixels += u.changed.area();
        applyUpdate(client, server, u);
        expect([...client], `seed ${seed} step ${step}`).toEqual([...server]);
      }
      expect(copied, `seed ${seed}`).toBeGreaterThan(6);
      expect(pixels, `seed ${seed}: window re-sent as pixels`).toBeLessThan(12 * 12 * 9);
    }
  });

  it('composes several scroll steps between two updates into one copy plus the new strips', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = seededRandom(seed);
      const int = (n: number) => Math.floor(rnd() * n);
      const page: number[] = Array.from({ length: 400 }, (_, i) => i * 1000); // row contents
      let top = 0;
      const area = { x: 4, y: 2, w: 30, h: 24 };
      const server = new Int32Array(W * H).fill(7);
      const paintRows = () => {
        for (let y = 0; y < area.h; y++) for (let x = 0; x < area.w; x++) server[(area.y + y) * W + area.x + x] = page[top + y]! + x;
      };
      paintRows();
      const client = new Int32Array(W * H).fill(-1);
      const st = new UpdateState();
      const full: Rect = { x: 0, y: 0, w: W, h: H };
      st.addRequest(full, false);
      applyUpdate(client, server, st.take());
      let copies = 0;
      let pixels = 0;
      let scrolled = 0;
      for (let step = 0; step < 10; step++) {
        for (let m = 1 + int(3); m > 0; m--) {
          const d = 1 + int(4); // scroll down the page by d rows: content moves up
          top += d;
          scrolled += d;
          paintRows();
          st.addCopied({ x: area.x, y: area.y, w: area.w, h: area.h - d }, 0, -d, true);
          st.addChanged([{ x: area.x, y: area.y + area.h - d, w: area.w, h: d }]);
        }
        st.addRequest(full, true);
        const u = st.take();
        if (u.copy) copies++;
        pixels += u.changed.area();
        applyUpdate(client, server, u);
        expect([...client], `seed ${seed} step ${step}`).toEqual([...server]);
      }
      expect(copies, `seed ${seed}`).toBeGreaterThan(7);
      // Only the newly exposed rows go as pixels (plus a little slack), never the whole area.
      expect(pixels, `seed ${seed}`).toBeLessThanOrEqual(scrolled * area.w * 2);
    }
  });

  it('sends a clean scroll as one CopyRect plus the exposed strip', () => {
    const st = new UpdateState();
    st.addRequest({ x: 0, y: 0, w: W, h: H }, false);
    st.take();
    st.addCopied({ x: 0, y: 0, w: W, h: H - 3 }, 0, -3, true); // content moved up by 3 rows
    st.addChanged([{ x: 0, y: H - 3, w: W, h: 3 }]);
    st.addRequest({ x: 0, y: 0, w: W, h: H }, true);
    const u = st.take();
    expect(u.copy?.region.rects()).toEqual([{ x: 0, y: 0, w: W, h: H - 3 }]);
    expect(u.changed.rects()).toEqual([{ x: 0, y: H - 3, w: W, h: 3 }]);
  });

  it('orders copy rectangles so none overwrites a source still to be read', () => {
    const top = { x: 0, y: 0, w: 10, h: 5 };
    const bottom = { x: 0, y: 5, w: 10, h: 5 };
    expect(orderCopyRects([top, bottom], 0, 3)).toEqual([bottom, top]); // moving down: bottom first
    expect(orderCopyRects([bottom, top], 0, -3)).toEqual([top, bottom]);
    const left = { x: 0, y: 0, w: 5, h: 5 };
    const right = { x: 5, y: 0, w: 5, h: 5 };
    expect(orderCopyRects([left, right], 2, 0)).toEqual([right, left]);
    expect(orderCopyRects([right, left], -2, 0)).toEqual([left, right]);
  });

  it('sends a fragmented copy as its bounding box only when the holes are overwritten and the source is on screen', () => {
    const screen = { x: 0, y: 0, w: W, h: H };
    // A scroll up by 3 with a cursor cell (damage) inside the copied area.
    const region = Region.of({ x: 0, y: 0, w: W, h: 20 }).subtract({ x: 10, y: 17, w: 2, h: 3 });
    expect(region.rects().length).toBeGreaterThan(1);
    const copy = { region, dx: 0, dy: -3 };
    expect(copyRectsFor(copy, Region.of({ x: 10, y: 17, w: 2, h: 3 }), screen)).toEqual([{ x: 0, y: 0, w: W, h: 20 }]);
    // The hole is not sent as pixels in this update: keep the fragments.
    expect(copyRectsFor(copy, Region.of({ x: 10, y: 17, w: 1, h: 3 }), screen)).toEqual(region.rects());
    // The box's source would leave the screen (moving down from the top edge): fragments.
    const down = { region: Region.of({ x: 0, y: 3, w: W, h: 10 }).subtract({ x: 5, y: 3, w: 2, h: 2 }), dx: 0, dy: 3 };
    expect(copyRectsFor(down, Region.of({ x: 5, y: 3, w: 2, h: 2 }), screen)).toEqual([{ x: 0, y: 3, w: W, h: 10 }]);
    const edge = { region: Region.of({ x: 0, y: 0, w: W, h: 10 }).subtract({ x: 5, y: 0, w: 2, h: 2 }), dx: 0, dy: -25 };
    expect(copyRectsFor(edge, Region.of({ x: 5, y: 0, w: 2, h: 2 }), screen)).toEqual(edge.region.rects());
  });

  it('never copies from pixels the client was never sent', () => {
    const st = new UpdateState();
    st.addCopied({ x: 0, y: 0, w: 10, h: 10 }, 5, 0, true);
    st.addRequest({ x: 0, y: 0, w: W, h: H }, true);
    const u = st.take();
    expect(u.copy).toBeNull();
    expect(u.changed.area()).toBe(100);
  });
});

describe('Congestion', () => {
  it('blocks when the window is full and opens on the fence reply', () => {
    let t = 0;
    const c = new Congestion({ initialWindowBytes: 1000 }, () => t);
    c.sent(1500);
    const p = c.ping()!;
    expect(c.isCongested()).toBe(true);
    t += 10;
    expect(c.pong(p)).toBe(true);
    expect(c.isCongested()).toBe(false);
    expect(c.pong(Buffer.from([9, 9, 9, 9]))).toBe(false);
  });

  it('stops blocking on a client that never answers, and bounds outstanding pings', () => {
    let t = 0;
    const c = new Congestion({ initialWindowBytes: 100, pingTimeoutMs: 50, maxOutstandingPings: 3 }, () => t);
    c.sent(1000);
    c.ping(); c.ping(); c.ping();
    expect(c.ping()).toBeNull();
    expect(c.isCongested()).toBe(true);
    t = 100;
    expect(c.isCongested()).toBe(false);
  });

  it('shrinks the window when round trips stretch', () => {
    let t = 0;
    const c = new Congestion({ initialWindowBytes: 1 << 20 }, () => t);
    c.sent(100); let p = c.ping()!; t += 5; c.pong(p);
    const before = c.windowBytes;
    c.sent(100); p = c.ping()!; t += 200; c.pong(p);
    expect(c.windowBytes).toBeLessThan(before);
  });
});
