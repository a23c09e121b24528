/**
 * The bookkeeping of DamageHints (what a poll gets, what is carried to the next one), driven by
 * DamageNotify events fed through a minimal stand-in for the X connection. The real extension
 * is exercised by test/integration/capture-screen-source.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DamageHints } from '../../capture/x11-damage.js';
import type { X11Connection } from '../../core/x11-connection.js';

const DAMAGE_ID = 77;

function fakeConn() {
  const listeners: Array<(ev: any) => void> = [];
  const calls: string[] = [];
  const ext = {
    Create: (id: number, drawable: number, level: number) => calls.push(`Create ${id} ${drawable} ${level}`),
    Subtract: (id: number) => calls.push(`Subtract ${id}`),
    Destroy: (id: number) => calls.push(`Destroy ${id}`),
  };
  const conn = {
    closed: false,
    root: 1,
    X: { AllocID: () => DAMAGE_ID, GetInputFocus: (cb: (e: unknown) => void) => cb(null) },
    require: async () => ext,
    request: (fn: (cb: (e: unknown, r?: unknown) => boolean) => void) =>
      new Promise((resolve, reject) => fn((e, r) => ((e ? reject(e) : resolve(r)), true))),
    onEvent: (l: (ev: any) => void) => {
      listeners.push(l);
      return () => listeners.splice(listeners.indexOf(l), 1);
    },
  } as unknown as X11Connection;
  const emit = (x: number, y: number, w: number, h: number, damage = DAMAGE_ID) =>
    listeners.forEach((l) => l({ name: 'DamageNotify', damage, area: { x, y, w, h }, geometry: { x: 0, y: 0, w: 640, h: 480 } }));
  return { conn, calls, emit, listeners };
}

describe('DamageHints', () => {
  it('starts with "all", then reports what arrived between polls', async () => {
    const f = fakeConn();
    const h = (await DamageHints.create(f.conn))!;
    expect(f.calls).toEqual([`Create ${DAMAGE_ID} 1 1`]); // DeltaRectangles on the root
    expect(h.hasPending()).toBe(true);
    h.begin();
    expect(h.end()).toEqual({ all: true, rects: [] });
    expect(h.hasPending()).toBe(false);

    f.emit(10, 10, 5, 5);
    f.emit(10, 10, 5, 5, 999); // another client's damage object: ignored
    expect(h.hasPending()).toBe(true);
    h.begin();
    expect(f.calls.at(-1)).toBe(`Subtract ${DAMAGE_ID}`);
    expect(h.end()).toEqual({ all: false, rects: [{ x: 10, y: 10, w: 5, h: 5 }] });
    expect(h.hasPending()).toBe(false);
  });

  it('carries hints that arrive during a capture over to the next poll', async () => {
    const f = fakeConn();
    const h = (await DamageHints.create(f.conn))!;
    h.begin();
    h.end();
    f.emit(1, 1, 1, 1); // before the Subtract
    h.begin();
    f.emit(2, 2, 2, 2); // after the Subtract, before the capture reply: maybe in this frame, maybe not
    expect(h.end().rects).toEqual([
      { x: 1, y: 1, w: 1, h: 1 },
      { x: 2, y: 2, w: 2, h: 2 },
    ]);
    expect(h.hasPending()).toBe(true);
    h.begin();
    expect(h.end().rects).toEqual([{ x: 2, y: 2, w: 2, h: 2 }]);
    expect(h.hasPending()).toBe(false);
  });

  it('collapses to "all" on overflow and on whole-screen damage', async () => {
    const f = fakeConn();
    const h = (await DamageHints.create(f.conn, { maxRects: 3 }))!;
    h.begin();
    h.end();
    for (let i = 0; i < 4; i++) f.emit(i, 0, 1, 1);
    h.begin();
    expect(h.end()).toEqual({ all: true, rects: [] });
    f.emit(0, 0, 640, 480);
    f.emit(5, 5, 1, 1);
    h.begin();
    expect(h.end()).toEqual({ all: true, rects: [] });
  });

  it('reset() reports "all" next; destroy() unsubscribes and frees the damage object', async () => {
    const f = fakeConn();
    const h = (await DamageHints.create(f.conn))!;
    h.begin();
    h.end();
    h.reset();
    expect(h.hasPending()).toBe(true);
    h.destroy();
    h.destroy();
    expect(f.calls.filter((c) => c.startsWith('Destroy'))).toEqual([`Destroy ${DAMAGE_ID}`]);
    expect(f.listeners).toHaveLength(0);
  });
});
