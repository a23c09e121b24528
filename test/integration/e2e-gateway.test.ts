/**
 * Gateway mode end to end, with nothing in-process but the reference gateway: the BUILT runner
 * (`node dist/cli/main.js`, started with the orchestrator's exact command line, gateway-protocol
 * §8.4) on its own private Xvfb with an xterm that logs typed bytes, and noVNC in Debian's
 * headless chromium through the gateway's own viewer page. Ground truth comes from the X side:
 * `xwd -root` of the runner's display and the xterm's file.
 *
 * `npm test` builds dist/ first; when running this file alone, run `npx tsc -p tsconfig.json`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../core/log.js';
import type { Rect } from '../../core/geometry.js';
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { provisionRun, type ProvisionedRun } from '../../gateway/reference/provision.js';
import { startReferenceGateway, type ReferenceGateway, type ReferenceGatewayOptions } from '../../gateway/reference/server.js';
import { launchChromium, type ChromiumHandle } from '../helpers/browser.js';
import { isAlive } from '../helpers/built-cli.js';
import { compareImages, type CompareResult, type RawImage } from '../helpers/image-compare.js';
import { ProcessScope, runOk, sleep, suiteScope, testScope, waitFor, type ManagedProcess } from '../helpers/processes.js';
import { parseXwd } from '../helpers/xwd.js';

const REPO = resolve(import.meta.dirname, '../..');
const MAIN = join(REPO, 'dist/cli/main.js');
const SECRET = 'e2e-hmac-secret-0123456789abcdef-XYZ';
/** The orchestrator passes a label with a space and an @ (§9 MUST 1). */
const AGENT_LABEL = 'Jane Doe@e2e host';
/** Every line the runner may print on stdout (gateway-protocol §9 SHOULD: keep stdout quiet). */
const LIFECYCLE_LINE = /^vnc-runner: (registered agent=\S+|started run=\S+|stream up|stream ended( code=\d+)?|stopping \(.+\)|stopped exit=\d+)$/;

const suite = suiteScope();
let browser: ChromiumHandle;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm test does; or npx tsc -p tsconfig.json)`);
  browser = await launchChromium({ scope: suite });
}, 60_000);

function quietLogger(): Logger {
  const lines: string[] = [];
  return createLogger({ level: 'debug', write: (l) => lines.length < 5000 && lines.push(l) });
}

async function startGateway(scope: ProcessScope, extra: ReferenceGatewayOptions = {}): Promise<ReferenceGateway> {
  // Polling every 200 ms exceeds the original's 100 requests/min, so the limit is off here.
  const gw = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, logger: quietLogger(), ...extra });
  scope.defer('close gateway', () => gw.close());
  return gw;
}

/** A spawned `vnc-runner` with its stdout and stderr kept apart. */
interface RunnerProc {
  proc: ManagedProcess;
  stdout(): string;
  stderr(): string;
  /** `$DISPLAY`/`$XAUTHORITY` as the `--run` program saw them, and the Xvfb pid from the log. */
  x(): Promise<{ display: string; xauthority: string; xvfbPid: number }>;
  /** The file the xterm writes typed bytes to. */
  typedFile: string;
  exitCode(timeoutMs: number): Promise<number | null>;
}

interface SpawnRunnerOptions {
  /** Pass the capability token on argv as the orchestrator does (default), or only through env. */
  tokenOnArgv?: boolean;
  extraArgs?: string[];
  /** `--display-mode window --window-title TITLE`, with the xterm titled so (at +200+150). */
  windowTitle?: string;
}

/**
 * Starts the built runner exactly as the TS wrapper does (§8.4: every flag, in that order), plus
 * `--run` for an xterm whose shell records raw keystrokes, on the runner's own private Xvfb.
 */
function spawnRunner(scope: ProcessScope, gw: ReferenceGateway, p: ProvisionedRun, o: SpawnRunnerOptions = {}): RunnerProc {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-gateway-'));
  scope.defer('remove runner temp dir', () => rmSync(dir, { recursive: true, force: true }));
  const typedFile = join(dir, 'typed.txt');
  const infoFile = join(dir, 'x.txt');
  const run =
    `echo "$DISPLAY $XAUTHORITY" > ${infoFile}; ` +
    `exec xterm -u8 ${o.windowTitle ? `-T '${o.windowTitle}' -geometry 60x15+200+150` : '-geometry 80x24+0+0'} ` +
    `-e sh -c 'stty raw -echo; exec cat > "$0"' ${typedFile}`;
  const argv = [
    MAIN,
    '--run-id', p.run.id,
    ...(o.tokenOnArgv === false ? [] : ['--capability-token', p.run.capabilityToken]),
    '--gateway-url', gw.url,
    '--width', '1920', '--height', '1080', '--framerate', '30',
    ...(o.windowTitle ? ['--display-mode', 'window', '--window-title', o.windowTitle] : ['--display-mode', 'screen']),
    '--agent-id', p.agentId,
    '--agent-label', AGENT_LABEL,
    '--run', run,
    ...(o.extraArgs ?? []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env, ...p.runnerEnv, LC_ALL: 'C.UTF-8', TERM: 'dumb' };
  delete env.DISPLAY;
  delete env.XAUTHORITY;
  if (o.tokenOnArgv !== false) delete env.VNC_CAPABILITY_TOKEN;
  const proc = scope.spawn(process.execPath, argv, { env, cwd: REPO });
  let out = '';
  let err = '';
  proc.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  proc.child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  let xvfbPid = 0;
  // The private Xvfb leads its own process group: if the runner were SIGKILLed it would stay.
  scope.defer('kill the runner\'s Xvfb if it survived', () => {
    if (xvfbPid > 0 && isAlive(xvfbPid)) process.kill(-xvfbPid, 'SIGKILL');
  });
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    typedFile,
    x: async () => {
      const info = await waitFor(() => (existsSync(infoFile) ? readFileSync(infoFile, 'utf8').trim() : undefined), {
        timeoutMs: 30_000,
        what: `the --run program to start (runner stderr: ${err.slice(-500)})`,
      });
      const [display, xauthority] = info.split(' ') as [string, string];
      const m = /private Xvfb started .*pid=(\d+)/.exec(err);
      if (!m) throw new Error(`no "private Xvfb started" line in the runner's stderr: ${err.slice(-1000)}`);
      xvfbPid = Number(m[1]);
      return { display, xauthority, xvfbPid };
    },
    exitCode: async (timeoutMs) => {
      const e = await Promise.race([proc.exited, sleep(timeoutMs).then(() => null)]);
      if (!e) throw new Error(`runner still running after ${timeoutMs} ms; stdout: ${out} stderr: ${err.slice(-2000)}`);
      return e.code;
    },
  };
}

async function xwdRoot(x: { display: string; xauthority: string }): Promise<PixelBuffer> {
  const r = await runOk('xwd', ['-root', '-silent', '-display', x.display], {
    timeoutMs: 20_000,
    env: { ...process.env, DISPLAY: x.display, XAUTHORITY: x.xauthority },
  });
  return parseXwd(r.stdout).pixels;
}

/** Opens the gateway's viewer page without autostart, clicks "Start stream", waits for noVNC. */
async function openViewer(url: string, timeoutMs = 30_000): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${url}&autostart=0`, { waitUntil: 'load', timeout: timeoutMs });
  await startStream(page, timeoutMs);
  return page;
}

async function startStream(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForSelector('body[data-state="idle"]', { timeout: 10_000 });
  await page.click('#start');
  try {
    await page.waitForSelector('body[data-state="connected"]', { timeout: timeoutMs });
  } catch (e) {
    const status = await page.textContent('#status').catch(() => '?');
    throw new Error(`viewer did not connect: status "${status}": ${(e as Error).message}`);
  }
}

/** noVNC's canvas as RGBA: at any CSS scale its pixels are the framebuffer's. */
async function canvasPixels(page: Page): Promise<RawImage> {
  const r = await page.evaluate(() => {
    const c = (globalThis as any).document.querySelector('#screen canvas');
    if (!c || !c.width) return { width: 0, height: 0, b64: '' };
    const d: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode.apply(null, Array.from(d.subarray(i, i + 0x8000)));
    return { width: c.width as number, height: c.height as number, b64: (globalThis as any).btoa(s) as string };
  });
  return { width: r.width, height: r.height, layout: 'rgba', data: Buffer.from(r.b64, 'base64') };
}

/** The inside of the window titled `title` on the runner's display (xwininfo, border excluded). */
async function windowInside(x: { display: string; xauthority: string }, title: string): Promise<Rect> {
  const r = await runOk('xwininfo', ['-name', title, '-display', x.display], {
    timeoutMs: 10_000,
    env: { ...process.env, XAUTHORITY: x.xauthority },
  });
  const text = r.stdout.toString('utf8');
  const n = (k: string) => Number(new RegExp(`^\\s*${k}:\\s*(-?\\d+)$`, 'm').exec(text)![1]);
  const bw = n('Border width');
  return { x: n('Absolute upper-left X') + bw, y: n('Absolute upper-left Y') + bw, w: n('Width'), h: n('Height') };
}

/**
 * Polls until noVNC's canvas equals `xwd -root` exactly (or the `region` of it, for window mode). Both are read again each round: the
 * viewer page asks for a session resize, so the screen may change size after connecting.
 */
async function expectCanvasEqualsScreen(
  page: Page,
  x: { display: string; xauthority: string },
  timeoutMs: number,
  region?: Rect,
): Promise<CompareResult> {
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing compared';
  while (Date.now() < deadline) {
    const screen = await xwdRoot(x);
    const canvas = await canvasPixels(page);
    const want = region ?? { x: 0, y: 0, w: screen.width, h: screen.height };
    if (canvas.width === want.w && canvas.height === want.h) {
      // Lossless: the xterm and Xvfb's root weave are palette content, never sent as JPEG.
      const r = region
        ? compareImages(canvas, screen, { tolerance: 0, region: { x: 0, y: 0, w: want.w, h: want.h }, offsetInB: { x: want.x, y: want.y } })
        : compareImages(screen, canvas, { tolerance: 0 });
      if (r.match) return r;
      last = r.summary;
    } else {
      last = `canvas ${canvas.width}x${canvas.height}, expected ${want.w}x${want.h}`;
    }
    await sleep(200);
  }
  throw new Error(`noVNC never showed the X screen exactly within ${timeoutMs} ms: ${last}`);
}

/** Clicks into the xterm (pointer focus: no window manager) and types with real key events. */
async function typeIntoXterm(page: Page, text: string): Promise<void> {
  const box = await page.locator('#screen canvas').boundingBox();
  const size = await page.evaluate(() => {
    const c = (globalThis as any).document.querySelector('#screen canvas');
    return { w: c.width as number, h: c.height as number };
  });
  if (!box) throw new Error('no noVNC canvas');
  // Framebuffer pixel (100, 100) is inside the 80x24 xterm at +0+0.
  await page.mouse.click(box.x + (100.5 * box.width) / size.w, box.y + (100.5 * box.height) / size.h);
  await page.keyboard.type(text, { delay: 10 });
}

async function waitForTyped(file: string, want: string, timeoutMs: number): Promise<void> {
  let last = '';
  await waitFor(
    () => {
      last = existsSync(file) ? readFileSync(file, 'utf8') : '';
      return last.includes(want);
    },
    { timeoutMs, what: `"${want}" in the xterm file (has ${JSON.stringify(last)})` },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; file holds ${JSON.stringify(last)}`);
  });
}

async function stopAndExpectCleanExit(gw: ReferenceGateway, r: RunnerProc, xvfb: { display: string; xvfbPid: number }): Promise<number> {
  const t0 = Date.now();
  gw.requestStop(gwRunId(r));
  const code = await r.exitCode(5_000);
  const ms = Date.now() - t0;
  expect(code, `runner stderr: ${r.stderr().slice(-2000)}`).toBe(0);
  expect(ms).toBeLessThan(5_000);
  // Its private Xvfb went with it.
  await waitFor(() => !isAlive(xvfb.xvfbPid), { timeoutMs: 2_000, what: `Xvfb ${xvfb.xvfbPid} to be gone` });
  expect(existsSync(`/tmp/.X11-unix/X${xvfb.display.slice(1)}`)).toBe(false);
  return ms;
}

const runIds = new WeakMap<RunnerProc, string>();
function gwRunId(r: RunnerProc): string {
  return runIds.get(r)!;
}

function provision(gw: ReferenceGateway): ProvisionedRun {
  return provisionRun(gw, { hmacSecret: SECRET, agentId: `e2e-${Math.random().toString(36).slice(2, 8)}` });
}

describe('gateway mode end to end: built runner + reference gateway + noVNC viewer page', () => {
  it('shows the desktop pixel-exact, types into the xterm, and exits 0 on __STOP__ with its Xvfb gone', async () => {
    const scope = testScope();
    const gw = await startGateway(scope);
    const p = provision(gw);
    const t0 = Date.now();
    const r = spawnRunner(scope, gw, p);
    runIds.set(r, p.run.id);
    await r.proc.waitForOutput(/vnc-runner: started run=/, 30_000);
    const tStarted = Date.now() - t0;
    const x = await r.x();
    await waitFor(() => existsSync(r.typedFile), { timeoutMs: 15_000, what: 'the xterm to start' });
    expect(gw.store.getRun(p.run.id)!.status).toBe('running');
    // Registered with the label exactly as the orchestrator passed it (space and @ intact).
    expect(gw.store.listClients().find((c) => c.agentId === p.agentId)?.displayName).toBe(AGENT_LABEL);

    const t1 = Date.now();
    const page = await openViewer(p.viewerUrl);
    const tConnected = Date.now() - t1;
    const cmp = await expectCanvasEqualsScreen(page, x, 20_000);
    const tExact = Date.now() - t1;
    expect(cmp.compared).toBeGreaterThan(100_000);

    await typeIntoXterm(page, 'hello e2e 123');
    await waitForTyped(r.typedFile, 'hello e2e 123', 10_000);

    const stopMs = await stopAndExpectCleanExit(gw, r, x);
    expect(gw.store.getRun(p.run.id)).toMatchObject({ status: 'done', exitCode: 0 });
    await page.waitForSelector('body:not([data-state="connected"])', { timeout: 5_000 });
    await page.close();
    console.info(`e2e timings: started ${tStarted} ms, viewer connected ${tConnected} ms, pixel-exact after ${tExact} ms, __STOP__ → exit ${stopMs} ms`);
  }, 120_000);

  it('recovers when the gateway is killed mid-stream and restarted on the same port', async () => {
    const scope = testScope();
    const dir = mkdtempSync(join(tmpdir(), 'e2e-gw-state-'));
    scope.defer('remove state dir', () => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'state.json');
    const gw1 = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, stateFile, logger: quietLogger() });
    scope.defer('close first gateway', () => gw1.close());
    const p = provision(gw1);
    // This time the capability token comes only from VNC_CAPABILITY_TOKEN (keeps it out of ps).
    const r = spawnRunner(scope, gw1, p, { tokenOnArgv: false });
    runIds.set(r, p.run.id);
    await r.proc.waitForOutput(/vnc-runner: started run=/, 30_000);
    const x = await r.x();
    const page = await openViewer(p.viewerUrl);
    await expectCanvasEqualsScreen(page, x, 20_000);

    await gw1.close();
    await page.waitForSelector('body[data-state="error"], body[data-state="disconnected"]', { timeout: 10_000 });
    await r.proc.waitForOutput(/vnc-runner: stream ended/, 10_000);
    await sleep(1_000); // a few polls fail against the dead port
    expect(r.proc.exitInfo()).toBeNull();

    const t0 = Date.now();
    const gw2 = await startGateway(scope, { stateFile, port: gw1.port });
    expect(gw2.url).toBe(gw1.url);
    // A fresh page load (token from the URL fragment), then Start again.
    await page.reload({ waitUntil: 'load' });
    await startStream(page, 30_000);
    const tBack = Date.now() - t0;
    await expectCanvasEqualsScreen(page, x, 20_000);
    await typeIntoXterm(page, 'after restart');
    await waitForTyped(r.typedFile, 'after restart', 10_000);
    expect(r.stderr()).toMatch(/command poll failed/);
    expect(r.stderr()).toMatch(/command polling recovered/);

    await stopAndExpectCleanExit(gw2, r, x);
    expect(gw2.store.getRun(p.run.id)).toMatchObject({ status: 'done', exitCode: 0 });
    await page.close();
    console.info(`e2e gateway restart: streaming again ${tBack} ms after the restart`);
  }, 120_000);

  it('keeps stdout to lifecycle lines and never prints a secret, even at debug level', async () => {
    const scope = testScope();
    const gw = await startGateway(scope);
    const p = provision(gw);
    const r = spawnRunner(scope, gw, p, { extraArgs: ['--log-level', 'debug'] });
    runIds.set(r, p.run.id);
    await r.proc.waitForOutput(/vnc-runner: started run=/, 30_000);
    const x = await r.x();
    const page = await openViewer(p.viewerUrl);
    await typeIntoXterm(page, 'quiet');
    await waitForTyped(r.typedFile, 'quiet', 10_000);
    await page.close();
    await r.proc.waitForOutput(/vnc-runner: stream ended/, 10_000);
    await stopAndExpectCleanExit(gw, r, x);

    const lines = r.stdout().trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(LIFECYCLE_LINE);
    expect(lines.map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual([
      'vnc-runner: registered',
      'vnc-runner: started',
      'vnc-runner: stream',
      'vnc-runner: stream',
      'vnc-runner: stopping',
      'vnc-runner: stopped',
    ]);
    expect(lines.at(-1)).toBe('vnc-runner: stopped exit=0');
    expect(r.stderr()).toMatch(/DEBUG/); // debug logging really was on
    const secrets = [SECRET, p.clientToken, p.run.capabilityToken, p.run.viewerToken, gw.adminToken];
    for (const s of secrets) {
      expect(r.stdout()).not.toContain(s);
      expect(r.stderr()).not.toContain(s);
    }
    expect(JSON.stringify(gw.store.listEvents(p.run.id))).not.toContain(p.run.capabilityToken);
  }, 120_000);

  it('--display-mode window shows only the titled window, pixel-exact, and maps input into it', async () => {
    const scope = testScope();
    const gw = await startGateway(scope);
    const p = provision(gw);
    const r = spawnRunner(scope, gw, p, { windowTitle: 'E2E Window' });
    runIds.set(r, p.run.id);
    await r.proc.waitForOutput(/vnc-runner: started run=/, 30_000);
    const x = await r.x();
    const inside = await windowInside(x, 'E2E Window');
    expect(inside).toMatchObject({ x: 201, y: 151 }); // +200+150 plus the 1-pixel border
    const page = await openViewer(p.viewerUrl);
    const cmp = await expectCanvasEqualsScreen(page, x, 20_000, inside);
    expect(cmp.compared).toBe(inside.w * inside.h);
    // The marker reports the window mode; the size the viewer sees is the window's.
    const marker = JSON.parse(gw.store.listEvents(p.run.id).find((e) => e.type === 'marker')!.data);
    expect(marker).toMatchObject({ event: 'started', displayMode: 'window', resolution: `${inside.w}x${inside.h}` });
    // A click at (100,100) of the canvas lands inside the window, so its keys reach the xterm.
    await typeIntoXterm(page, 'window mode');
    await waitForTyped(r.typedFile, 'window mode', 10_000);
    await stopAndExpectCleanExit(gw, r, x);
    await page.close();
  }, 120_000);

  it('exits 2 with a usage message (and no secret) for a bad runner command line', async () => {
    const scope = testScope();
    const gw = await startGateway(scope);
    const p = provision(gw);
    const env = { ...process.env, ...p.runnerEnv };
    const run = async (args: string[], e: NodeJS.ProcessEnv = env) => {
      const proc = scope.spawn(process.execPath, [MAIN, ...args], { env: e, cwd: REPO });
      let out = '';
      proc.child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      const exit = await Promise.race([proc.exited, sleep(15_000).then(() => null)]);
      return { code: exit?.code, out, all: proc.output() };
    };
    const base = ['--run-id', p.run.id, '--gateway-url', gw.url, '--capability-token', p.run.capabilityToken];
    for (const [args, e, msg] of [
      [[...base, '--display-mode', 'tab'], env, /--display-mode must be screen or window/],
      [[...base, '--listen', '5900'], env, /direct-server option/],
      [[...base, '--agent-label', '--insecure'], env, /needs a value/],
      [base, { ...env, HMAC_SECRET: 'short' }, /HMAC_SECRET must be set and at least 32/],
    ] as const) {
      const res = await run([...args], e);
      expect(res.code, res.all).toBe(2);
      expect(res.out).toBe('');
      expect(res.all).toMatch(msg);
      for (const s of [SECRET, p.clientToken, p.run.capabilityToken]) expect(res.all).not.toContain(s);
    }
  }, 60_000);
});
