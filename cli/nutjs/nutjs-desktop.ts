/**
 * macOS/Windows desktop through `@nut-tree-fork/nut-js`.
 *
 * NOT VERIFIED ON REAL HARDWARE. This backend has never run on macOS or Windows: the project's
 * machines are Linux, and on Linux the X11 backend (cli/x11-desktop.ts) is used instead. It is
 * loaded with a dynamic import only when `process.platform` is `darwin` or `win32`, because
 * nut-js's native module exits the process on some inputs under X11 (platform-findings.md §1).
 *
 * Known limits (from nut-js itself): capture is synchronous and has no damage events, so every
 * poll grabs the whole screen and the tile diff finds the changes; keys outside nut-js's Key
 * enum are typed as text (printable) or dropped (logged); mouse buttons 8/9 cannot be sent.
 */
import type { Logger } from '../../core/log.js';
import { createPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import { createTileMap, diffTiles } from '../../capture/tile-diff.js';
import { coalesceTiles } from '../../capture/tile-coalesce.js';
import type { Desktop, DesktopEvents } from '../../server/desktop.js';
import { nutKeyName, printableChar } from './keysym-to-nut-key.js';

// The subset of nut-js this backend uses, typed locally (the package is an optional dependency).
interface NutImage { width: number; height: number; data: Buffer; byteWidth: number }
interface NutJs {
  screen: { grab(): Promise<NutImage> };
  mouse: {
    config: { autoDelayMs: number };
    setPosition(p: unknown): Promise<void>;
    pressButton(b: number): Promise<void>;
    releaseButton(b: number): Promise<void>;
    scrollUp(n: number): Promise<void>;
    scrollDown(n: number): Promise<void>;
    scrollLeft(n: number): Promise<void>;
    scrollRight(n: number): Promise<void>;
  };
  keyboard: { config: { autoDelayMs: number }; pressKey(...k: number[]): Promise<void>; releaseKey(...k: number[]): Promise<void>; type(s: string): Promise<void> };
  clipboard: { setContent(s: string): Promise<void>; getContent(): Promise<string> };
  Key: Record<string, number>;
  Button: { LEFT: number; MIDDLE: number; RIGHT: number };
  Point: new (x: number, y: number) => unknown;
}

export class NutJsDesktop implements Desktop {
  readonly name = `vnc-runner (${process.platform}, nut-js backend, unverified)`;
  framebuffer: PixelBuffer = createPixelBuffer(1, 1);
  private prev: PixelBuffer = createPixelBuffer(1, 1);
  private nut: NutJs | null = null;
  private events: DesktopEvents | null = null;
  private buttons = 0;
  private queue: Promise<void> = Promise.resolve();
  private clipboardTimer: NodeJS.Timeout | null = null;
  private lastClipboard = '';

  constructor(private readonly log: Logger) {}

  async start(events: DesktopEvents): Promise<void> {
    this.events = events;
    if (this.nut) return;
    this.nut = (await import('@nut-tree-fork/nut-js' as string)) as NutJs;
    this.nut.keyboard.config.autoDelayMs = 0; // default 300 ms per key would make typing crawl
    this.nut.mouse.config.autoDelayMs = 0;
    await this.grabInto(true);
    this.clipboardTimer = setInterval(() => void this.pollClipboard(), 1000);
    this.clipboardTimer.unref();
    this.log.warn('using the nut-js desktop backend: NOT verified on real macOS/Windows hardware');
  }

  /** Grabs the screen; BGRX with X=0 from nut-js, which is our internal layout already. */
  private async grabInto(first: boolean): Promise<void> {
    const img = await this.nut!.screen.grab();
    if (img.width !== this.framebuffer.width || img.height !== this.framebuffer.height) {
      this.framebuffer = createPixelBuffer(img.width, img.height);
      this.prev = createPixelBuffer(img.width, img.height);
      if (!first) this.events?.resize(img.width, img.height);
      first = true;
    }
    [this.prev, this.framebuffer] = [this.framebuffer, this.prev];
    for (let y = 0; y < img.height; y++) img.data.copy(this.framebuffer.data, y * img.width * 4, y * img.byteWidth, y * img.byteWidth + img.width * 4);
    if (first) this.prev.data.set(this.framebuffer.data);
  }

  async poll(): Promise<void> {
    if (!this.nut) return;
    await this.grabInto(false);
    const map = createTileMap(this.framebuffer.width, this.framebuffer.height);
    if (diffTiles(this.prev, this.framebuffer, map) > 0) this.events?.damage(coalesceTiles(map));
  }

  /** nut-js calls are async; chaining keeps input events in order. */
  private enqueue(fn: (nut: NutJs) => Promise<void>): void {
    const nut = this.nut;
    if (!nut) return;
    this.queue = this.queue.then(() => fn(nut)).catch((err) => this.log.warn('input event failed', { err: err as Error }));
  }

  keyEvent(keysym: number, down: boolean): void {
    const name = nutKeyName(keysym);
    this.enqueue(async (nut) => {
      const key = name !== undefined ? nut.Key[name] : undefined;
      if (key !== undefined) return down ? nut.keyboard.pressKey(key) : nut.keyboard.releaseKey(key);
      const ch = printableChar(keysym);
      if (ch !== undefined && down) return nut.keyboard.type(ch);
      if (ch === undefined) this.log.debug('keysym not available in the nut-js backend', { keysym });
    });
  }

  pointerEvent(x: number, y: number, buttonMask: number): void {
    const changed = buttonMask ^ this.buttons;
    this.buttons = buttonMask;
    this.enqueue(async (nut) => {
      await nut.mouse.setPosition(new nut.Point(x, y));
      const map: [number, number][] = [[1, nut.Button.LEFT], [2, nut.Button.MIDDLE], [4, nut.Button.RIGHT]];
      for (const [bit, button] of map) {
        if (changed & bit) await (buttonMask & bit ? nut.mouse.pressButton(button) : nut.mouse.releaseButton(button));
      }
      // Wheel bits are press+release pairs in RFB: act on the press. nut-js's left/right are
      // swapped relative to X (platform-findings.md §1), so name them by effect here.
      if (changed & buttonMask & 8) await nut.mouse.scrollUp(1);
      if (changed & buttonMask & 16) await nut.mouse.scrollDown(1);
      if (changed & buttonMask & 32) await nut.mouse.scrollLeft(1);
      if (changed & buttonMask & 64) await nut.mouse.scrollRight(1);
    });
  }

  setClipboard(text: string): void {
    this.lastClipboard = text;
    this.enqueue((nut) => nut.clipboard.setContent(text));
  }

  private async pollClipboard(): Promise<void> {
    if (!this.nut) return;
    try {
      const text = await this.nut.clipboard.getContent();
      if (text !== this.lastClipboard) {
        this.lastClipboard = text;
        this.events?.clipboard(text);
      }
    } catch {
      // Clipboard access can fail transiently (another app holds it); try again next time.
    }
  }

  async flushInput(): Promise<void> {
    await this.queue;
  }

  async stop(): Promise<void> {
    if (this.clipboardTimer) clearInterval(this.clipboardTimer);
    await this.flushInput();
    this.nut = null;
  }
}
