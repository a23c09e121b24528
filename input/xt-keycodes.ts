/**
 * QEMU extended key events carry the physical key as an XT "qnum": the set-1 scancode, with
 * 0x80 added for keys that have the 0xE0 prefix (rfbproto "QEMU Extended Key Event Message").
 * X servers with the evdev rules (Xvfb, Xorg) number keys as Linux input keycodes + 8.
 *
 * For qnums 0x01–0x58 the Linux keycode equals the scancode. Extended keys need the table below
 * (from the published XT/Linux keycode correspondence, e.g. the keymaps database used by QEMU
 * and libvirt).
 */
const EXTENDED_TO_LINUX: ReadonlyMap<number, number> = new Map([
  [0x9c, 96], // KP_Enter
  [0x9d, 97], // Control_R
  [0xb5, 98], // KP_Divide
  [0xb7, 99], // Print / SysRq
  [0xb8, 100], // Alt_R (AltGr)
  [0xc6, 119], // Pause (Ctrl+Break form)
  [0xc7, 102], // Home
  [0xc8, 103], // Up
  [0xc9, 104], // Prior
  [0xcb, 105], // Left
  [0xcd, 106], // Right
  [0xcf, 107], // End
  [0xd0, 108], // Down
  [0xd1, 109], // Next
  [0xd2, 110], // Insert
  [0xd3, 111], // Delete
  [0xdb, 125], // Super_L
  [0xdc, 126], // Super_R
  [0xdd, 127], // Menu
]);

/** The evdev X keycode for an XT qnum, or 0 when unknown. */
export function qnumToXKeycode(qnum: number): number {
  if (qnum >= 0x01 && qnum <= 0x58) return qnum + 8;
  const linux = EXTENDED_TO_LINUX.get(qnum);
  return linux === undefined ? 0 : linux + 8;
}
