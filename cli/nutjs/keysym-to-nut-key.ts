/**
 * Keysym → nut-js `Key` name, for the macOS/Windows backend. NOT VERIFIED ON REAL HARDWARE:
 * the mapping follows nut-js's documented Key enum; it has only been unit-tested here.
 *
 * Printable characters are not in this table: the backend types them as text, which nut-js
 * turns into the platform's Unicode input, so layout and Shift state do not matter.
 */
const NAMED: ReadonlyMap<number, string> = new Map([
  [0xff08, 'Backspace'], [0xff09, 'Tab'], [0xff0d, 'Enter'], [0xff1b, 'Escape'], [0xffff, 'Delete'],
  [0xff50, 'Home'], [0xff51, 'Left'], [0xff52, 'Up'], [0xff53, 'Right'], [0xff54, 'Down'],
  [0xff55, 'PageUp'], [0xff56, 'PageDown'], [0xff57, 'End'], [0xff63, 'Insert'], [0xff13, 'Pause'],
  [0xff61, 'Print'], [0xff14, 'ScrollLock'], [0xff7f, 'NumLock'], [0xffe5, 'CapsLock'], [0xff67, 'Menu'],
  [0xffe1, 'LeftShift'], [0xffe2, 'RightShift'], [0xffe3, 'LeftControl'], [0xffe4, 'RightControl'],
  [0xffe9, 'LeftAlt'], [0xffea, 'RightAlt'], [0xffe7, 'LeftSuper'], [0xffe8, 'RightSuper'],
  [0xffeb, 'LeftSuper'], [0xffec, 'RightSuper'], [0xfe03, 'RightAlt'],
  [0xff8d, 'NumPadEnter' /* nut-js has no KP_Enter on every platform; falls back below */],
  [0xffab, 'Add'], [0xffad, 'Subtract'], [0xffaa, 'Multiply'], [0xffaf, 'Divide'], [0xffae, 'Decimal'],
  [0xffbd, 'NumPadEqual'],
]);

/** nut-js names F1…F24 as `F1`…`F24`. */
function functionKey(keysym: number): string | undefined {
  const n = keysym - 0xffbe + 1;
  return n >= 1 && n <= 24 ? `F${n}` : undefined;
}

/** Keypad digits KP_0…KP_9. */
function keypadDigit(keysym: number): string | undefined {
  const n = keysym - 0xffb0;
  return n >= 0 && n <= 9 ? `NumPad${n}` : undefined;
}

/** The nut-js Key name for a non-printable keysym, or undefined. */
export function nutKeyName(keysym: number): string | undefined {
  return NAMED.get(keysym) ?? functionKey(keysym) ?? keypadDigit(keysym);
}

/** The character a printable keysym types (Latin-1 or Unicode keysym), or undefined. */
export function printableChar(keysym: number): string | undefined {
  if ((keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff)) return String.fromCodePoint(keysym);
  if (keysym >= 0x01000100 && keysym <= 0x0110ffff) return String.fromCodePoint(keysym - 0x01000000);
  return undefined;
}
