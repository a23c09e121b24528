/**
 * Wrappers around real, third-party VNC clients from Debian, pointed at a server on
 * 127.0.0.1:PORT: `vncsnapshot` (one frame to a JPEG), TigerVNC `vncviewer` and
 * `xtightvncviewer` (each on its own Xvfb, captured with xwd for pixel comparison).
 *
 * Syntax reminder: these clients read `host:N` as *display* N (port 5900+N) and `host::P` as
 * raw TCP port P, so every wrapper passes `127.0.0.1::PORT`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Rect } from '../../core/geometry.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { ErrorCode, VncError } from '../../core/errors.js';
import { compareImages, expectImagesMatch, type AnyImage, type CompareResult, type RawImage } from './image-compare.js';
import { ProcessScope, describeExit, runCommand, runOk, sleep, type ManagedProcess } from './processes.js';
import { xEnv, xwdWindow } from './x-env.js';

const HOST = '127.0.0.1';

/** A private, throw-away directory; removed by the scope when one is given. */
function privateDir(prefix: string, scope?: ProcessScope): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scope?.defer(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Passwords

/**
 * Writes a VNC password file (the obfuscated 8-byte format of `vncpasswd -f`, tigervnc-tools)
 * and returns its path. VNC authentication uses only the first 8 characters of a password.
 * The file lives in a fresh 0700 temp dir, removed by `scope` when given.
 */
export async function makeVncPasswdFile(password: string, options: { scope?: ProcessScope } = {}): Promise<string> {
  const dir = privateDir('vnc-passwd-', options.scope);
  const r = await runOk('vncpasswd', ['-f'], { timeoutMs: 10_000, input: `${password}\n` });
  if (r.stdout.length !== 8) throw new VncError(ErrorCode.Config, `vncpasswd -f wrote ${r.stdout.length} bytes, expected 8`);
  const path = join(dir, 'passwd');
  writeFileSync(path, r.stdout, { mode: 0o600 });
  return path;
}

// ---------------------------------------------------------------------------------------------
// vncsnapshot

export interface VncSnapshotOptions {
  port: number;
  /** File made by {@link makeVncPasswdFile}, for VNC authentication. */
  passwordFile?: string;
  /**
   * Space-separated encoding list (default `"raw"`). vncsnapshot decodes raw, copyrect, rre,
   * corre, hextile, zlib and tight — no ZRLE. Never include `tight`: it then also asks for
   * LastRect and hangs forever on the zero-size LastRect rectangle.
   */
  encodings?: string;
  /** Only this part of the framebuffer. */
  rect?: Rect;
  /** Deadline for the whole run (default 20 s). */
  timeoutMs?: number;
}

/**
 * Takes one framebuffer snapshot with `vncsnapshot` and returns it as RGB. The file it writes
 * is always JPEG (quality 100, 4:4:4 here), so compare with a tolerance of ~2 per channel; on
 * noise-like content JPEG errors grow, so prefer flat or smooth test patterns.
 */
export async function vncsnapshot(options: VncSnapshotOptions): Promise<RawImage> {
  const enc = options.encodings ?? 'raw';
  if (/\btight\b/i.test(enc)) {
    throw new VncError(ErrorCode.Config, 'vncsnapshot with tight in its encodings hangs on LastRect; use raw/hextile/zlib');
  }
  const dir = mkdtempSync(join(tmpdir(), 'vncsnapshot-'));
  try {
    const out = join(dir, 'snap.jpg');
    const args = ['-quiet', '-allowblank', '-nocursor', '-quality', '100', '-encodings', enc];
    if (options.passwordFile) args.push('-passwd', options.passwordFile);
    if (options.rect) args.push('-rect', `${options.rect.w}x${options.rect.h}+${options.rect.x}+${options.rect.y}`);
    args.push(`${HOST}::${options.port}`, out);
    const r = await runCommand('vncsnapshot', args, { timeoutMs: options.timeoutMs ?? 20_000 });
    if (r.code !== 0) {
      throw new VncError(ErrorCode.Protocol, `vncsnapshot failed (${describeExit(r)}): ${(r.stderr + r.stdout.toString('utf8')).trim().slice(-2000)}`);
    }
    const { data, info } = await sharp(await readFile(out)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new VncError(ErrorCode.Protocol, `vncsnapshot JPEG decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, layout: 'rgb', data };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Viewers on their own X display

/** Options shared by the X viewers. */
export interface ViewerOptions {
  port: number;
  /** The viewer's own X display (start one with `startXvfb`, larger than the remote screen). */
  display: string;
  passwordFile?: string;
  /** Do not send input (default false). */
  viewOnly?: boolean;
  scope?: ProcessScope;
  /** Deadline for the viewer window to appear (default 20 s). */
  timeoutMs?: number;
  /** Appended to the command line. */
  extraArgs?: string[];
  /** Extra environment for the viewer (e.g. TigerVNC's VNC_USERNAME/VNC_PASSWORD for Plain). */
  env?: NodeJS.ProcessEnv;
}

/** A running viewer. */
export interface ViewerHandle {
  readonly process: ManagedProcess;
  /** The viewer's top-level window id on `display`. */
  readonly window: string;
  readonly display: string;
  /** The viewer window's contents as BGRX (what a person would see in the window). */
  capture(): Promise<PixelBuffer>;
  /**
   * Polls `capture()` until `expected` matches the window contents at the window's top-left
   * (the framebuffer is drawn at 0,0 when the window is large enough), or throws with the
   * last comparison and debug PNG paths.
   */
  waitForImage(expected: AnyImage, options: WaitForImageOptions): Promise<CompareResult>;
  /** Window position and size on the viewer's display. */
  geometry(): Promise<Rect>;
  /** Focuses the viewer window and runs `xdotool ARGS` (XTEST) on the viewer's display. */
  xdotool(args: string[]): Promise<string>;
  /**
   * Moves the viewer display's pointer (XTEST) over framebuffer pixel (fbX, fbY), assuming the
   * framebuffer is drawn unscrolled at the window's top-left.
   */
  pointerTo(fbX: number, fbY: number): Promise<void>;
  /** `pointerTo` then a click of X button `button` (default 1). */
  clickAt(fbX: number, fbY: number, button?: number): Promise<void>;
  close(): Promise<void>;
}

export interface WaitForImageOptions {
  timeoutMs: number;
  tolerance?: number;
  allowDiffering?: number;
  /** Compare only this part of the framebuffer. */
  region?: Rect;
  label?: string;
}

/** TigerVNC encodings selectable with `-PreferredEncoding`. */
export type TigerEncoding = 'ZRLE' | 'Tight' | 'Hextile' | 'Raw';

export interface TigerViewerOptions extends ViewerOptions {
  encoding: TigerEncoding;
  /** Allow lossy JPEG in Tight (default false, so Tight stays pixel-exact). */
  jpeg?: boolean;
  /** 0..9, only with `jpeg` (default 8). */
  qualityLevel?: number;
  /** 0..9 (default: the viewer's, 2). */
  compressLevel?: number;
  /** Share the desktop with other clients (default true). */
  shared?: boolean;
}

/**
 * Starts TigerVNC's `vncviewer` on `display`. Flags chosen for tests:
 * `-AutoSelect=0 -FullColor` so the encoding and 32-bit colour stay fixed,
 * `-ReconnectOnError=0 -AlertOnFatalError=0` so a failure ends the process instead of opening
 * a dialog, `-RemoteResize=0` so the viewer never sends SetDesktopSize, and a private HOME
 * because the viewer writes `~/.vnc`.
 */
export async function startTigerViewer(options: TigerViewerOptions): Promise<ViewerHandle> {
  const args = [
    '-AutoSelect=0',
    '-FullColor=1',
    `-PreferredEncoding=${options.encoding}`,
    `-NoJPEG=${options.jpeg ? 0 : 1}`,
    '-ReconnectOnError=0',
    '-AlertOnFatalError=0',
    '-RemoteResize=0',
    `-Shared=${options.shared === false ? 0 : 1}`,
    `-ViewOnly=${options.viewOnly ? 1 : 0}`,
  ];
  if (options.jpeg) args.push(`-QualityLevel=${options.qualityLevel ?? 8}`);
  if (options.compressLevel !== undefined) args.push(`-CompressLevel=${options.compressLevel}`);
  if (options.passwordFile) args.push(`-PasswordFile=${options.passwordFile}`);
  return startViewer('vncviewer', args, options, (proc) => ['--pid', String(proc.pid)]);
}

export interface TightViewerOptions extends ViewerOptions {
  /** Space-separated list, e.g. `"tight"`, `"hextile"`, `"zlib"`, `"raw"` (raw is always implied last). */
  encodings: string;
  /** Allow lossy JPEG in Tight (default false). */
  jpeg?: boolean;
  /** 0..9, only with `jpeg`. */
  quality?: number;
  compressLevel?: number;
}

/**
 * Starts `xtightvncviewer` on `display`. It is an Xt program that does not set `_NET_WM_PID`,
 * so its window is found by a unique Xt instance name (`-name`).
 * Unlike TigerVNC it paints the server's cursor shape (RichCursor) *into* its window at the
 * remote pointer position, so a capture contains the cursor: park the remote pointer in the
 * bottom-right corner before comparing (about one pixel then differs), or allow ~600 pixels.
 * (`-x11cursor` does not help: the cursor then shows up at 0,0 in the window.)
 */
export async function startTightViewer(options: TightViewerOptions): Promise<ViewerHandle> {
  const instance = `vnctest${process.pid}x${Date.now().toString(36)}`;
  const args = ['-name', instance, '-encodings', options.encodings, '-shared'];
  if (options.viewOnly) args.push('-viewonly');
  if (!options.jpeg) args.push('-nojpeg');
  else if (options.quality !== undefined) args.push('-quality', String(options.quality));
  if (options.compressLevel !== undefined) args.push('-compresslevel', String(options.compressLevel));
  if (options.passwordFile) args.push('-passwd', options.passwordFile);
  return startViewer('xtightvncviewer', args, options, () => ['--classname', `^${instance}$`]);
}

async function startViewer(
  cmd: string,
  flags: string[],
  options: ViewerOptions,
  searchBy: (proc: ManagedProcess) => string[],
): Promise<ViewerHandle> {
  const ownScope = options.scope === undefined;
  const scope = options.scope ?? new ProcessScope();
  const timeoutMs = options.timeoutMs ?? 20_000;
  try {
    const home = privateDir(`${cmd}-home-`, scope);
    const env = xEnv(options.display, { HOME: home, ...options.env });
    const proc = scope.spawn(cmd, ['-display', options.display, ...flags, ...(options.extraArgs ?? []), `${HOST}::${options.port}`], { env });
    // The window appears only after the RFB handshake and ServerInit, so it doubles as
    // "connected". If the viewer dies first (refused, bad password), report its output.
    const found = await Promise.race([
      runOk('xdotool', ['search', '--sync', '--onlyvisible', ...searchBy(proc)], { timeoutMs, env }),
      proc.exited.then((e) => {
        throw new VncError(ErrorCode.Protocol, `${cmd} exited (${describeExit(e)}) before showing a window: ${proc.output().slice(-2000)}`);
      }),
    ]);
    const window = found.stdout.toString('utf8').trim().split('\n')[0]!;
    const capture = (): Promise<PixelBuffer> => xwdWindow(options.display, window);
    const xdotool = async (args: string[]): Promise<string> => {
      await runOk('xdotool', ['windowfocus', '--sync', window], { timeoutMs: 5_000, env });
      return (await runOk('xdotool', args, { timeoutMs: 10_000, env })).stdout.toString('utf8');
    };
    const geometry = async (): Promise<Rect> => {
      const out = (await runOk('xdotool', ['getwindowgeometry', '--shell', window], { timeoutMs: 5_000, env })).stdout.toString('utf8');
      const n = (k: string): number => Number(new RegExp(`^${k}=(-?\\d+)$`, 'm').exec(out)?.[1] ?? NaN);
      return { x: n('X'), y: n('Y'), w: n('WIDTH'), h: n('HEIGHT') };
    };
    return {
      process: proc,
      window,
      display: options.display,
      capture,
      geometry,
      xdotool,
      pointerTo: async (fbX, fbY) => {
        // Absolute XTEST motion: `mousemove --window` warps instead, and `--sync` hangs when
        // the pointer is already at the target.
        const g = await geometry();
        await xdotool(['mousemove', String(g.x + fbX), String(g.y + fbY)]);
      },
      clickAt: async (fbX, fbY, button = 1) => {
        const g = await geometry();
        await xdotool(['mousemove', String(g.x + fbX), String(g.y + fbY), 'click', String(button)]);
      },
      waitForImage: (expected, o) => waitForWindowImage(capture, expected, o, cmd, proc),
      close: async () => {
        if (ownScope) await scope.dispose();
        else await proc.kill();
      },
    };
  } catch (e) {
    if (ownScope) await scope.dispose().catch(() => {});
    throw e;
  }
}

async function waitForWindowImage(
  capture: () => Promise<PixelBuffer>,
  expected: AnyImage,
  o: WaitForImageOptions,
  cmd: string,
  proc: ManagedProcess,
): Promise<CompareResult> {
  const region = o.region ?? { x: 0, y: 0, w: expected.width, h: expected.height };
  const deadline = Date.now() + o.timeoutMs;
  let last: PixelBuffer | null = null;
  let lastSummary = 'no capture yet';
  while (Date.now() < deadline) {
    if (proc.exitInfo()) throw new VncError(ErrorCode.Protocol, `${cmd} exited: ${proc.output().slice(-2000)}`);
    last = await capture();
    if (last.width >= region.x + region.w && last.height >= region.y + region.h) {
      const r = compareImages(expected, last, { region, tolerance: o.tolerance, allowDiffering: o.allowDiffering });
      if (r.match) return r;
      lastSummary = r.summary;
    } else {
      lastSummary = `window is ${last.width}x${last.height}, smaller than the compared area`;
    }
    await sleep(100);
  }
  if (last && last.width >= region.x + region.w && last.height >= region.y + region.h) {
    // Throws with the summary and debug images.
    await expectImagesMatch(expected, last, { region, tolerance: o.tolerance, allowDiffering: o.allowDiffering, label: o.label ?? cmd });
  }
  throw new VncError(ErrorCode.Timeout, `${o.label ?? cmd}: image not shown within ${o.timeoutMs} ms: ${lastSummary}`);
}
