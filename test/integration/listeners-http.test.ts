/**
 * The web viewer server: static files and headers over real HTTP, path confinement with raw
 * (unnormalised) request paths, the WebSocket on the same port, and Debian's chromium loading
 * the page through playwright-core, connecting, and walking through the RFB version and VNC
 * password exchange against bytes written by this test (the RFB server itself is not involved).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type HttpViewer, listenHttpViewer, resolveNovncDir } from '../../server/listeners/http-viewer.js';
import type { ConnectionInfo } from '../../server/listeners/tcp-listener.js';

let viewer: HttpViewer;
const conns: { stream: Duplex; info: ConnectionInfo }[] = [];

beforeAll(async () => {
  viewer = await listenHttpViewer({
    host: '127.0.0.1',
    port: 0,
    title: 'test desktop',
    pingIntervalMs: 0,
    onConnection: (stream, info) => conns.push({ stream, info }),
  });
});
afterAll(async () => {
  for (const c of conns) c.stream.destroy();
  await viewer?.close();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw HTTP request: the path is sent exactly as given (no client-side normalisation). */
function request(path: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: viewer.address.port, path, method: opts.method ?? 'GET', headers: opts.headers, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Collects bytes from a stream so a test can wait for exactly n of them. */
function byteReader(stream: Duplex) {
  let buf = Buffer.alloc(0);
  stream.on('data', (c: Buffer) => (buf = Buffer.concat([buf, c])));
  return async (n: number): Promise<Buffer> => {
    await waitFor(`${n} bytes from the browser`, () => (buf.length >= n ? true : undefined));
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
}

describe('web viewer over HTTP', () => {
  it('serves the page with security headers and no caching', async () => {
    const r = await request('/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(r.headers['content-security-policy']).toMatch(/connect-src 'self'/);
    expect(r.body.toString()).toContain('<title>test desktop</title>');
    expect((await request('/index.html')).status).toBe(200);
    const js = await request('/viewer.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body.toString()).toContain("from './novnc/core/rfb.js'");
    expect((await request('/viewer.css')).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('serves noVNC from the npm package as JavaScript, with revalidation', async () => {
    const r = await request('/novnc/core/rfb.js');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(r.body).toEqual(readFileSync(join(resolveNovncDir(), 'core/rfb.js')));
    const etag = r.headers.etag!;
    expect((await request('/novnc/core/rfb.js', { headers: { 'If-None-Match': etag } })).status).toBe(304);
    expect((await request('/novnc/vendor/pako/lib/zlib/inflate.js')).status).toBe(200);
    const head = await request('/novnc/core/rfb.js', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it.each([
    '/novnc/core/../../../package.json',
    '/novnc/core/../../package.json',
    '/novnc/../package.json',
    '/../../etc/passwd',
    '/novnc/core/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/novnc/core/..%2f..%2f..%2fpackage.json',
    '/novnc/core/..%5c..%5cpackage.json',
    '/novnc/package.json',
    '/novnc/core/nonexistent.js',
    '/novnc/core/util',
    '/nothing',
  ])('refuses %s', async (path) => {
    const r = await request(path);
    expect(r.status).toBe(404);
    expect(r.body.toString()).not.toContain('"name"');
  });

  it('refuses other methods and foreign Host names', async () => {
    const post = await request('/', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await request('/', { headers: { Host: 'evil.example' } })).status).toBe(403);
    expect((await request('/', { headers: { Host: `localhost:${viewer.address.port}` } })).status).toBe(200);
    expect((await request('/websockify')).status).toBe(426);
  });

  it('serves the WebSocket on /websockify of the same port, and only there', async () => {
    const before = conns.length;
    const ws = new WebSocket(`ws://127.0.0.1:${viewer.address.port}/websockify`, ['binary']);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    await waitFor('connection', () => (conns.length > before ? true : undefined));
    expect(conns.at(-1)!.info.transport).toBe('ws');
    ws.close();
    const other = new WebSocket(`ws://127.0.0.1:${viewer.address.port}/elsewhere`);
    const status = await new Promise<number>((resolve) => {
      other.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      other.once('error', () => resolve(-1));
    });
    expect(status).toBe(404);
  });
});

describe('web viewer in chromium', () => {
  let userDataDir: string;
  beforeAll(async () => {
    userDataDir = await mkdtemp(join(tmpdir(), 'viewer-chromium-'));
  });
  afterAll(async () => {
    await rm(userDataDir, { recursive: true, force: true });
  });

  it('loads without console errors, connects, and handles the password prompt', async () => {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      timeout: 30_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => problems.push(`requestfailed: ${r.url()} ${r.failure()?.errorText}`));
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
      });

      const before = conns.length;
      await page.goto(viewer.url, { timeout: 15_000 });
      const { stream, info } = await waitFor('the browser WebSocket', () => conns[before]);
      expect(info.transport).toBe('ws');
      const read = byteReader(stream);

      // RFB 3.8 version exchange: noVNC answers our version string
      stream.write('RFB 003.008\n');
      expect((await read(12)).toString('latin1')).toBe('RFB 003.008\n');
      expect(await page.locator('#status').getAttribute('data-state')).toBe('connecting');
      expect(problems).toEqual([]);

      // Security: offer VNC authentication only; noVNC picks it and needs a password
      stream.write(Buffer.from([1, 2]));
      expect([...(await read(1))]).toEqual([2]);
      const challenge = Buffer.from('0123456789abcdef', 'latin1');
      stream.write(challenge);
      await page.locator('#auth').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.locator('#status').getAttribute('data-state')).toBe('auth');
      await page.locator('#password').fill('secret');
      await page.locator('#auth button[type=submit]').click();
      const response = await read(16);
      expect(response).toEqual(vncAuthResponse('secret', challenge));
      expect(problems).toEqual([]);

      // A failed SecurityResult with a reason is shown to the user
      const reason = Buffer.from('bad password');
      const result = Buffer.alloc(8);
      result.writeUInt32BE(1, 0);
      result.writeUInt32BE(reason.length, 4);
      stream.write(Buffer.concat([result, reason]));
      await page.locator('#status[data-state="failed"]').waitFor({ timeout: 10_000 });
      expect(await page.locator('#status').textContent()).toMatch(/Authentication failed: bad password/);
      await page.locator('#reconnect').waitFor({ state: 'visible', timeout: 10_000 });
    } finally {
      await context.close();
    }
  });
});

/** The VNC-auth DES response, computed independently of the code under test. */
function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  const des = createRequire(import.meta.url)('des.js') as {
    DES: { create(o: { type: 'encrypt'; key: number[]; padding: boolean }): { update(d: number[]): number[]; final(): number[] } };
  };
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  const reversed = [...key].map((b) => {
    let r = 0;
    for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
    return r;
  });
  const cipher = des.DES.create({ type: 'encrypt', key: reversed, padding: false });
  return Buffer.from([...cipher.update([...challenge]), ...cipher.final()]);
}
