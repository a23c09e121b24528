/**
 * The browser side of TLS: the built-in web viewer over https, its noVNC socket over wss.
 * - `openssl s_client` verifies the listener's certificate against the configured one as CA,
 *   for the 127.0.0.1 address, and sees exactly that certificate;
 * - noVNC in chromium (`--ignore-certificate-errors`: the certificate is self-signed) loads the
 *   page over https, connects over wss (the port speaks only TLS, so plain ws could not work),
 *   asks for the password and shows the screen pixel for pixel. The server requires TLS on TCP,
 *   which must not keep WebSocket clients from VNC authentication;
 * - the standalone `listenWebSocket` listener with TLS accepts a Node `wss://` client.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { generateSelfSigned } from '../../cli/tls-setup.js';
import { listenHttpViewer, type HttpViewer } from '../../server/listeners/http-viewer.js';
import { listenWebSocket } from '../../server/listeners/ws-listener.js';
import { launchChromium, openNoVncPage, type ChromiumHandle } from '../helpers/browser.js';
import { runCommand, suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { fillRoot, startXvfb, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;
const PASSWORD = 'wss!pw';

describe('https viewer and wss with noVNC', () => {
  const scope = suiteScope();
  let x: XvfbHandle;
  let rig: ServerRig;
  let viewer: HttpViewer;
  let browser: ChromiumHandle;
  let cert: string;
  let certFile: string;

  beforeAll(async () => {
    x = await startXvfb({ width: W, height: H, scope });
    await fillRoot(x.display, 'desktop');
    const work = mkdtempSync(join(tmpdir(), 'tls-wss-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
    const pair = await generateSelfSigned('localhost');
    cert = pair.cert;
    certFile = join(work, 'cert.pem');
    writeFileSync(certFile, cert);
    rig = await startServerRig({ display: x.display, password: PASSWORD, server: { tls: pair, requireTls: true }, scope });
    viewer = await listenHttpViewer({
      host: '127.0.0.1',
      port: 0,
      onConnection: rig.server.handleConnection.bind(rig.server),
      pingIntervalMs: 0,
      tls: pair,
    });
    scope.defer('close https viewer', () => viewer.close());
    browser = await launchChromium({ scope, extraArgs: ['--ignore-certificate-errors'] });
  });

  test('the https listener presents the configured certificate (openssl s_client)', async () => {
    expect(viewer.url).toBe(`https://127.0.0.1:${viewer.address.port}/`);
    const r = await runCommand(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${viewer.address.port}`, '-CAfile', certFile, '-verify_ip', '127.0.0.1', '-verify_return_error', '-showcerts'],
      { timeoutMs: 10_000, input: '' },
    );
    const out = r.stdout.toString('utf8');
    expect(r.code, r.stderr + out).toBe(0);
    expect(out).toMatch(/Verify return code: 0 \(ok\)/);
    const presented = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
    expect(new X509Certificate(presented!).fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
  });

  test('noVNC over wss: asks for the password and shows the screen', async () => {
    const truth = await xwdRoot(x.display);
    const page = await openNoVncPage(browser, viewer.url);
    expect(await page.page.evaluate(() => location.protocol)).toBe('https:');
    await page.page.waitForSelector('#status[data-state="auth"]', { timeout: 15_000 });
    await page.page.fill('#password', PASSWORD);
    await page.page.click('#auth button[type="submit"]');
    await page.page.waitForSelector('#status[data-state="connected"]', { timeout: 15_000 });
    await page.waitForImage(truth, { timeoutMs: 15_000, label: 'noVNC over wss' });
    await page.close();
    expect(rig.logs().join('\n')).toMatch(/client ready.*security="vnc-auth"/);
  });

  test('standalone wss listener: a Node wss client gets the RFB greeting', async () => {
    const pair = await generateSelfSigned('localhost');
    const ws = await listenWebSocket({
      host: '127.0.0.1',
      port: 0,
      onConnection: rig.server.handleConnection.bind(rig.server),
      pingIntervalMs: 0,
      tls: pair,
    });
    try {
      const client = new WebSocket(`wss://127.0.0.1:${ws.address.port}/`, ['binary'], { ca: pair.cert });
      const first = await new Promise<Buffer>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no greeting over wss')), 10_000);
        client.once('message', (d: Buffer) => {
          clearTimeout(t);
          resolve(d);
        });
        client.once('error', reject);
      });
      expect(first.toString('latin1')).toBe('RFB 003.008\n');
      client.close();
      // Plain ws on the TLS port fails.
      const plain = new WebSocket(`ws://127.0.0.1:${ws.address.port}/`);
      await expect(
        new Promise((resolve, reject) => {
          plain.once('open', resolve);
          plain.once('error', reject);
        }),
      ).rejects.toThrow();
      plain.terminate();
    } finally {
      await ws.close();
    }
  });
});

declare const location: { protocol: string };
