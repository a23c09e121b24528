/**
 * XTEST pointer on a real Xvfb: positions checked with `xdotool getmouselocation`, buttons and
 * wheel in xev's output, and a drag checked through the text it selects in an xterm (PRIMARY).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { X11Pointer } from '../../input/x11-pointer.js';
import { missingCommands, runOk, sleep, suiteScope, waitFor, type ManagedProcess } from '../helpers/processes.js';
import { getMouseLocation, startXvfb, xclipRead, xEnv, type XvfbHandle } from '../helpers/x-env.js';

const missing = missingCommands(['Xvfb', 'xterm', 'xdotool', 'xev', 'xclip', 'stdbuf']);

describe.skipIf(missing.length > 0)('X11Pointer on Xvfb', () => {
  const scope = suiteScope();
  let xvfb: XvfbHandle;
  let conn: X11Connection;
  let pointer: X11Pointer;

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 1024, height: 768, scope });
    conn = await openX11({ display: xvfb.display });
    scope.defer('close X connection', () => conn.close());
    pointer = await X11Pointer.open({ conn });
    scope.defer('close pointer', () => pointer.close());
  }, 30_000);

  it('moves to absolute positions and clamps to the screen', async () => {
    pointer.pointerEvent(100, 200, 0);
    await pointer.flush();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: 100, y: 200 });
    pointer.pointerEvent(5000, 6000, 0);
    await pointer.flush();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: 1023, y: 767 });
  });

  it('maps into a window region (window mode) and clamps to it', async () => {
    const p = await X11Pointer.open({ conn, region: { x: 300, y: 200, width: 400, height: 300 } });
    p.pointerEvent(10, 20, 0);
    await p.flush();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: 310, y: 220 });
    p.pointerEvent(1000, 1000, 0);
    await p.flush();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: 699, y: 499 });
    p.setRegion({ x: 0, y: 0, width: 1024, height: 768 });
    p.pointerEvent(5, 6, 0);
    await p.flush();
    expect(await getMouseLocation(xvfb.display)).toEqual({ x: 5, y: 6 });
    await p.close();
  });

  describe('buttons in xev', () => {
    let xev: ManagedProcess;
    let seen = 0;
    beforeAll(async () => {
      // Line-buffered, or xev's events sit in a 4 KiB stdio buffer.
      xev = scope.spawn('stdbuf', ['-oL', 'xev', '-event', 'button', '-geometry', '400x300+300+200'], { env: xEnv(xvfb.display) });
      await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--name', '^Event Tester$'], { timeoutMs: 15_000, env: xEnv(xvfb.display) });
    }, 30_000);

    /** The next `count` button events xev printed: "press 4 @400,300". */
    const events = async (count: number): Promise<string[]> => {
      await pointer.flush();
      return waitFor(
        () => {
          const all = [...xev.output().matchAll(/Button(Press|Release) event[^\n]*\n[^\n]*root:\((\d+),(\d+)\),\n\s+state 0x[0-9a-f]+, button (\d+)/g)];
          if (all.length < seen + count) return undefined;
          const out = all.slice(seen, seen + count).map((m) => `${m[1] === 'Press' ? 'press' : 'release'} ${m[4]} @${m[2]},${m[3]}`);
          seen += count;
          return out;
        },
        { timeoutMs: 10_000, what: `${count} button events in xev` },
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; xev printed: ${xev.output().slice(-1500)}`);
      });
    };

    it('presses and releases buttons 1, 2, 3 and 8 on mask changes, at the event position', async () => {
      pointer.pointerEvent(400, 300, 0b0000_0001);
      pointer.pointerEvent(410, 300, 0b0000_0101);
      pointer.pointerEvent(420, 300, 0b1000_0100);
      pointer.pointerEvent(430, 300, 0b0000_0010);
      pointer.pointerEvent(430, 300, 0);
      expect(await events(8)).toEqual([
        'press 1 @400,300',
        'press 3 @410,300',
        'release 1 @420,300',
        'press 8 @420,300',
        'release 3 @430,300',
        'release 8 @430,300',
        'press 2 @430,300',
        'release 2 @430,300',
      ]);
    });

    it('turns wheel bits 3–6 into press+release of buttons 4–7, once per 0→1 edge', async () => {
      for (const bit of [3, 4, 5, 6]) {
        pointer.pointerEvent(500, 350, 1 << bit);
        pointer.pointerEvent(500, 350, 1 << bit); // still set: no second click
        pointer.pointerEvent(500, 350, 0);
      }
      expect(await events(8)).toEqual([4, 5, 6, 7].flatMap((b) => [`press ${b} @500,350`, `release ${b} @500,350`]));
    });

    it('diffs masks per client and releases a disconnecting client’s buttons', async () => {
      pointer.pointerEvent(450, 320, 1, 1); // client 1 presses button 1
      pointer.pointerEvent(460, 320, 0, 2); // client 2 has no buttons: nothing to release
      pointer.pointerEvent(460, 330, 4, 2); // client 2 presses button 3
      pointer.releaseAll(1);
      pointer.releaseAll(2);
      expect(await events(4)).toEqual(['press 1 @450,320', 'press 3 @460,330', 'release 1 @460,330', 'release 3 @460,330']);
    });
  });

  describe('drag in an xterm', () => {
    let xterm: ManagedProcess;
    beforeAll(async () => {
      await runOk('xdotool', ['search', '--name', '^Event Tester$', 'windowunmap', '--sync'], {
        timeoutMs: 10_000,
        env: xEnv(xvfb.display),
        okCodes: [0, 1],
      });
      xterm = scope.spawn('xterm', ['-geometry', '80x5+0+0', '-e', 'sh', '-c', 'printf "hello drag world"; sleep 60'], {
        env: xEnv(xvfb.display, { LC_ALL: 'C.UTF-8' }),
      });
      await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(xterm.pid)], { timeoutMs: 15_000, env: xEnv(xvfb.display) });
      await sleep(300); // let the shell print before selecting
    }, 30_000);

    afterAll(() => xterm?.kill());

    it('selects text by press at A, motion, release at B (PRIMARY holds the text)', async () => {
      pointer.pointerEvent(3, 8, 0);
      pointer.pointerEvent(3, 8, 1);
      for (let x = 10; x <= 300; x += 30) pointer.pointerEvent(x, 8, 1);
      pointer.pointerEvent(300, 8, 0);
      await pointer.flush();
      const text = await waitFor(async () => (await xclipRead(xvfb.display, 'primary')) ?? undefined, {
        timeoutMs: 5_000,
        what: 'xterm to own PRIMARY',
      });
      // Dragging past the end of the line selects the line end too.
      expect(text).toBe('hello drag world\n');
    });
  });
});
