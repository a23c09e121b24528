import { describe, expect, it } from 'vitest';
import {
  codepointToKeysym,
  convertCase,
  equivalentKeysyms,
  isKeypadKeysym,
  isModifierKeysym,
  keysymToCodepoint,
  normalizeKeysym,
  XK,
} from '../../input/keysym-unicode.js';
import { LEGACY_KEYSYM_TO_UCS, UCS_TO_LEGACY_KEYSYM } from '../../input/keysym-unicode-table.js';

describe('keysymToCodepoint', () => {
  it('maps Latin-1 keysyms to themselves', () => {
    for (let k = 0x20; k <= 0x7e; k++) expect(keysymToCodepoint(k)).toBe(k);
    for (let k = 0xa0; k <= 0xff; k++) expect(keysymToCodepoint(k)).toBe(k);
    expect(keysymToCodepoint(0x7f)).toBeUndefined();
    expect(keysymToCodepoint(0x85)).toBeUndefined();
  });

  it('maps legacy keysyms from keysymdef.h', () => {
    expect(keysymToCodepoint(0x20ac)).toBe(0x20ac); // EuroSign
    expect(keysymToCodepoint(0x6d6)).toBe(0x436); // Cyrillic_zhe ж
    expect(keysymToCodepoint(0x7e1)).toBe(0x3b1); // Greek_alpha
    expect(keysymToCodepoint(0x1a1)).toBe(0x104); // Aogonek
    expect(keysymToCodepoint(0x4b1)).toBe(0x30a2); // kana_A
    expect(keysymToCodepoint(0xce0)).toBe(0x5d0); // hebrew_aleph
    expect(keysymToCodepoint(0xda1)).toBe(0xe01); // Thai_kokai
    expect(keysymToCodepoint(0x13bd)).toBe(0x153); // oe
    expect(keysymToCodepoint(0x8a3)).toBe(0x2500); // horizconnector (approximate, one way)
    expect(keysymToCodepoint(0x5ff)).toBeUndefined(); // unassigned
  });

  it('maps Unicode keysyms, keypad and control function keysyms', () => {
    expect(keysymToCodepoint(0x01004e2d)).toBe(0x4e2d);
    expect(keysymToCodepoint(0x0101f600)).toBe(0x1f600);
    expect(keysymToCodepoint(0x0100d800)).toBeUndefined(); // surrogate
    expect(keysymToCodepoint(0x01110000)).toBeUndefined(); // beyond U+10FFFF
    expect(keysymToCodepoint(XK.Return)).toBe(0x0d);
    expect(keysymToCodepoint(XK.BackSpace)).toBe(0x08);
    expect(keysymToCodepoint(XK.KP_0 + 7)).toBe(0x37);
    expect(keysymToCodepoint(XK.KP_Decimal)).toBe(0x2e);
    expect(keysymToCodepoint(XK.F1)).toBeUndefined();
    expect(keysymToCodepoint(XK.Shift_L)).toBeUndefined();
  });
});

describe('codepointToKeysym', () => {
  it('prefers Latin-1, then exact legacy keysyms, then Unicode keysyms', () => {
    expect(codepointToKeysym(0x41)).toBe(0x41);
    expect(codepointToKeysym(0xe9)).toBe(0xe9);
    expect(codepointToKeysym(0x20ac)).toBe(0x20ac);
    expect(codepointToKeysym(0x436)).toBe(0x6d6);
    expect(codepointToKeysym(0x3b1)).toBe(0x7e1);
    expect(codepointToKeysym(0x4e2d)).toBe(0x01004e2d);
    expect(codepointToKeysym(0x1f600)).toBe(0x0101f600);
    expect(codepointToKeysym(0x2500)).toBe(0x9f1); // horizlinescan5, not the approximate horizconnector
    expect(keysymToCodepoint(0xaac)).toBe(0x2423); // signifblank, approximate
    expect(codepointToKeysym(0x2423)).toBe(0x01002423); // no exact legacy keysym
  });

  it('maps typing control characters to their function keysyms and refuses the others', () => {
    expect(codepointToKeysym(0x0d)).toBe(XK.Return);
    expect(codepointToKeysym(0x0a)).toBe(XK.Return);
    expect(codepointToKeysym(0x09)).toBe(XK.Tab);
    expect(codepointToKeysym(0x08)).toBe(XK.BackSpace);
    expect(codepointToKeysym(0x1b)).toBe(XK.Escape);
    expect(codepointToKeysym(0x7f)).toBe(XK.Delete);
    expect(codepointToKeysym(0x01)).toBe(0);
    expect(codepointToKeysym(0x85)).toBe(0);
    expect(codepointToKeysym(0xdc00)).toBe(0);
    expect(codepointToKeysym(0x110000)).toBe(0);
  });

  it('round-trips every exact legacy mapping', () => {
    for (let i = 0; i < UCS_TO_LEGACY_KEYSYM.length; i += 2) {
      const cp = UCS_TO_LEGACY_KEYSYM[i]!;
      const ks = UCS_TO_LEGACY_KEYSYM[i + 1]!;
      expect(codepointToKeysym(cp)).toBe(ks);
      expect(keysymToCodepoint(ks)).toBe(cp);
    }
    expect(LEGACY_KEYSYM_TO_UCS.length).toBeGreaterThan(1400);
  });
});

describe('normalizeKeysym and equivalentKeysyms', () => {
  it('turns raw control characters (vncdotool) into function keysyms', () => {
    expect(normalizeKeysym(0x0a)).toBe(XK.Return);
    expect(normalizeKeysym(0x0d)).toBe(XK.Return);
    expect(normalizeKeysym(0x09)).toBe(XK.Tab);
    expect(normalizeKeysym(0x08)).toBe(XK.BackSpace);
    expect(normalizeKeysym(0x1b)).toBe(XK.Escape);
    expect(normalizeKeysym(0x7f)).toBe(XK.Delete);
    expect(normalizeKeysym(0x0100000d)).toBe(XK.Return);
  });

  it('turns Latin-1 Unicode keysyms into classic ones and leaves others alone', () => {
    expect(normalizeKeysym(0x01000041)).toBe(0x41);
    expect(normalizeKeysym(0x010000e9)).toBe(0xe9);
    expect(normalizeKeysym(0x010020ac)).toBe(0x010020ac);
    expect(normalizeKeysym(0x21)).toBe(0x21);
    expect(normalizeKeysym(XK.F1)).toBe(XK.F1);
  });

  it('lists the legacy and Unicode spellings of the same character', () => {
    expect(equivalentKeysyms(0x20ac)).toEqual([0x20ac, 0x010020ac]);
    expect(equivalentKeysyms(0x010020ac)).toEqual([0x010020ac, 0x20ac]);
    expect(equivalentKeysyms(0x01000436)).toEqual([0x01000436, 0x6d6]);
    expect(equivalentKeysyms(0x61)).toEqual([0x61]);
    expect(equivalentKeysyms(XK.KP_0 + 1)).toEqual([XK.KP_0 + 1]);
  });
});

describe('classification and case', () => {
  it('knows modifiers and keypad keysyms', () => {
    for (const k of [XK.Shift_L, XK.Control_R, XK.Alt_L, XK.Meta_L, XK.Super_L, XK.Hyper_L, XK.ISO_Level3_Shift, XK.Caps_Lock, XK.Num_Lock]) {
      expect(isModifierKeysym(k)).toBe(true);
    }
    expect(isModifierKeysym(0x61)).toBe(false);
    expect(isKeypadKeysym(XK.KP_Decimal)).toBe(true);
    expect(isKeypadKeysym(0xff9c)).toBe(true); // KP_End
    expect(isKeypadKeysym(XK.Return)).toBe(false);
  });

  it('converts case across Latin-1, legacy and Unicode keysyms', () => {
    expect(convertCase(0x61)).toEqual([0x61, 0x41]);
    expect(convertCase(0x41)).toEqual([0x61, 0x41]);
    expect(convertCase(0xe9)).toEqual([0xe9, 0xc9]);
    expect(convertCase(0x6d6)).toEqual([0x6d6, 0x6f6]); // ж / Ж
    expect(convertCase(0xdf)).toEqual([0xdf, 0xdf]); // ß has no single-character upper case
    expect(convertCase(0x31)).toEqual([0x31, 0x31]);
    expect(convertCase(XK.KP_0)).toEqual([XK.KP_0, XK.KP_0]);
  });
});
