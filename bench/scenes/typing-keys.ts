/**
 * The keys of the typing scene and where each one's echo appears. After the scene's reset the
 * terminal is cleared and the cursor is at the top-left cell; each character is echoed by the
 * tty at the cursor, and a Return moves the cursor to the start of the next line. Knowing the
 * cell of each echo lets the latency measurement tell which update carries which key, even when
 * a slow server is still sending the previous echo when the next key goes out. Pure.
 */
import type { Rect } from '../../core/geometry.js';

/** xterm's default internal border, in pixels, around the character cells. */
export const XTERM_BORDER = 2;
const XK_RETURN = 0xff0d;

export interface TypedKey {
  readonly keysym: number;
  /** Screen rectangle that changes when this key is echoed. */
  readonly cell: Rect;
}

export interface TerminalGeometry {
  /** The terminal window on the screen. */
  readonly rect: Rect;
  readonly cols: number;
  readonly rows: number;
}

/**
 * The first `count` keys: `text`'s characters with a Return after every `lineLength`, and the
 * cell each one's echo lands in. Stops early when the terminal would scroll (the measurement
 * resets the terminal before that many keys are needed).
 */
export function typingKeys(text: string, lineLength: number, term: TerminalGeometry, count: number): TypedKey[] {
  const cw = (term.rect.w - 2 * XTERM_BORDER) / term.cols;
  const ch = (term.rect.h - 2 * XTERM_BORDER) / term.rows;
  const cell = (col: number, row: number): Rect => ({
    x: Math.floor(term.rect.x + XTERM_BORDER + col * cw),
    y: Math.floor(term.rect.y + XTERM_BORDER + row * ch),
    w: Math.max(1, Math.ceil(cw)),
    h: Math.max(1, Math.ceil(ch)),
  });
  const keys: TypedKey[] = [];
  let col = 0;
  let row = 0;
  let k = 0;
  while (keys.length < count && row < term.rows - 1) {
    if (col === lineLength) {
      row++;
      col = 0;
      keys.push({ keysym: XK_RETURN, cell: cell(0, row) });
      continue;
    }
    const c = text.charCodeAt(k++ % text.length);
    keys.push({ keysym: c, cell: cell(col, row) });
    col++;
  }
  return keys;
}
