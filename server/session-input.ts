/**
 * One client's input state: which keys and buttons it holds, so that everything is released
 * when it disconnects (TigerVNC ~VNCSConnectionST), and the pointer clamped to the screen.
 */
import type { Desktop } from './desktop.js';

export class SessionInput {
  /** keysym → held; Set keeps press order for the release sequence. */
  private readonly keysDown = new Set<number>();
  /** XT scancodes held through QEMU extended key events, with the keysym sent. */
  private readonly scancodesDown = new Map<number, number>();
  private buttons = 0;
  private x = 0;
  private y = 0;

  constructor(
    private readonly desktop: Desktop,
    private readonly clientId: number,
  ) {}

  key(keysym: number, down: boolean): void {
    if (down) this.keysDown.add(keysym);
    else if (!this.keysDown.delete(keysym)) {
      // A release for a key we never saw pressed (e.g. held before connecting): pass it on,
      // the desktop ignores releases of keys that are up.
    }
    this.desktop.keyEvent(keysym, down, this.clientId);
  }

  scancode(keysym: number, scancode: number, down: boolean): void {
    if (!this.desktop.keyCodeEvent) {
      this.key(keysym, down);
      return;
    }
    if (down) this.scancodesDown.set(scancode, keysym);
    else this.scancodesDown.delete(scancode);
    this.desktop.keyCodeEvent(keysym, scancode, down, this.clientId);
  }

  pointer(x: number, y: number, mask: number, width: number, height: number): void {
    this.x = Math.min(Math.max(0, x), Math.max(0, width - 1));
    this.y = Math.min(Math.max(0, y), Math.max(0, height - 1));
    this.buttons = mask;
    this.desktop.pointerEvent(this.x, this.y, mask, this.clientId);
  }

  /** Releases every key and button this client still holds (in reverse press order). */
  releaseAll(): void {
    for (const [scancode, keysym] of [...this.scancodesDown].reverse()) this.desktop.keyCodeEvent?.(keysym, scancode, false, this.clientId);
    this.scancodesDown.clear();
    for (const keysym of [...this.keysDown].reverse()) this.desktop.keyEvent(keysym, false, this.clientId);
    this.keysDown.clear();
    if (this.buttons !== 0) {
      this.buttons = 0;
      this.desktop.pointerEvent(this.x, this.y, 0, this.clientId);
    }
  }
}
