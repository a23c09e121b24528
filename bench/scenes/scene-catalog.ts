/**
 * The seven scenes of issue 3, at any screen size (the benchmark uses 1920×1080). Each scene is
 * a pure function of its seed: `setup` builds the desktop (wallpaper, windows, terminals),
 * `frame(0)` draws the complete initial state — which is also how a scene is reset between
 * measurements, so every server and encoding sees the same frames — and `frame(i)` for i ≥ 1
 * draws one step of the animation. The player (player.ts) calls `frame` at `fps`.
 *
 * Drawing is what real applications do: xterm scrolls with XCopyArea, a browser scrolls with
 * CopyArea plus an image of the exposed strip, a video player puts a new image per frame, a
 * dragged window is moved with ConfigureWindow and the X server repaints what it uncovers.
 */
import type { SceneCanvas, TerminalHandle } from './canvas.js';
import { createGlyphFont, drawText, fillRect, type GlyphFont } from './glyphs.js';
import { photoImage } from './photo.js';
import { createPrng, subSeed } from './prng.js';
import { logLine, typingText } from './text-feed.js';
import { WebPage } from './web-page.js';
import { wallpaperImage } from '../lib/wallpaper.js';
import { ErrorCode, VncError } from '../../core/errors.js';

export const SCENE_NAMES = ['idle', 'terminal', 'typing', 'window-drag', 'slideshow', 'video', 'web-scroll'] as const;
export type SceneName = (typeof SCENE_NAMES)[number];

/** Keys the measuring client types into a terminal (typing scene). */
export interface TypingPlan {
  readonly charsPerSecond: number;
  /** Characters to type in order (lowercase letters and spaces). */
  readonly text: string;
  /** A Return is typed after this many characters. */
  readonly lineLength: number;
  /** The terminal that receives the keys (valid after setup). */
  terminal(): TerminalHandle;
}

export interface Scene {
  readonly name: SceneName;
  readonly description: string;
  /** Frames per second at which the player calls `frame`. */
  readonly fps: number;
  /** Builds the scene's desktop on `canvas`; call once. */
  setup(canvas: SceneCanvas): Promise<void>;
  /** Draws frame `i` (0 = full initial state). Only after setup. */
  frame(i: number): void;
  readonly typing?: TypingPlan;
}

const TASKBAR_H = 36;
const TASKBAR_RGB = 0x1f1f1f;
const TITLE_H = 28;

/** Wallpaper plus task bar: the desktop every windowed scene sits on. */
function paintDesktop(c: SceneCanvas): void {
  c.setRootBackground(wallpaperImage(c.width, c.height));
  c.createWindow({ x: 0, y: c.height - TASKBAR_H, w: c.width, h: TASKBAR_H, background: TASKBAR_RGB });
}

/** A document-like window image: a title bar over a page of text (and maybe a photo). */
function documentImage(w: number, h: number, seed: number, titleRgb: readonly [number, number, number]): Buffer {
  const img = Buffer.alloc(w * h * 4);
  new WebPage(Math.max(320, w), seed).rows(0, h - TITLE_H).copy(img, w * TITLE_H * 4);
  fillRect({ data: img, width: w, height: h }, 0, 0, w, TITLE_H, titleRgb);
  return img;
}

/** The state `setup` filled in; drawing before setup is a programming error. */
function requireSetup<T>(value: T | null, name: string): T {
  if (value === null) throw new VncError(ErrorCode.Config, `scene "${name}": frame() before setup()`);
  return value;
}

function idleScene(seed: number): Scene {
  let s: { c: SceneCanvas; editor: number; bar: number; font: GlyphFont } | null = null;
  const CLOCK_W = 70;
  const clockImage = (font: GlyphFont, seconds: number): Buffer => {
    const img = { data: Buffer.alloc(CLOCK_W * 20 * 4), width: CLOCK_W, height: 20 };
    fillRect(img, 0, 0, CLOCK_W, 20, [0x1f, 0x1f, 0x1f]);
    const t = 36000 + seconds;
    const hh = String(Math.floor(t / 3600) % 24).padStart(2, '0');
    const mm = String(Math.floor(t / 60) % 60).padStart(2, '0');
    const ss = String(t % 60).padStart(2, '0');
    drawText(img, font, 4, 2, `${hh}:${mm}:${ss}`, [230, 230, 230]);
    return img.data;
  };
  return {
    name: 'idle',
    description: 'desktop with an editor window: a text cursor blinking at 2 Hz and a task-bar clock ticking every second',
    fps: 2,
    async setup(c) {
      c.setRootBackground(wallpaperImage(c.width, c.height));
      const bar = c.createWindow({ x: 0, y: c.height - TASKBAR_H, w: c.width, h: TASKBAR_H, background: TASKBAR_RGB });
      const editor = c.createWindow({ x: 220, y: 120, w: 900, h: 640, background: documentImage(900, 640, subSeed(seed, 1), [43, 87, 154]) });
      c.createWindow({ x: 1200, y: 200, w: 560, h: 420, background: documentImage(560, 420, subSeed(seed, 2), [33, 115, 70]) });
      s = { c, editor, bar, font: createGlyphFont(subSeed(seed, 3)) };
    },
    frame(i) {
      const { c, editor, bar, font } = requireSetup(s, 'idle');
      // The cursor sits in the page's left margin, which is white.
      c.fillRect(editor, 40, 80, 2, 15, i % 2 === 0 ? 0x000000 : 0xffffff);
      if (i % 2 === 0) c.putImage(bar, c.width - CLOCK_W - 10, 8, CLOCK_W, 20, clockImage(font, i / 2));
    },
  };
}

function terminalScene(seed: number): Scene {
  let term: TerminalHandle | null = null;
  return {
    name: 'terminal',
    description: 'xterm 120×45 printing a build log at 20 lines/s (scrolls with XCopyArea)',
    fps: 20,
    async setup(c) {
      paintDesktop(c);
      term = await c.openTerminal({ x: 60, y: 40, cols: 120, rows: 45, bg: '#1e1e1e', fg: '#d4d4d4' });
    },
    frame(i) {
      const t = requireSetup(term, 'terminal');
      // Frame 0 fills the screen so that scrolling starts with the first new line.
      if (i === 0) t.write('\x1b[H\x1b[2J' + Array.from({ length: t.rows }, (_, k) => logLine(seed, k)).join('\r\n'));
      else t.write('\r\n' + logLine(seed, t.rows - 1 + i));
    },
  };
}

function typingScene(seed: number): Scene {
  let term: TerminalHandle | null = null;
  return {
    name: 'typing',
    description: 'the client types 20 chars/s into a focused xterm (tty echo); latency = key sent → echo received',
    fps: 1,
    typing: {
      charsPerSecond: 20,
      text: typingText(seed, 4000),
      lineLength: 60,
      terminal: () => requireSetup(term, 'typing'),
    },
    async setup(c) {
      paintDesktop(c);
      c.createWindow({ x: 1150, y: 120, w: 640, h: 520, background: documentImage(640, 520, subSeed(seed, 1), [43, 87, 154]) });
      term = await c.openTerminal({ x: 300, y: 200, cols: 100, rows: 30, bg: '#002b36', fg: '#93a1a1' });
    },
    frame(i) {
      const t = requireSetup(term, 'typing');
      if (i === 0) t.write('\x1b[H\x1b[2J');
    },
  };
}

function windowDragScene(seed: number): Scene {
  let s: { c: SceneCanvas; win: number } | null = null;
  const W = 800;
  const H = 560;
  const fps = 30;
  return {
    name: 'window-drag',
    description: `an ${W}×${H} document window dragged along a smooth path at ~330 px/s, 30 moves/s, over the wallpaper and another window`,
    fps,
    async setup(c) {
      paintDesktop(c);
      c.createWindow({ x: 1120, y: 90, w: 700, h: 520, background: documentImage(700, 520, subSeed(seed, 2), [33, 115, 70]) });
      const win = c.createWindow({ ...pathPoint(c, 0), w: W, h: H, background: documentImage(W, H, subSeed(seed, 1), [43, 87, 154]) });
      s = { c, win };
    },
    frame(i) {
      const { c, win } = requireSetup(s, 'window-drag');
      const p = pathPoint(c, i / fps);
      c.moveWindow(win, p.x, p.y);
    },
  };
  function pathPoint(c: SceneCanvas, t: number): { x: number; y: number } {
    const spanX = c.width - W - 120;
    const spanY = c.height - TASKBAR_H - H - 80;
    return {
      x: Math.round(60 + spanX * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / 6))),
      y: Math.round(40 + spanY * (0.5 - 0.5 * Math.cos((2 * Math.PI * t) / 4.3))),
    };
  }
}

function slideshowScene(seed: number): Scene {
  let s: { c: SceneCanvas; win: number; photos: number[] } | null = null;
  const COUNT = 4;
  return {
    name: 'slideshow',
    description: `full-screen photo-like images (${COUNT}, generated), a new one every second`,
    fps: 1,
    async setup(c) {
      const win = c.createWindow({ x: 0, y: 0, w: c.width, h: c.height, background: 0x000000 });
      const photos = Array.from({ length: COUNT }, (_, k) => c.createPixmap(c.width, c.height, photoImage(c.width, c.height, subSeed(seed, k))));
      s = { c, win, photos };
    },
    frame(i) {
      const { c, win, photos } = requireSetup(s, 'slideshow');
      c.copyArea(photos[i % photos.length]!, win, 0, 0, c.width, c.height, 0, 0);
    },
  };
}

/** The frames of the video region: a slow pan over a photo, a moving highlight, fresh grain. */
export function videoFrames(seed: number, count: number, w = 640, h = 360): Buffer[] {
  const bw = w + 2 * count;
  const bh = h + count;
  const base = photoImage(bw, bh, seed, { grain: 0 });
  const frames: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    const out = Buffer.alloc(w * h * 4);
    const ox = 2 * k;
    const oy = k;
    for (let y = 0; y < h; y++) base.copy(out, y * w * 4, ((y + oy) * bw + ox) * 4, ((y + oy) * bw + ox + w) * 4);
    const grain = createPrng(subSeed(seed, 100 + k));
    const cx = w * (0.2 + (0.6 * k) / count);
    const cy = h * (0.5 + 0.25 * Math.sin((2 * Math.PI * k) / count));
    const r = h / 8;
    for (let y = 0, o = 0; y < h; y++) {
      for (let x = 0; x < w; x++, o += 4) {
        const d = Math.hypot(x - cx, y - cy) / r;
        const light = d < 1 ? 90 * (1 - d * d) : 0;
        const n = (grain.next() * 2 - 1) * 3;
        for (let ch = 0; ch < 3; ch++) out[o + ch] = Math.max(0, Math.min(255, Math.round(out[o + ch]! + light + n)));
      }
    }
    frames.push(out);
  }
  return frames;
}

function videoScene(seed: number): Scene {
  let s: { c: SceneCanvas; win: number; frames: number[] } | null = null;
  const COUNT = 60;
  return {
    name: 'video',
    description: `a 640×360 video-like region at 30 fps (${COUNT} generated frames: camera pan, moving highlight, grain) in a player window`,
    fps: 30,
    async setup(c) {
      paintDesktop(c);
      const bg = Buffer.alloc(680 * 440 * 4);
      const img = { data: bg, width: 680, height: 440 };
      fillRect(img, 0, 0, 680, 440, [32, 32, 32]);
      fillRect(img, 0, 0, 680, TITLE_H, [60, 60, 60]);
      fillRect(img, 20, 410, 640, 6, [90, 90, 90]);
      const win = c.createWindow({ x: 500, y: 220, w: 680, h: 440, background: bg });
      const frames = videoFrames(seed, COUNT).map((f) => c.createPixmap(640, 360, f));
      s = { c, win, frames };
    },
    frame(i) {
      const { c, win, frames } = requireSetup(s, 'video');
      c.copyArea(frames[i % frames.length]!, win, 0, 0, 640, 360, 20, 40);
    },
  };
}

function webScrollScene(seed: number): Scene {
  let s: { c: SceneCanvas; win: number; page: WebPage } | null = null;
  const W = 1280;
  const H = 1000;
  const TOOLBAR = 44;
  const VIEW = H - TOOLBAR;
  const STEP = 10;
  return {
    name: 'web-scroll',
    description: `a ${W}×${H} browser window scrolling an endless generated page by ${STEP} px per frame at 30 fps (CopyArea + image of the new strip)`,
    fps: 30,
    async setup(c) {
      paintDesktop(c);
      const bg = Buffer.alloc(W * H * 4);
      const img = { data: bg, width: W, height: H };
      fillRect(img, 0, 0, W, H, [255, 255, 255]);
      fillRect(img, 0, 0, W, TOOLBAR, [232, 232, 232]);
      fillRect(img, 120, 8, 800, 28, [255, 255, 255]);
      drawText(img, createGlyphFont(subSeed(seed, 9)), 130, 14, 'https://example.test/articles/long-page.html', [60, 60, 60]);
      const win = c.createWindow({ x: 320, y: 20, w: W, h: H, background: bg });
      s = { c, win, page: new WebPage(W, seed) };
    },
    frame(i) {
      const { c, win, page } = requireSetup(s, 'web-scroll');
      if (i === 0) {
        c.putImage(win, 0, TOOLBAR, W, VIEW, page.rows(0, VIEW));
        return;
      }
      const top = i * STEP;
      c.copyArea(win, win, 0, TOOLBAR + STEP, W, VIEW - STEP, 0, TOOLBAR);
      c.putImage(win, 0, TOOLBAR + VIEW - STEP, W, STEP, page.rows(top + VIEW - STEP, STEP));
    },
  };
}

const FACTORIES: Readonly<Record<SceneName, (seed: number) => Scene>> = {
  idle: idleScene,
  terminal: terminalScene,
  typing: typingScene,
  'window-drag': windowDragScene,
  slideshow: slideshowScene,
  video: videoScene,
  'web-scroll': webScrollScene,
};

/** A fresh scene instance for `seed`. */
export function createScene(name: SceneName, seed: number): Scene {
  return FACTORIES[name](seed);
}

export function isSceneName(s: string): s is SceneName {
  return (SCENE_NAMES as readonly string[]).includes(s);
}
