/**
 * The viewer page in Debian's chromium: noVNC's ES modules load from the gateway, the page asks
 * for a stream, the runner opens the tunnel, and noVNC completes an RFB handshake through the
 * relay. The RFB server is a minimal test double (security None, one raw frame); the browser,
 * noVNC, page, gateway, relay, runner and tunnel are real.
 */
import { existsSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { runRunner, type ServeRfb } from '../../gateway/runner.js';
import { provisionRun } from '../../gateway/reference/provision.js';
import { startReferenceGateway, type ReferenceGateway } from '../../gateway/reference/server.js';

const SECRET = 'viewer-page-secret-0123456789abcdef01234';
const CHROMIUM = '/usr/bin/chromium';
const W = 64;
const H = 48;

/** Just enough of an RFB 3.8 server for noVNC to connect and draw one frame. */
const tinyRfb: ServeRfb = (stream: Duplex) =>
  new Promise<void>((resolve) => {
    let buf = Buffer.alloc(0);
    let stage = 0;
    stream.on('error', () => undefined);
    stream.on('close', () => resolve());
    stream.write('RFB 003.008\n');
    stream.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (stage === 0 && buf.length >= 12) {
          buf = buf.subarray(12);
          stage = 1;
          stream.write(Buffer.from([1, 1])); // one security type: None
        } else if (stage === 1 && buf.length >= 1) {
          buf = buf.subarray(1);
          stage = 2;
          stream.write(Buffer.from([0, 0, 0, 0])); // SecurityResult OK
        } else if (stage === 2 && buf.length >= 1) {
          buf = buf.subarray(1);
          stage = 3;
          const name = Buffer.from('tiny');
          const init = Buffer.alloc(24);
          init.writeUInt16BE(W, 0);
          init.writeUInt16BE(H, 2);
          Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(init, 4);
          init.writeUInt32BE(name.length, 20);
          stream.write(Buffer.concat([init, name]));
        } else if (stage === 3 && buf.length >= 1) {
          const type = buf[0]!;
          const need = type === 0 ? 20 : type === 2 ? (buf.length >= 4 ? 4 + 4 * buf.readUInt16BE(2) : Infinity) : type === 3 ? 10 : type === 4 ? 8 : type === 5 ? 6 : -1;
          if (need < 0) {
            stream.destroy();
            return;
          }
          if (buf.length < need) break;
          if (type === 3 && buf[1] === 0) {
            const hdr = Buffer.alloc(16);
            hdr.writeUInt16BE(1, 2); // one rectangle
            hdr.writeUInt16BE(W, 8);
            hdr.writeUInt16BE(H, 10);
            hdr.writeInt32BE(0, 12); // Raw
            stream.write(Buffer.concat([Buffer.from([0, 0]), hdr.subarray(2), Buffer.alloc(W * H * 4, 0x80)]));
          }
          buf = buf.subarray(need);
        } else break;
      }
    });
  });

describe.skipIf(!existsSync(CHROMIUM))('viewer page in chromium', () => {
  let browser: Browser;
  let gw: ReferenceGateway;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    gw = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, logger: createLogger({ level: 'error' }) });
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('starts a stream and shows it with noVNC', async () => {
    const p = provisionRun(gw, { hmacSecret: SECRET, runnerOverrides: { pollIntervalMs: 200 } });
    const ctl = new AbortController();
    const exit = runRunner(p.runnerOptions, tinyRfb, createLogger({ level: 'error' }), { signal: ctl.signal, stdout: () => undefined });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(p.viewerUrl);
      await page.waitForSelector('body[data-state="connected"]', { timeout: 15_000 });
      expect(await page.textContent('#status')).toBe('Connected');
      expect(await page.title()).toContain('tiny');
      // A string expression: the test's tsconfig has no DOM types.
      const size = await page.evaluate(
        "(() => { const c = document.querySelector('#screen canvas'); return c ? [c.width, c.height] : null; })()",
      );
      expect(size).toEqual([W, H]);
      expect(errors).toEqual([]);
      await page.click('#disconnect');
      await page.waitForSelector('body[data-state="disconnected"]', { timeout: 5_000 });
    } finally {
      ctl.abort();
      expect(await exit).toBe(0);
    }
  });
});
