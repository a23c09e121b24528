import { describe, expect, it } from 'vitest';
import { keymapInfo, planKeyPress, producedKeysym, type KeymapSnapshot, type KeyState } from '../../input/keymap-plan.js';
import { XK } from '../../input/keysym-unicode.js';

// A slice of Xvfb's pc+us core keymap (xmodmap -pke), keycodes 8..210.
const ROWS: Record<number, number[]> = {
  10: [0x31, 0x21, 0x31, 0x21], // 1 exclam
  24: [0x71, 0x51, 0x71, 0x51], // q Q
  36: [XK.Return, 0, XK.Return],
  37: [XK.Control_L, 0, XK.Control_L],
  38: [0x61, 0x41, 0x61, 0x41], // a A
  50: [XK.Shift_L, 0, XK.Shift_L],
  62: [XK.Shift_R, 0, XK.Shift_R],
  64: [XK.Alt_L, XK.Meta_L, XK.Alt_L, XK.Meta_L],
  66: [XK.Caps_Lock, 0, XK.Caps_Lock],
  67: [XK.F1, XK.F1, XK.F1, XK.F1, XK.F1, XK.F1, 0x1008fe01],
  77: [XK.Num_Lock, 0, XK.Num_Lock],
  87: [0xff9c, XK.KP_0 + 1, 0xff9c, XK.KP_0 + 1], // KP_End KP_1
  92: [XK.ISO_Level3_Shift, 0, XK.ISO_Level3_Shift],
  94: [0x3c, 0x3e, 0x3c, 0x3e, 0x7c, 0xa6], // less greater … bar brokenbar
  129: [XK.KP_Decimal, XK.KP_Decimal, XK.KP_Decimal, XK.KP_Decimal],
  133: [XK.Super_L, 0, XK.Super_L],
  200: [0x20ac, 0x20ac], // as if someone mapped EuroSign
  205: [0, XK.Meta_L, 0, XK.Meta_L],
  207: [0, XK.Hyper_L, 0, XK.Hyper_L],
};
const KM: KeymapSnapshot = {
  minKeycode: 8,
  rows: Array.from({ length: 203 }, (_, i) => ROWS[i + 8] ?? [0, 0, 0, 0, 0, 0, 0]),
  modifiers: [[50, 62], [66], [37], [64, 205], [77], [], [133, 207], [92]],
};
const INFO = keymapInfo(KM);

const state = (modMask: number, down: number[] = []): KeyState => ({ modMask, isDown: (kc) => down.includes(kc) });
const press = (keycode: number, fakePress: number[] = [], fakeRelease: number[] = []) => ({ kind: 'press', keycode, fakePress, fakeRelease });

describe('keymapInfo', () => {
  it('finds NumLock, AltGr and the keys to fake them', () => {
    expect(INFO).toEqual({ numLockMask: 0x10, level3Mask: 0x80, shiftKeycode: 50, level3Keycode: 92 });
  });
});

describe('producedKeysym', () => {
  it('follows the key type: one level, two level, alphabetic with Lock, keypad with NumLock, AltGr', () => {
    const s = { shift: false, lock: false, numLock: false, level3: false };
    expect(producedKeysym(ROWS[36]!, { ...s, shift: true })).toBe(XK.Return);
    expect(producedKeysym(ROWS[10]!, { ...s, shift: true })).toBe(0x21);
    expect(producedKeysym(ROWS[10]!, { ...s, lock: true })).toBe(0x31);
    expect(producedKeysym(ROWS[38]!, { ...s, lock: true })).toBe(0x41);
    expect(producedKeysym(ROWS[38]!, { ...s, lock: true, shift: true })).toBe(0x61);
    expect(producedKeysym(ROWS[87]!, { ...s, shift: true })).toBe(0xff9c);
    expect(producedKeysym(ROWS[87]!, { ...s, numLock: true })).toBe(XK.KP_0 + 1);
    expect(producedKeysym(ROWS[94]!, { ...s, level3: true })).toBe(0x7c);
    expect(producedKeysym(ROWS[94]!, { ...s, level3: true, shift: true })).toBe(0xa6);
    expect(producedKeysym(ROWS[38]!, { ...s, level3: true })).toBe(0x61); // no level 3: ignored
  });
});

describe('planKeyPress', () => {
  it('presses level-0 keysyms as they are and fakes Shift for level-1 ones', () => {
    expect(planKeyPress(0x31, KM, INFO, state(0))).toEqual(press(10));
    expect(planKeyPress(0x21, KM, INFO, state(0))).toEqual(press(10, [50]));
    expect(planKeyPress(0x41, KM, INFO, state(0))).toEqual(press(38, [50]));
  });

  it('needs no fake when the client already holds Shift for a shifted keysym (TigerVNC)', () => {
    expect(planKeyPress(0x21, KM, INFO, state(0x01, [50]))).toEqual(press(10));
    expect(planKeyPress(0x41, KM, INFO, state(0x01, [62]))).toEqual(press(38));
  });

  it('never releases a Shift the client holds: Shift+1 gives !, Shift+a gives A', () => {
    expect(planKeyPress(0x31, KM, INFO, state(0x01, [50]))).toEqual(press(10));
    expect(planKeyPress(0x61, KM, INFO, state(0x01, [50]))).toEqual(press(38));
  });

  it('cancels Caps Lock with a faked Shift for lowercase, and uses it for uppercase', () => {
    expect(planKeyPress(0x61, KM, INFO, state(0x02))).toEqual(press(38, [50]));
    expect(planKeyPress(0x41, KM, INFO, state(0x02))).toEqual(press(38));
    expect(planKeyPress(0x31, KM, INFO, state(0x02))).toEqual(press(10)); // Lock does not shift digits
  });

  it('fakes AltGr (and Shift) for level-3/4 keysyms, and releases a client-held AltGr when it is in the way', () => {
    expect(planKeyPress(0x7c, KM, INFO, state(0))).toEqual(press(94, [92]));
    expect(planKeyPress(0xa6, KM, INFO, state(0))).toEqual(press(94, [50, 92]));
    expect(planKeyPress(0x3c, KM, INFO, state(0x80, [92]))).toEqual(press(94, [], [92]));
    expect(planKeyPress(0x7c, KM, INFO, state(0x80, [92]))).toEqual(press(94));
  });

  it('uses the keypad key only when NumLock gives the wanted level, else a spare', () => {
    expect(planKeyPress(XK.KP_0 + 1, KM, INFO, state(0))).toEqual({ kind: 'remap', keysym: XK.KP_0 + 1 });
    expect(planKeyPress(XK.KP_0 + 1, KM, INFO, state(0x10))).toEqual(press(87));
    expect(planKeyPress(0xff9c, KM, INFO, state(0))).toEqual(press(87));
    expect(planKeyPress(0xff9c, KM, INFO, state(0x10))).toEqual({ kind: 'remap', keysym: 0xff9c });
    expect(planKeyPress(XK.KP_Decimal, KM, INFO, state(0x10))).toEqual(press(129));
  });

  it('remaps keysyms the keymap lacks, normalising control characters first', () => {
    expect(planKeyPress(0xe9, KM, INFO, state(0))).toEqual({ kind: 'remap', keysym: 0xe9 });
    expect(planKeyPress(XK.F1 + 12, KM, INFO, state(0))).toEqual({ kind: 'remap', keysym: XK.F1 + 12 });
    expect(planKeyPress(0x0a, KM, INFO, state(0))).toEqual(press(36));
    expect(planKeyPress(0x0100000d, KM, INFO, state(0x01))).toEqual(press(36));
  });

  it('finds a keysym under its other spelling (Unicode keysym vs legacy keysym)', () => {
    expect(planKeyPress(0x010020ac, KM, INFO, state(0))).toEqual(press(200));
  });

  it('presses modifiers as they are, substituting a same-modifier key for level-2-only ones', () => {
    expect(planKeyPress(XK.Shift_R, KM, INFO, state(0))).toEqual(press(62));
    expect(planKeyPress(XK.Alt_L, KM, INFO, state(0))).toEqual(press(64));
    expect(planKeyPress(XK.Meta_L, KM, INFO, state(0))).toEqual(press(64)); // Mod1, like kc 205
    expect(planKeyPress(XK.Hyper_L, KM, INFO, state(0))).toEqual(press(133)); // Mod4, like kc 207
    expect(planKeyPress(XK.Caps_Lock, KM, INFO, state(0x01))).toEqual(press(66));
    expect(planKeyPress(XK.Super_R, KM, INFO, state(0))).toEqual({ kind: 'remap', keysym: XK.Super_R });
  });
});
