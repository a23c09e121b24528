/**
 * X keysym ↔ Unicode conversion, and the keysym normalisation RFB clients need.
 *
 * Four keysym families carry characters:
 * - Latin-1: keysyms 0x20–0x7e and 0xa0–0xff are the code point itself.
 * - Legacy blocks (0x100–0x20ff: Latin-2…4, Kana, Arabic, Cyrillic, Greek, technical, Hebrew,
 *   Thai, Hangul, EuroSign…): a generated table from X.Org's keysymdef.h
 *   (`keysym-unicode-table.ts`, made by `gen-keysym-unicode.mjs`).
 * - Unicode keysyms: 0x01000000 + code point (X11R6.9+), for everything else.
 * - A few function keysyms stand for control characters (BackSpace, Tab, Return, Escape,
 *   Delete) and keypad keysyms for digits and operators.
 */
import { LEGACY_KEYSYM_TO_UCS, UCS_TO_LEGACY_KEYSYM } from './keysym-unicode-table.js';

/** Keysym values used by the input code. Names follow keysymdef.h without the `XK_` prefix. */
export const XK = {
  NoSymbol: 0,
  BackSpace: 0xff08,
  Tab: 0xff09,
  Linefeed: 0xff0a,
  Return: 0xff0d,
  Escape: 0xff1b,
  Delete: 0xffff,
  ISO_Left_Tab: 0xfe20,
  ISO_Level3_Shift: 0xfe03,
  ISO_Level3_Latch: 0xfe04,
  ISO_Level3_Lock: 0xfe05,
  ISO_Level5_Shift: 0xfe11,
  ISO_Level5_Latch: 0xfe12,
  ISO_Level5_Lock: 0xfe13,
  Mode_switch: 0xff7e,
  Num_Lock: 0xff7f,
  KP_Space: 0xff80,
  KP_Tab: 0xff89,
  KP_Enter: 0xff8d,
  KP_Equal: 0xffbd,
  KP_Multiply: 0xffaa,
  KP_Add: 0xffab,
  KP_Separator: 0xffac,
  KP_Subtract: 0xffad,
  KP_Decimal: 0xffae,
  KP_Divide: 0xffaf,
  KP_0: 0xffb0,
  KP_9: 0xffb9,
  F1: 0xffbe,
  F35: 0xffe0,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  Control_L: 0xffe3,
  Control_R: 0xffe4,
  Caps_Lock: 0xffe5,
  Shift_Lock: 0xffe6,
  Meta_L: 0xffe7,
  Meta_R: 0xffe8,
  Alt_L: 0xffe9,
  Alt_R: 0xffea,
  Super_L: 0xffeb,
  Super_R: 0xffec,
  Hyper_L: 0xffed,
  Hyper_R: 0xffee,
} as const;

/** First Unicode keysym: keysym = UNICODE_KEYSYM_BASE + code point. */
export const UNICODE_KEYSYM_BASE = 0x01000000;
const MAX_CODEPOINT = 0x10ffff;

/** Binary search in flat [key, value, key, value, …] pairs sorted by key. */
function lookupPairs(pairs: readonly number[], key: number): number | undefined {
  let lo = 0;
  let hi = pairs.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const k = pairs[mid * 2]!;
    if (k === key) return pairs[mid * 2 + 1];
    if (k < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** Control characters that have a dedicated function keysym. */
const CONTROL_TO_KEYSYM: ReadonlyMap<number, number> = new Map([
  [0x08, XK.BackSpace],
  [0x09, XK.Tab],
  [0x0a, XK.Return], // vncdotool sends "\n" raw and means Enter
  [0x0d, XK.Return],
  [0x1b, XK.Escape],
  [0x7f, XK.Delete],
]);

const FUNCTION_TO_UCS: ReadonlyMap<number, number> = new Map([
  [XK.BackSpace, 0x08],
  [XK.Tab, 0x09],
  [XK.Linefeed, 0x0a],
  [XK.Return, 0x0d],
  [XK.Escape, 0x1b],
  [XK.Delete, 0x7f],
  [XK.KP_Space, 0x20],
  [XK.KP_Tab, 0x09],
  [XK.KP_Enter, 0x0d],
  [XK.KP_Equal, 0x3d],
  [XK.KP_Multiply, 0x2a],
  [XK.KP_Add, 0x2b],
  [XK.KP_Separator, 0x2c],
  [XK.KP_Subtract, 0x2d],
  [XK.KP_Decimal, 0x2e],
  [XK.KP_Divide, 0x2f],
]);

/**
 * The Unicode code point a keysym types, or undefined for keysyms without one (modifiers,
 * cursor keys, F-keys, dead keys). Keypad digits and operators map to their ASCII character.
 */
export function keysymToCodepoint(keysym: number): number | undefined {
  if (!Number.isInteger(keysym) || keysym < 0) return undefined;
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) return keysym;
  if (keysym >= UNICODE_KEYSYM_BASE) {
    const cp = keysym - UNICODE_KEYSYM_BASE;
    return cp <= MAX_CODEPOINT && !(cp >= 0xd800 && cp <= 0xdfff) ? cp : undefined;
  }
  if (keysym >= XK.KP_0 && keysym <= XK.KP_9) return 0x30 + (keysym - XK.KP_0);
  const fn = FUNCTION_TO_UCS.get(keysym);
  if (fn !== undefined) return fn;
  if (keysym >= 0x100 && keysym < 0xff00) return lookupPairs(LEGACY_KEYSYM_TO_UCS, keysym);
  return undefined;
}

/**
 * The preferred keysym for a code point: the control keysyms for BS/TAB/LF/CR/ESC/DEL, Latin-1
 * as is, the legacy keysym where keysymdef.h has an exact one (0x20ac EuroSign, 0x6d6
 * Cyrillic_zhe…), else the Unicode keysym. Returns NoSymbol (0) for code points that cannot be
 * typed (other C0/C1 controls, surrogates, out of range).
 */
export function codepointToKeysym(cp: number): number {
  if (!Number.isInteger(cp) || cp < 0 || cp > MAX_CODEPOINT || (cp >= 0xd800 && cp <= 0xdfff)) return XK.NoSymbol;
  const ctl = CONTROL_TO_KEYSYM.get(cp);
  if (ctl !== undefined) return ctl;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return XK.NoSymbol;
  if (cp <= 0xff) return cp;
  return lookupPairs(UCS_TO_LEGACY_KEYSYM, cp) ?? UNICODE_KEYSYM_BASE + cp;
}

/**
 * The canonical form of a keysym as a client sent it:
 * - raw control characters (0x08 0x09 0x0a 0x0d 0x1b 0x7f, as vncdotool sends them) become
 *   BackSpace, Tab, Return (for both LF and CR), Escape, Delete;
 * - Unicode keysyms for Latin-1 or those control characters become their classic keysym.
 * Everything else is returned unchanged.
 */
export function normalizeKeysym(keysym: number): number {
  const ctl = CONTROL_TO_KEYSYM.get(keysym);
  if (ctl !== undefined) return ctl;
  if (keysym >= UNICODE_KEYSYM_BASE && keysym < UNICODE_KEYSYM_BASE + 0x100) {
    const cp = keysym - UNICODE_KEYSYM_BASE;
    const c = CONTROL_TO_KEYSYM.get(cp);
    if (c !== undefined) return c;
    if ((cp >= 0x20 && cp <= 0x7e) || cp >= 0xa0) return cp;
  }
  return keysym;
}

/**
 * Keysyms that type the same character as `keysym`, canonical form first: e.g. EuroSign
 * 0x20ac and U+20AC 0x010020ac are interchangeable. A keymap may carry either, so lookups try
 * all of them. Keysyms without a character give just their normalised self.
 */
export function equivalentKeysyms(keysym: number): number[] {
  const ks = normalizeKeysym(keysym);
  const out = [ks];
  const cp = keysymToCodepoint(ks);
  // Keypad and function keysyms are distinct keys, not spellings of their character.
  if (cp === undefined || cp < 0x100 || (ks >= 0xff00 && ks < UNICODE_KEYSYM_BASE)) return out;
  const legacy = lookupPairs(UCS_TO_LEGACY_KEYSYM, cp);
  if (legacy !== undefined && legacy !== ks) out.push(legacy);
  const uni = UNICODE_KEYSYM_BASE + cp;
  if (uni !== ks) out.push(uni);
  return out;
}

/** Keypad keysyms (KP_Space … KP_Equal), whose level depends on NumLock. */
export function isKeypadKeysym(keysym: number): boolean {
  return keysym >= XK.KP_Space && keysym <= XK.KP_Equal;
}

const MODIFIER_KEYSYMS: ReadonlySet<number> = new Set([
  XK.Shift_L, XK.Shift_R, XK.Control_L, XK.Control_R, XK.Caps_Lock, XK.Shift_Lock,
  XK.Meta_L, XK.Meta_R, XK.Alt_L, XK.Alt_R, XK.Super_L, XK.Super_R, XK.Hyper_L, XK.Hyper_R,
  XK.ISO_Level3_Shift, XK.ISO_Level3_Latch, XK.ISO_Level3_Lock,
  XK.ISO_Level5_Shift, XK.ISO_Level5_Latch, XK.ISO_Level5_Lock,
  XK.Mode_switch, XK.Num_Lock,
]);

/** Modifier and lock keysyms: pressed as they are, never with faked Shift/AltGr around them. */
export function isModifierKeysym(keysym: number): boolean {
  return MODIFIER_KEYSYMS.has(keysym);
}

/**
 * Simple case mapping for keysyms, as X's XConvertCase does for the alphabetic check: returns
 * [lower, upper]. Covers Latin-1, the legacy blocks through their code points, and Unicode
 * keysyms. Keysyms without case give [ks, ks].
 */
export function convertCase(keysym: number): [lower: number, upper: number] {
  const cp = keysymToCodepoint(keysym);
  if (cp === undefined || cp < 0x41 || (keysym >= 0xff00 && keysym < UNICODE_KEYSYM_BASE)) return [keysym, keysym];
  const ch = String.fromCodePoint(cp);
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  // Only 1:1 mappings count (ß → "SS" is not a case pair for a key).
  const lcp = [...lo].length === 1 ? lo.codePointAt(0)! : cp;
  const ucp = [...up].length === 1 ? up.codePointAt(0)! : cp;
  return [lcp === cp ? keysym : codepointToKeysym(lcp), ucp === cp ? keysym : codepointToKeysym(ucp)];
}
