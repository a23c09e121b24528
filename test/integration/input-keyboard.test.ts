/**
 * XTEST keyboard on a real Xvfb: typed bytes checked in an xterm running `cat > FILE`, keysyms
 * and modifier state checked in xev, keymap restoration checked with `xmodmap -pke`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { X11Keyboard } from '../../input/x11-keyboard.js';
import { XK } from '../../input/keysym-unicode.js';
import { missingCommands, runOk, suiteScope, waitFor, type ManagedProcess } from '../helpers/processes.js';
import { startXterm, startXvfb, xEnv, type XtermHandle, type XvfbHandle } from '../helpers/x-env.js';

const missing = missingCommands(['Xvfb', 'xterm', 'xdotool', 'xev', 'xmodmap']);
/** Characters a US keyboard types with Shift. */
const SHIFTED = new Set('~!@#$%^&*()_+{}|:"<>?ABCDEFGHIJKLMNOPQRSTUVWXYZ');
const ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');

describe.skipIf(missing.length > 0)('X11Keyboard on Xvfb', () => {
  const scope = suiteScope();
  const dir = mkdtempSync(join(tmpdir(), 'input-kbd-'));
  let xvfb: XvfbHandle;
  let conn: X11Connection;
  let kb: X11Keyboard;
  let keymapBefore: string;

  const xmodmapKeys = async (): Promise<string> =>
    (await runOk('xmodmap', ['-pke'], { timeoutMs: 10_000, env: xEnv(xvfb.display) })).stdout.toString('utf8');

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 1024, height: 768, scope });
    keymapBefore = await xmodmapKeys();
    conn = await openX11({ display: xvfb.display });
    scope.defer('close X connection', () => conn.close());
    kb = await X11Keyboard.open({ conn });
    scope.defer('close keyboard', () => kb.close());
  }, 30_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Types each keysym as press+release, as vncdotool does. */
  const tap = (keysym: number, clientId = 1): void => {
    kb.keyEvent(keysym, true, clientId);
    kb.keyEvent(keysym, false, clientId);
  };

  describe('typing into an xterm', () => {
    let xterm: XtermHandle;
    let expected = '';
    beforeAll(async () => {
      xterm = await startXterm(xvfb.display, { file: join(dir, 'typed.txt'), scope });
    }, 30_000);

    const expectTyped = async (more: string): Promise<void> => {
      expected += more;
      await kb.flush();
      const text = await xterm.waitForContent((t) => t.length >= expected.length, 10_000);
      expect(Buffer.from(text, 'utf8')).toEqual(Buffer.from(expected, 'utf8'));
    };

    it('types every printable ASCII character sent as raw keysyms without Shift (vncdotool)', async () => {
      for (const ch of ASCII) tap(ch.charCodeAt(0));
      await expectTyped(ASCII);
    });

    it('types every printable ASCII character with Shift held around shifted ones (TigerVNC)', async () => {
      for (const ch of ASCII) {
        const shifted = SHIFTED.has(ch);
        if (shifted) kb.keyEvent(XK.Shift_L, true, 2);
        tap(ch.charCodeAt(0), 2);
        if (shifted) kb.keyEvent(XK.Shift_L, false, 2);
      }
      await expectTyped(ASCII);
    });

    it('types Latin-1, legacy and Unicode keysyms through remapped spare keycodes', async () => {
      // é ü € ß (Latin-1 + legacy EuroSign), ж (legacy Cyrillic 0x6d6), 中 😀 (Unicode keysyms)
      for (const ks of [0xe9, 0xfc, 0x20ac, 0xdf, 0x6d6, 0x01004e2d, 0x0101f600]) tap(ks);
      await expectTyped('éü€ßж中😀');
    });

    it('maps raw CR and LF (vncdotool) to Return, and BS/TAB/ESC control keysyms', async () => {
      tap(0x0d);
      tap(0x0a);
      tap(0x09);
      tap(0x1b);
      await expectTyped('\r\r\t\x1b');
    });

    it('keeps a Shift the client holds: Shift+1 gives !, Shift+a gives A', async () => {
      kb.keyEvent(XK.Shift_L, true, 3);
      tap(0x31, 3);
      tap(0x61, 3);
      kb.keyEvent(XK.Shift_L, false, 3);
      tap(0x61, 3);
      await expectTyped('!Aa');
    });

    it('types lowercase under Caps Lock and the keypad digits whatever NumLock says', async () => {
      tap(XK.Caps_Lock);
      tap(0x61); // a, with Caps Lock on: faked Shift cancels the lock
      tap(0x41); // A
      tap(XK.Caps_Lock);
      const keypad = [XK.KP_0, XK.KP_0 + 1, XK.KP_0 + 5, XK.KP_9, XK.KP_Decimal];
      for (const ks of keypad) tap(ks);
      tap(XK.Num_Lock);
      for (const ks of keypad) tap(ks);
      tap(XK.Num_Lock);
      await expectTyped('aA0159.0159.');
    });

    it('recycles spare keycodes (more distinct keysyms than spares) and keeps typing right', async () => {
      expect(kb.spareCount).toBeGreaterThan(0);
      const chars = 'αβγδεζηθικλμνξοπρστυφχψωäöåñçøæœ'; // 32 keysyms the pc+us map lacks
      expect([...chars].length).toBeGreaterThan(kb.spareCount);
      for (const ch of chars) tap(0x01000000 + ch.codePointAt(0)!);
      await expectTyped(chars);
    });

    it('releases through the keycode of the press, even when a key is held across a remap', async () => {
      // Hold é (spare), type enough other new keysyms to cycle all spares, then release é.
      kb.keyEvent(0xe8, true, 4); // è
      for (const ch of 'ĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮ') tap(0x01000000 + ch.codePointAt(0)!, 4);
      kb.keyEvent(0xe8, false, 4);
      await expectTyped('èĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮ');
    });
    it('drops a key when every spare is held down, and goes on with the next events', async () => {
      // Keys are held for a while here: keep the server's auto-repeat from adding characters.
      await runOk('xset', ['-r'], { timeoutMs: 10_000, env: xEnv(xvfb.display) });
      const held = [...'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒ'].map((c) => c.codePointAt(0)!);
      expect(held.length).toBe(kb.spareCount);
      for (const ks of held) kb.keyEvent(ks, true, 5);
      kb.keyEvent(0xfe, true, 5); // þ: no spare left
      kb.keyEvent(0xfe, false, 5);
      for (const ks of held) kb.keyEvent(ks, false, 5);
      tap(0xfe, 5);
      await expectTyped('ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒþ');
    });
  });

  describe('keysyms and modifier state seen by xev', () => {
    let xev: ManagedProcess;
    let seen = 0;
    beforeAll(async () => {
      // xev writes through stdio: line-buffer it, or events sit in a 4 KiB block buffer.
      xev = scope.spawn('stdbuf', ['-oL', 'xev', '-event', 'keyboard', '-geometry', '300x200+400+300'], { env: xEnv(xvfb.display) });
      // xev sets no _NET_WM_PID, so find it by its window title.
      const found = await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--name', '^Event Tester$'], {
        timeoutMs: 15_000,
        env: xEnv(xvfb.display),
      });
      const win = found.stdout.toString('utf8').trim().split('\n')[0]!;
      await runOk('xdotool', ['windowfocus', '--sync', win], { timeoutMs: 10_000, env: xEnv(xvfb.display) });
    }, 30_000);

    /** KeyPress events xev printed since the last call: [state, keysym name]. */
    const presses = async (count: number): Promise<[number, string][]> => {
      await kb.flush();
      return waitFor(
        () => {
          const all = [...xev.output().matchAll(/KeyPress event[^\n]*\n[^\n]*\n\s+state 0x([0-9a-f]+), keycode \d+ \(keysym 0x[0-9a-f]+, (\w+)\)/g)];
          if (all.length < seen + count) return undefined;
          const out = all.slice(seen, seen + count).map((m) => [parseInt(m[1]!, 16), m[2]!] as [number, string]);
          seen += count;
          return out;
        },
        { timeoutMs: 10_000, what: `${count} KeyPress events in xev` },
      ).catch((e) => {
        throw new Error(`${(e as Error).message}; xev printed: ${xev.output().slice(-1500)}`);
      });
    };

    it('delivers F1–F35 (F13 and up on remapped spares)', async () => {
      for (let f = 0; f < 35; f++) tap(XK.F1 + f);
      const got = (await presses(35)).map(([, name]) => name);
      expect(got).toEqual(Array.from({ length: 35 }, (_, i) => `F${i + 1}`));
    });

    it('delivers KP_1 with NumLock off and KP_End with NumLock on (no Shift faked)', async () => {
      tap(XK.KP_0 + 1);
      tap(0xff9c); // KP_End
      tap(XK.Num_Lock);
      tap(XK.KP_0 + 1);
      tap(0xff9c);
      tap(XK.Num_Lock);
      const got = await presses(6);
      expect(got.map(([, n]) => n)).toEqual(['KP_1', 'KP_End', 'Num_Lock', 'KP_1', 'KP_End', 'Num_Lock']);
      expect(got[0]![0] & 0x01).toBe(0); // no Shift on KP_1
    });

    it('sets each modifier for the next key: Control, Alt, Meta, Super, Hyper, AltGr, Shift_R', async () => {
      const cases: [number, number][] = [
        [XK.Control_L, 0x04],
        [XK.Control_R, 0x04],
        [XK.Alt_L, 0x08],
        [XK.Meta_L, 0x08],
        [XK.Super_L, 0x40],
        [XK.Hyper_L, 0x40],
        [XK.ISO_Level3_Shift, 0x80],
        [XK.Shift_R, 0x01],
      ];
      for (const [mod] of cases) {
        kb.keyEvent(mod, true);
        tap(XK.F1);
        kb.keyEvent(mod, false);
      }
      const got = await presses(cases.length * 2);
      for (let i = 0; i < cases.length; i++) {
        expect(got[i * 2 + 1]![1]).toBe('F1');
        expect(got[i * 2 + 1]![0] & 0xff, `state after keysym 0x${cases[i]![0].toString(16)}`).toBe(cases[i]![1]);
      }
    });

    it('produces AltGr-level keysyms by faking ISO_Level3_Shift (bar/brokenbar on the <> key)', async () => {
      tap(0xa6); // brokenbar exists only at level 4 of keycode 94
      const got = await presses(3); // the faked Shift_L and ISO_Level3_Shift show up too
      expect(got.map(([, n]) => n)).toEqual(['Shift_L', 'ISO_Level3_Shift', 'brokenbar']);
      expect(got[2]![0] & 0x81).toBe(0x81);
    });

    it('releaseAll() releases what a disconnecting client held', async () => {
      kb.keyEvent(XK.Control_L, true, 9);
      kb.keyEvent(0x71, true, 9);
      kb.releaseAll(9);
      tap(XK.F1 + 1); // F2
      const got = await presses(3);
      expect(got[2]).toEqual([0, 'F2']);
    });
  });

  it('restores the keymap on close()', async () => {
    await kb.close();
    expect(await xmodmapKeys()).toBe(keymapBefore);
  });
});
