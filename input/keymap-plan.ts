/**
 * Pure planning of one key press: which keycode produces a keysym under the current modifier
 * state, and which modifiers must be faked around it. No X calls here, so every rule is
 * unit-testable; `x11-keyboard.ts` executes the plan.
 *
 * The model follows how XKB maps the core keymap (7 keysyms per keycode on Xvfb's pc+us):
 * columns 0/1 are group 1 levels 1/2, columns 2/3 group 2, columns 4/5 group 1 levels 3/4
 * (AltGr, Shift+AltGr). The level a key yields depends on its type, guessed from its keysyms
 * the way XKB does for core mappings:
 * - ONE_LEVEL (column 1 empty or equal to column 0): always column 0;
 * - KEYPAD (a keypad keysym in column 0 or 1): column 1 iff NumLock is on (Shift has no effect
 *   on this keymap: measured, Shift+KP_End stays KP_End);
 * - ALPHABETIC (columns 0/1 are a lower/upper case pair): column 1 iff Shift XOR Lock;
 * - TWO_LEVEL otherwise: column 1 iff Shift;
 * - with the level-3 modifier on and a keysym in column 4 or 5: column 4, or 5 with Shift.
 *
 * Modifier rules (the contract): a keysym produces its character whatever the modifier
 * state, so Shift and AltGr are faked when needed, and an AltGr the client holds may be released
 * for the duration of the press; but a Shift the client holds is never released, because
 * clients that send Shift + `1` or Shift + `a` mean `!` and `A`. Anything the keymap cannot
 * produce that way (F13, é, €, KP_1 with NumLock off) goes to a remapped spare keycode.
 */
import { convertCase, equivalentKeysyms, isKeypadKeysym, isModifierKeysym, XK } from './keysym-unicode.js';

/** Core modifier bits (X11 KeyButMask). */
export const ModMask = {
  Shift: 0x01,
  Lock: 0x02,
  Control: 0x04,
  Mod1: 0x08,
  Mod2: 0x10,
  Mod3: 0x20,
  Mod4: 0x40,
  Mod5: 0x80,
} as const;

/** The core keyboard and modifier mapping, as GetKeyboardMapping/GetModifierMapping return them. */
export interface KeymapSnapshot {
  readonly minKeycode: number;
  /** `rows[i]` holds the keysyms of keycode `minKeycode + i` (0 = NoSymbol). */
  readonly rows: readonly (readonly number[])[];
  /** 8 rows (Shift, Lock, Control, Mod1…Mod5) of keycodes; 0 entries are unused. */
  readonly modifiers: readonly (readonly number[])[];
}

/** What the server holds right now, as far as planning needs it. */
export interface KeyState {
  /** Effective core modifier mask (QueryPointer `keyMask`): Shift, Lock, NumLock, AltGr bits. */
  readonly modMask: number;
  /** True if the keycode is physically down (QueryKeymap). */
  isDown(keycode: number): boolean;
}

/** The outcome of {@link planKeyPress}. */
export type KeyPlan =
  | {
      readonly kind: 'press';
      readonly keycode: number;
      /** Pressed before the key and released right after it, in this order. */
      readonly fakePress: readonly number[];
      /** Held keys released before the key and pressed again right after it. */
      readonly fakeRelease: readonly number[];
    }
  /** The keymap cannot produce the keysym: map it onto a spare keycode and press that. */
  | { readonly kind: 'remap'; readonly keysym: number };

/** Facts derived once per keymap: which modifier bits and keys mean NumLock and AltGr. */
export interface KeymapInfo {
  readonly numLockMask: number;
  readonly level3Mask: number;
  /** A keycode that sets Shift (prefers Shift_L). 0 if none. */
  readonly shiftKeycode: number;
  /** A keycode that sets level 3 (ISO_Level3_Shift). 0 if none. */
  readonly level3Keycode: number;
}

/** Keysym at `col` of `keycode`, NoSymbol if out of range. */
export function keysymAt(km: KeymapSnapshot, keycode: number, col: number): number {
  return km.rows[keycode - km.minKeycode]?.[col] ?? XK.NoSymbol;
}

/** Finds the modifier bit whose row contains a keycode carrying `keysym` in column 0 or 1. */
function modifierMaskOf(km: KeymapSnapshot, keysym: number): number {
  for (let m = 0; m < 8; m++) {
    for (const kc of km.modifiers[m] ?? []) {
      if (kc && (keysymAt(km, kc, 0) === keysym || keysymAt(km, kc, 1) === keysym)) return 1 << m;
    }
  }
  return 0;
}

/** The first keycode of modifier row `mask` with `keysym` in column 0 (0 if none). */
function modifierKeycode(km: KeymapSnapshot, mask: number, keysym: number): number {
  const row = km.modifiers[Math.log2(mask)] ?? [];
  return row.find((kc) => kc !== 0 && keysymAt(km, kc, 0) === keysym) ?? 0;
}

/** Derives {@link KeymapInfo} from a keymap; recompute whenever the keymap changes. */
export function keymapInfo(km: KeymapSnapshot): KeymapInfo {
  const level3Mask = modifierMaskOf(km, XK.ISO_Level3_Shift);
  const shiftRow = km.modifiers[0] ?? [];
  return {
    numLockMask: modifierMaskOf(km, XK.Num_Lock),
    level3Mask,
    shiftKeycode:
      modifierKeycode(km, ModMask.Shift, XK.Shift_L) ||
      modifierKeycode(km, ModMask.Shift, XK.Shift_R) ||
      (shiftRow.find((kc) => kc !== 0) ?? 0),
    level3Keycode: level3Mask ? modifierKeycode(km, level3Mask, XK.ISO_Level3_Shift) : 0,
  };
}

type KeyType = 'one' | 'keypad' | 'alpha' | 'two';

function keyType(row: readonly number[]): KeyType {
  const c0 = row[0] ?? 0;
  const c1 = row[1] ?? 0;
  if (c1 === XK.NoSymbol || c1 === c0) return 'one';
  if (isKeypadKeysym(c0) || isKeypadKeysym(c1)) return 'keypad';
  const [lower, upper] = convertCase(c0);
  if (lower === c0 && upper === c1 && upper !== lower) return 'alpha';
  return 'two';
}

/** Modifier state relevant to level selection. */
interface Levels {
  shift: boolean;
  lock: boolean;
  numLock: boolean;
  level3: boolean;
}

/** The keysym `row` yields under `s` (our model of XKB's level choice). */
export function producedKeysym(row: readonly number[], s: Levels): number {
  const c0 = row[0] ?? 0;
  if (s.level3 && ((row[4] ?? 0) !== 0 || (row[5] ?? 0) !== 0)) {
    const c5 = row[5] ?? 0;
    return s.shift && c5 !== 0 ? c5 : (row[4] ?? 0);
  }
  switch (keyType(row)) {
    case 'one':
      return c0;
    case 'keypad':
      return s.numLock ? (row[1] ?? 0) : c0;
    case 'alpha':
      return s.shift !== s.lock ? (row[1] ?? 0) : c0;
    case 'two':
      return s.shift ? (row[1] ?? 0) : c0;
  }
}

/** Keycodes that currently hold `mask` down (for releasing a client's AltGr around a key). */
function heldKeycodes(km: KeymapSnapshot, mask: number, state: KeyState): number[] {
  const row = km.modifiers[Math.log2(mask)] ?? [];
  return [...new Set(row.filter((kc) => kc !== 0 && state.isDown(kc)))];
}

/**
 * Where a modifier keysym lives. A modifier works through the XKB action of the level pressed,
 * and keys like Hyper_L or Meta_L on pc+us exist only at level 2 of a keycode whose level 1
 * is NoSymbol (pressing it alone does nothing). Order of preference:
 * 1. a keycode with the keysym in column 0, in the modifier map (Shift_L, Super_L, Num_Lock);
 * 2. any keycode with the keysym in column 0;
 * 3. a key with the keysym in another column that is in the modifier map: press a column-0
 *    modifier key of the same modifier row instead (Hyper_L → Super_L, both Mod4; Meta_L →
 *    Alt_L, both Mod1), so applications see the same modifier state;
 * 4. a remapped spare keycode (the keysym arrives, without modifier state).
 */
function planModifier(km: KeymapSnapshot, keysym: number): KeyPlan {
  const press = (keycode: number): KeyPlan => ({ kind: 'press', keycode, fakePress: [], fakeRelease: [] });
  const inModMap = new Set(km.modifiers.flat().filter((kc) => kc !== 0));
  const col0 = km.rows.flatMap((row, i) => (row[0] === keysym ? [km.minKeycode + i] : []));
  const mapped = col0.find((kc) => inModMap.has(kc));
  if (mapped) return press(mapped);
  if (col0.length) return press(col0[0]!);
  for (const row of km.modifiers) {
    const live = row.filter((kc) => kc !== 0);
    if (!live.some((kc) => km.rows[kc - km.minKeycode]?.includes(keysym))) continue;
    const substitute = live.find((kc) => keysymAt(km, kc, 0) !== XK.NoSymbol);
    if (substitute) return press(substitute);
  }
  return { kind: 'remap', keysym };
}

/**
 * Plans the press of `keysym` (already in the form a client sent; it is normalised here).
 * Modifier keysyms are pressed as they are. For the others, the cheapest way is chosen:
 * as is, then faking Shift and/or AltGr on, or releasing a client-held AltGr; a Shift the
 * client holds is kept even if that shifts the character (X semantics: Shift + `a` = `A`).
 */
export function planKeyPress(keysym: number, km: KeymapSnapshot, info: KeymapInfo, state: KeyState): KeyPlan {
  const targets = equivalentKeysyms(keysym);
  const canonical = targets[0]!;
  if (canonical === XK.NoSymbol) return { kind: 'remap', keysym: canonical };
  if (isModifierKeysym(canonical)) return planModifier(km, canonical);

  const held: Levels = {
    shift: (state.modMask & ModMask.Shift) !== 0,
    lock: (state.modMask & ModMask.Lock) !== 0,
    numLock: info.numLockMask !== 0 && (state.modMask & info.numLockMask) !== 0,
    level3: info.level3Mask !== 0 && (state.modMask & info.level3Mask) !== 0,
  };
  // Shift can only be added (never released); AltGr can be added or released.
  const shiftOptions = held.shift ? [true] : info.shiftKeycode ? [false, true] : [false];
  const level3Options = held.level3 ? [true, false] : info.level3Keycode ? [false, true] : [false];
  const level3Release = held.level3 ? heldKeycodes(km, info.level3Mask, state) : [];

  let best: { keycode: number; shift: boolean; level3: boolean; cost: number } | undefined;
  let shiftBlocked = 0; // a key that would work if the client's Shift were up
  for (let i = 0; i < km.rows.length; i++) {
    const row = km.rows[i]!;
    // Only group-1 columns (0, 1, 4, 5) are reachable without switching groups.
    if (![0, 1, 4, 5].some((c) => targets.includes(row[c] ?? 0))) continue;
    const keycode = km.minKeycode + i;
    for (const shift of shiftOptions) {
      for (const level3 of level3Options) {
        if (level3 !== held.level3 && !level3 && level3Release.length === 0) continue;
        if (!targets.includes(producedKeysym(row, { ...held, shift, level3 }))) continue;
        const cost = (shift !== held.shift ? 1 : 0) + (level3 !== held.level3 ? 1 : 0);
        if (!best || cost < best.cost) best = { keycode, shift, level3, cost };
      }
    }
    if (held.shift && !shiftBlocked && targets.includes(producedKeysym(row, { ...held, shift: false, level3: false }))) {
      shiftBlocked = keycode;
    }
  }
  if (best) {
    const fakePress: number[] = [];
    const fakeRelease: number[] = [];
    if (best.shift && !held.shift) fakePress.push(info.shiftKeycode);
    if (best.level3 && !held.level3) fakePress.push(info.level3Keycode);
    if (!best.level3 && held.level3) fakeRelease.push(...level3Release);
    return { kind: 'press', keycode: best.keycode, fakePress, fakeRelease };
  }
  if (shiftBlocked) {
    // The client holds Shift over an unshifted keysym (Shift + `a`, Shift + `1`): press the key
    // under its Shift, which is what the user's keyboard would have done.
    return { kind: 'press', keycode: shiftBlocked, fakePress: [], fakeRelease: [] };
  }
  return { kind: 'remap', keysym: canonical };
}
