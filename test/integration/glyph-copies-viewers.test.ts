/**
 * Glyph copies with real viewers: an xterm on Xvfb prints lines made of the same few words, so
 * most of its words already show elsewhere and go out as CopyRects from there. TigerVNC's
 * vncviewer and noVNC in chromium, each with Hextile, ZRLE and lossless Tight, must end up
 * showing the X screen pixel for pixel (`xwd -root`), and the server's counters must show that
 * the words were copied (several CopyRects for each line scrolled).
 */
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import { launchChromium, openNoVncPage, serveNoVnc, type ChromiumHandle, type NoVncServer } from '../helpers/browser.js';
import { runOk, sleep, suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { startTigerViewer, type TigerEncoding } from '../helpers/vnc-clients.js';
import { fillRoot, startXvfb, xEnv, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 400;
const ENC_COPYRECT = 1;
const LINES = 12;
const WORDS = ['grep', 'return', 'value', 'error', 'server', 'client', 'update', 'pixel'];

describe('glyph copies: real viewers stay exact', () => {
  const scope = suiteScope();
  let server: XvfbHandle;
  let viewerX: XvfbHandle;
  let rig: ServerRig;
  let pages: NoVncServer;
  let browser: ChromiumHandle;
  let feed: string;
  let n = 0;

  beforeAll(async () => {
    server = await startXvfb({ width: W, height: H, scope });
    viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    await fillRoot(server.display, 'desktop');
    feed = `/tmp/glyph-viewers-${process.pid}.txt`;
    writeFileSync(feed, '');
    scope.defer('remove xterm feed', () => rmSync(feed, { force: true }));
    const env = xEnv(server.display);
    // An antialiased font, as desktops use: its glyphs cost ZRLE and Tight more than a copy.
    const term = scope.spawn('xterm', ['-geometry', '70x20+10+10', '-fa', 'DejaVu Sans Mono', '-fs', '10', '-e', 'tail', '-s', '0.05', '-n', '+1', '-f', feed], { env });
    await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 10_000, env });
    for (let i = 0; i < 25; i++) appendFileSync(feed, `${line()}\n`);
    pages = await serveNoVnc({ scope });
    rig = await startServerRig({ display: server.display, http: true, allowedOrigins: [pages.baseUrl], scope });
    browser = await launchChromium({ scope });
    await sleep(300);
  });

  function line(): string {
    n++;
    // and a number: runs of digits touch, and are copied cell by cell
    return `${Array.from({ length: 8 }, (_, i) => WORDS[(n * 3 + i * 5) % WORDS.length]).join(' ')} ${(n * 7919) % 100_000}`;
  }

  function copyRectsSent(): number {
    return rig.server.liveSessions().flatMap((s) => s.encodingStats()).filter((e) => e.encoding === ENC_COPYRECT).reduce((a, e) => a + e.rects, 0);
  }

  /** Prints LINES lines, one per 80 ms, then returns the settled X screen. */
  async function scrollText(): Promise<Awaited<ReturnType<typeof xwdRoot>>> {
    for (let i = 0; i < LINES; i++) {
      appendFileSync(feed, `${line()}\n`);
      await sleep(80);
    }
    await sleep(400);
    return xwdRoot(server.display);
  }

  type WaitForImage = (truth: Awaited<ReturnType<typeof xwdRoot>>, opts: { timeoutMs: number; label: string }) => Promise<unknown>;

  /** The viewer shows the screen, then the screen after LINES more lines; the glyphs went as copies. */
  async function followsScrolledText(label: string, waitForImage: WaitForImage): Promise<void> {
    await waitForImage(await xwdRoot(server.display), { timeoutMs: 15_000, label: `${label} before` });
    const before = copyRectsSent();
    const truth = await scrollText();
    await waitForImage(truth, { timeoutMs: 15_000, label: `${label} after ${LINES} lines` });
    // One scroll copy per line at most; the rest are its 8 words (or their glyphs), copied
    // from the lines above.
    expect(copyRectsSent() - before).toBeGreaterThan(LINES * 6);
  }

  const tiger: TigerEncoding[] = ['Hextile', 'ZRLE', 'Tight'];
  test.each(tiger)('TigerVNC vncviewer, %s', async (encoding) => {
    const viewer = await startTigerViewer({ port: rig.port, display: viewerX.display, encoding, scope });
    await followsScrolledText(`tiger ${encoding}`, (truth, opts) => viewer.waitForImage(truth, opts));
    await viewer.close();
  });

  const novnc: [string, number][] = [['Hextile', 5], ['ZRLE', 16], ['Tight (lossless)', 7]];
  test.each(novnc)('noVNC in chromium, %s', async (name, encoding) => {
    const page = await openNoVncPage(browser, pages.pageUrl(rig.wsUrl!, { onlyEncodings: [ENC_COPYRECT, encoding] }));
    await followsScrolledText(`noVNC ${name}`, (truth, opts) => page.waitForImage(truth, opts));
    await page.close();
  });
});
