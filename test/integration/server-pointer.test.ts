/**
 * Pointer input through our server, checked on the X side:
 * - PointerEvent positions arrive exactly (xdotool getmouselocation), out-of-range ones are
 *   clamped to the screen;
 * - a drag (button 1 down, move, up) over an xterm selects its text (PRIMARY is set);
 * - mask bits 0–6 arrive as X buttons 1–7 (an `xev -root` sees ButtonPress 1…7, so the wheel
 *   bits 3–6 are the scroll buttons 4–7);
 * - a view-only server, and a session opened with the view-only password, move nothing.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { runOk, suiteScope, sleep, waitFor } from '../helpers/processes.js';
import { RfbClient } from '../helpers/rfb-client.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { getMouseLocation, startXvfb, xclipRead, xEnv, type XvfbHandle } from '../helpers/x-env.js';

const W = 400;
const H = 300;

describe('pointer through vnc-runner', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let rig: ServerRig;
  const clients: RfbClient[] = [];

  beforeAll(async () => {
    x = await startXvfb({ width: W, height: H, scope });
    rig = await startServerRig({ display: x.display, scope });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  async function connect(r: ServerRig = rig): Promise<RfbClient> {
    const c = await new RfbClient({ port: r.port }).connect();
    clients.push(c);
    return c;
  }

  test('positions arrive exactly, including the corners; out-of-range positions are clamped', async () => {
    const c = await connect();
    for (const p of [{ x: 0, y: 0 }, { x: 123, y: 45 }, { x: W - 1, y: H - 1 }, { x: 7, y: H - 2 }, { x: 250, y: 199 }]) {
      c.pointer(p.x, p.y, 0);
      await expect.poll(() => getMouseLocation(x.display), { timeout: 5_000 }).toEqual(p);
    }
    c.pointer(60_000, 60_000, 0);
    await expect.poll(() => getMouseLocation(x.display), { timeout: 5_000 }).toEqual({ x: W - 1, y: H - 1 });
  });

  test('a drag over an xterm selects its text (PRIMARY)', async () => {
    const line = 'alpha bravo charlie delta';
    const term = scope.spawn('xterm', ['-geometry', '60x5+0+0', '-e', 'sh', '-c', `printf '%s\\n' '${line}'; exec sleep 600`], {
      env: xEnv(x.display, { LC_ALL: 'C.UTF-8' }),
    });
    await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 15_000, env: xEnv(x.display) });
    expect(await xclipRead(x.display, 'primary')).toBeNull();
    const c = await connect();
    // xterm's default font is `fixed` (6x13) with a 2-pixel border: row 0 spans y 2..14.
    const y = 8;
    const send = (px: number, mask: number) => c.pointer(px, y, mask);
    // The text may not be drawn yet when the window maps: retry the drag until a selection exists.
    const selected = await waitFor(
      async () => {
        send(4, 0);
        send(4, 1);
        for (let px = 10; px <= 2 + 6 * 19 + 3; px += 9) send(px, 1);
        send(2 + 6 * 19 + 3, 1);
        send(2 + 6 * 19 + 3, 0);
        const text = await xclipRead(x.display, 'primary');
        return text ? text : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 300, what: 'a PRIMARY selection made by dragging' },
    );
    // Characters 0..19 of the line: 'alpha bravo charlie'.
    expect(selected).toBe(line.slice(0, 20).trimEnd());
    await term.kill();
  });

  test('mask bits 0..6 arrive as X buttons 1..7 (wheel: 4..7)', async () => {
    const xev = scope.spawn('xev', ['-root', '-event', 'button'], { env: xEnv(x.display) });
    // xev prints nothing until an event arrives: prove it listens with an XTEST click first.
    await waitFor(
      async () => {
        await runOk('xdotool', ['mousemove', '390', '290', 'click', '1'], { timeoutMs: 5_000, env: xEnv(x.display) });
        return /ButtonRelease event/.test(xev.output()) || undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'xev to report a probe click' },
    );
    const before = xev.output().length;
    const c = await connect();
    for (let bit = 0; bit <= 6; bit++) {
      c.pointer(200, 150, 1 << bit);
      c.pointer(200, 150, 0);
    }
    const pressesAt200 = (): number[] => {
      const out = xev.output().slice(before);
      const re = /ButtonPress event[^\n]*\n[^\n]*\(200,150\)[^\n]*\n[^\n]*button (\d+)/g;
      return [...out.matchAll(re)].map((m) => Number(m[1]));
    };
    await expect.poll(pressesAt200, { timeout: 10_000 }).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Every press was released.
    const releases = [...xev.output().slice(before).matchAll(/ButtonRelease event[^\n]*\n[^\n]*\n[^\n]*button (\d+)/g)].map((m) => Number(m[1]));
    expect(releases).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await xev.kill();
  });

  test('the view-only password gives a session whose pointer is ignored; the full password moves it', async () => {
    const locked = await startServerRig({ display: x.display, password: 'full!pw1', viewOnlyPassword: 'look!pw1', scope });
    await runOk('xdotool', ['mousemove', '33', '44'], { timeoutMs: 5_000, env: xEnv(x.display) });
    const viewer = new RfbClient({ port: locked.port, password: 'look!pw1' });
    clients.push(await viewer.connect());
    viewer.pointer(300, 200, 0);
    viewer.requestUpdate(false, 0, 0, 8, 8);
    await viewer.readUpdate({ timeoutMs: 10_000 });
    await sleep(200);
    expect(await getMouseLocation(x.display)).toEqual({ x: 33, y: 44 });

    const full = new RfbClient({ port: locked.port, password: 'full!pw1' });
    clients.push(await full.connect());
    full.pointer(301, 201, 0);
    await expect.poll(() => getMouseLocation(x.display), { timeout: 5_000 }).toEqual({ x: 301, y: 201 });
    await locked.close();
  });

  test('a view-only server ignores pointer events', async () => {
    const viewOnly = await startServerRig({ display: x.display, viewOnly: true, scope });
    await runOk('xdotool', ['mousemove', '11', '22'], { timeoutMs: 5_000, env: xEnv(x.display) });
    const c = await connect(viewOnly);
    c.pointer(300, 200, 0);
    c.pointer(300, 200, 1);
    c.pointer(300, 200, 0);
    // The session processed the events (it answers an update request sent after them).
    c.requestUpdate(false, 0, 0, 8, 8);
    await c.readUpdate({ timeoutMs: 10_000 });
    await sleep(200);
    expect(await getMouseLocation(x.display)).toEqual({ x: 11, y: 22 });
    await viewOnly.close();
  });
});
