/**
 * Motion detection end to end: our server on a real Xvfb, two TS clients at once, one that
 * accepts CopyRect (encoding 1, applied locally here) and one that does not. A scrolling xterm
 * and a dragged window: after every step both framebuffers must equal `xwd -root`, and the
 * CopyRect client must receive far fewer bytes. The numbers are printed (bytes per scrolled
 * line, per drag step).
 */
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { clientShows } from '../helpers/image-compare.js';
import { RfbClient, type RectEvent } from '../helpers/rfb-client.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { fillRoot, startXvfb, xEnv, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';
import { ProcessScope, runOk, sleep } from '../helpers/processes.js';

const W = 1024;
const H = 768;
const ENC_RAW = 0;
const ENC_COPYRECT = 1;
const ENC_ZLIB = 6;

interface Viewer {
  client: RfbClient;
  /** Bytes received from the server since the last reset. */
  bytes: number;
  copyRects: number;
}

/** CopyRect as a viewer applies it: from the framebuffer as it was before this rectangle. */
async function decodeCopyRect(r: RectEvent, c: RfbClient, v: Viewer): Promise<void> {
  if (r.encoding !== ENC_COPYRECT) throw new Error(`unexpected encoding ${r.encoding}`);
  const b = await c.read(4);
  const sx = b.readUInt16BE(0);
  const sy = b.readUInt16BE(2);
  if (sx + r.w > c.width || sy + r.h > c.height || r.x + r.w > c.width || r.y + r.h > c.height) throw new Error('CopyRect outside the framebuffer');
  const tmp = Buffer.alloc(r.w * r.h * 4);
  for (let y = 0; y < r.h; y++) c.fb.copy(tmp, y * r.w * 4, ((sy + y) * c.width + sx) * 4, ((sy + y) * c.width + sx + r.w) * 4);
  for (let y = 0; y < r.h; y++) tmp.copy(c.fb, ((r.y + y) * c.width + r.x) * 4, y * r.w * 4, (y + 1) * r.w * 4);
  v.copyRects++;
}

async function connectViewer(port: number, encodings: number[]): Promise<Viewer> {
  const client = await new RfbClient({ port, timeoutMs: 15_000 }).connect();
  const v: Viewer = { client, bytes: 0, copyRects: 0 };
  client.socket.on('data', (d: Buffer) => (v.bytes += d.length));
  client.setPixelFormat({
    bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
    redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0,
  });
  client.serverFormat = { ...client.serverFormat, bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redShift: 16, greenShift: 8, blueShift: 0 };
  client.setEncodings(encodings);
  client.requestUpdate(false);
  await client.readUpdate({ decodeRect: (r, c) => decodeCopyRect(r, c, v) });
  return v;
}

/** Requests and reads updates until the viewer's framebuffer equals `truth` (bounded). */
async function syncTo(v: Viewer, truth: PixelBuffer, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!clientShows(v.client.fb, truth)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('viewer framebuffer never matched xwd -root');
    v.client.requestUpdate(true);
    await v.client.readUpdate({ timeoutMs: left, decodeRect: (r, c) => decodeCopyRect(r, c, v) });
  }
}

describe('CopyRect from motion detection, end to end', () => {
  const scope = new ProcessScope();
  let xvfb: XvfbHandle;
  let rig: ServerRig;
  let withCopy: Viewer;
  let without: Viewer;

  /** Waits for X to settle, then brings both viewers to the X screen. */
  async function syncBoth(): Promise<void> {
    await sleep(200);
    const truth = await xwdRoot(xvfb.display);
    await syncTo(withCopy, truth);
    await syncTo(without, truth);
  }

  beforeAll(async () => {
    xvfb = await startXvfb({ width: W, height: H, scope });
    await fillRoot(xvfb.display, 'desktop');
    rig = await startServerRig({ display: xvfb.display, scope });
    withCopy = await connectViewer(rig.port, [ENC_COPYRECT, ENC_ZLIB, ENC_RAW]);
    without = await connectViewer(rig.port, [ENC_ZLIB, ENC_RAW]);
  });
  afterAll(async () => {
    withCopy?.client.close();
    without?.client.close();
    await scope.dispose();
  });

  it('scrolls a terminal with CopyRects: exact pixels, far fewer bytes', async () => {
    const env = xEnv(xvfb.display);
    const file = `/tmp/motion-server-${process.pid}.txt`;
    writeFileSync(file, '');
    scope.defer('remove xterm feed', () => rmSync(file, { force: true }));
    const term = scope.spawn('xterm', ['-geometry', '80x30+40+30', '-e', 'tail', '-s', '0.05', '-n', '+1', '-f', file], { env });
    await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 10_000, env });
    let n = 0;
    const line = (): string => `${String(n).padStart(4, '0')} $ ls -l /usr/share/doc/package-${n * 7} | grep ${'abcdefghij'.slice(n % 10)}`;
    for (; n < 40; n++) appendFileSync(file, `${line()}\n`);
    await syncBoth();

    withCopy.bytes = 0;
    without.bytes = 0;
    withCopy.copyRects = 0;
    const lines = 20;
    for (let i = 0; i < lines; i++, n++) {
      appendFileSync(file, `${line()}\n`);
      await syncBoth();
    }
    const perLineCopy = withCopy.bytes / lines;
    const perLinePlain = without.bytes / lines;
    console.log(
      `terminal scroll (80x30 xterm, Zlib): ${perLineCopy.toFixed(0)} B/line with CopyRect (${withCopy.copyRects} CopyRects), ` +
        `${perLinePlain.toFixed(0)} B/line without (×${(perLinePlain / perLineCopy).toFixed(1)})`,
    );
    expect(withCopy.copyRects).toBeGreaterThanOrEqual(lines / 2);
    expect(perLineCopy * 3).toBeLessThan(perLinePlain);
    await term.kill();
    await syncBoth();
  });

  it('drags a window with CopyRects: exact pixels, far fewer bytes', async () => {
    const env = xEnv(xvfb.display);
    const file = `/tmp/motion-server-win-${process.pid}.txt`;
    writeFileSync(file, Array.from({ length: 14 }, (_, i) => `window line ${i}: ${'the quick brown fox '.slice(i)}${i * 31}`).join('\n'));
    scope.defer('remove window feed', () => rmSync(file, { force: true }));
    const term = scope.spawn('xterm', ['-geometry', '50x15+300+200', '-bg', '#fffff0', '-fg', '#202080', '-e', 'tail', '-n', '+1', '-f', file], { env });
    const found = await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 10_000, env });
    const wid = found.stdout.toString('utf8').trim().split('\n')[0]!;
    await syncBoth();

    withCopy.bytes = 0;
    without.bytes = 0;
    withCopy.copyRects = 0;
    const steps = 10;
    let x = 300;
    let y = 200;
    for (let i = 0; i < steps; i++) {
      x += 20;
      y += 10;
      await runOk('xdotool', ['windowmove', '--sync', wid, String(x), String(y)], { timeoutMs: 10_000, env });
      await syncBoth();
    }
    const perStepCopy = withCopy.bytes / steps;
    const perStepPlain = without.bytes / steps;
    console.log(
      `window drag (50x15 xterm, 20x10 px steps, Zlib): ${perStepCopy.toFixed(0)} B/step with CopyRect (${withCopy.copyRects} CopyRects), ` +
        `${perStepPlain.toFixed(0)} B/step without (×${(perStepPlain / perStepCopy).toFixed(1)})`,
    );
    expect(withCopy.copyRects).toBeGreaterThanOrEqual(steps / 2);
    // What remains is the wallpaper each step uncovers (an L-shaped strip of text and frames),
    // which no copy can provide.
    expect(perStepCopy * 2).toBeLessThan(perStepPlain);
    await term.kill();
    await syncBoth();
  });
});
