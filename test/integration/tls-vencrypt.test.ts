/**
 * VeNCrypt (security type 19) over real TLS against real clients:
 * - TigerVNC `vncviewer` (GnuTLS) with `-SecurityTypes X509Vnc / X509Plain / X509None` and our
 *   certificate as its only CA (`-X509CA`, so the viewer verifies chain and host name): the
 *   window shows the served screen pixel for pixel; a wrong password is refused;
 * - a Node TLS client that does the VeNCrypt negotiation by hand: the server presents exactly
 *   the configured certificate (verified against it as CA, same SHA-256 fingerprint), a TLS
 *   ClientHello sent in the same segment as the subtype choice is not lost, wrong Plain
 *   credentials get a failed SecurityResult, `requireTls` offers VeNCrypt alone, and a client
 *   that sends garbage instead of TLS is dropped while the server goes on.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { beforeAll, describe, expect, test } from 'vitest';
import { generateSelfSigned } from '../../cli/tls-setup.js';
import { VeNCryptSubtype } from '../../server/protocol/vencrypt.js';
import { suiteScope } from '../helpers/processes.js';
import { startServerRig, type ServerRig } from '../helpers/server-rig.js';
import { makeVncPasswdFile, startTigerViewer } from '../helpers/vnc-clients.js';
import { fillRoot, startXvfb, xwdRoot, type XvfbHandle } from '../helpers/x-env.js';

const W = 640;
const H = 480;
const PASSWORD = 'x509!pw';
const USER = 'tester';
const STEP_TIMEOUT_MS = 5_000;

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

/** Reads exact byte counts from a stream, each read with a deadline. */
class Reader {
  private buf = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  private readonly onData = (c: Buffer) => {
    this.buf = Buffer.concat([this.buf, c]);
    this.wake?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.wake?.();
  };
  constructor(private readonly stream: Duplex) {
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('close', this.onEnd);
  }
  async read(n: number, what: string): Promise<Buffer> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`connection closed while waiting for ${what} (${this.buf.length}/${n} bytes)`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  /** Stops reading; returns what was buffered but not read. */
  detach(): Buffer {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('close', this.onEnd);
    return this.buf;
  }
  async closed(): Promise<void> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('connection not closed by the server');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

interface VeNCryptClient {
  /** The security types the server offered. */
  types: number[];
  subtypes: number[];
  secure: tls.TLSSocket;
  reader: Reader;
}

/**
 * Connects, negotiates VeNCrypt with `subtype` and completes TLS, trusting only `ca`. With
 * `early`, the subtype choice and the ClientHello leave in ONE write, before the server's ack.
 */
async function vencryptConnect(port: number, subtype: number, ca: string, early = false): Promise<VeNCryptClient> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  const r = new Reader(sock);
  expect((await r.read(12, 'version')).toString('latin1')).toBe('RFB 003.008\n');
  sock.write('RFB 003.008\n');
  const n = (await r.read(1, 'type count'))[0]!;
  const types = [...(await r.read(n, 'types'))];
  sock.write(Buffer.from([19]));
  expect([...(await r.read(2, 'VeNCrypt version'))]).toEqual([0, 2]);
  sock.write(Buffer.from([0, 2]));
  expect((await r.read(1, 'version ack'))[0]).toBe(0);
  const count = (await r.read(1, 'subtype count'))[0]!;
  const list = await r.read(4 * count, 'subtypes');
  const subtypes = Array.from({ length: count }, (_, i) => list.readUInt32BE(4 * i));
  let transport: Duplex;
  if (!early) {
    sock.write(u32(subtype));
    const ack = (await r.read(1, 'subtype ack'))[0];
    if (ack !== 1) throw new Error(`subtype refused (ack ${ack})`);
    expect(r.detach().length).toBe(0);
    transport = sock;
  } else {
    expect(r.detach().length).toBe(0);
    // A Duplex between TLS and the socket: the first write (ClientHello) goes out glued to
    // the subtype choice; the server's ack byte is checked and removed before TLS sees data.
    let first = true;
    let ackSeen = false;
    transport = new Duplex({
      read() {
        sock.resume();
      },
      write(chunk: Buffer, _enc, cb) {
        sock.write(first ? Buffer.concat([u32(subtype), chunk]) : chunk, cb);
        first = false;
      },
      final(cb) {
        sock.end();
        cb();
      },
      destroy(err, cb) {
        sock.destroy();
        cb(err);
      },
    });
    sock.on('data', (c: Buffer) => {
      if (!ackSeen) {
        ackSeen = true;
        if (c[0] !== 1) transport.destroy(new Error(`subtype refused (ack ${c[0]})`));
        c = c.subarray(1);
      }
      if (c.length > 0 && !transport.push(c)) sock.pause();
    });
    sock.on('end', () => transport.push(null));
  }
  const secure = tls.connect({ socket: transport, ca, host: '127.0.0.1', minVersion: 'TLSv1.2' });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('TLS handshake timed out')), STEP_TIMEOUT_MS);
    secure.once('secureConnect', () => {
      clearTimeout(t);
      resolve();
    });
    secure.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
  return { types, subtypes, secure, reader: new Reader(secure) };
}

/** X509Plain credentials, then SecurityResult; on success also ClientInit + ServerInit size. */
async function plainLogin(c: VeNCryptClient, user: string, password: string): Promise<{ result: number; reason?: string; size?: [number, number] }> {
  const u = Buffer.from(user);
  const p = Buffer.from(password);
  c.secure.write(Buffer.concat([u32(u.length), u32(p.length), u, p]));
  const result = (await c.reader.read(4, 'SecurityResult')).readUInt32BE(0);
  if (result !== 0) {
    const len = (await c.reader.read(4, 'reason length')).readUInt32BE(0);
    return { result, reason: (await c.reader.read(len, 'reason')).toString('utf8') };
  }
  c.secure.write(Buffer.from([1]));
  const init = await c.reader.read(24, 'ServerInit');
  return { result, size: [init.readUInt16BE(0), init.readUInt16BE(2)] };
}

describe('VeNCrypt with TLS against real clients', () => {
  const scope = suiteScope();
  let server: XvfbHandle;
  let viewerX: XvfbHandle;
  let work: string;
  let certFile: string;
  let cert: string;
  /** Password, TLS required (VeNCrypt only on TCP), a user name for X509Plain. */
  let locked: ServerRig;
  /** No password, TLS offered before None. */
  let open: ServerRig;

  beforeAll(async () => {
    server = await startXvfb({ width: W, height: H, scope });
    viewerX = await startXvfb({ width: W + 200, height: H + 200, scope });
    await fillRoot(server.display, 'desktop');
    work = mkdtempSync(join(tmpdir(), 'tls-vencrypt-'));
    scope.defer('rm work dir', () => rmSync(work, { recursive: true, force: true }));
    const pair = await generateSelfSigned('localhost');
    cert = pair.cert;
    certFile = join(work, 'cert.pem');
    writeFileSync(certFile, pair.cert);
    locked = await startServerRig({
      display: server.display,
      password: PASSWORD,
      server: { tls: pair, requireTls: true, plainUsername: USER },
      scope,
    });
    open = await startServerRig({ display: server.display, server: { tls: pair }, scope });
  });

  const tiger = (port: number, securityTypes: string, extra: { passwordFile?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) =>
    startTigerViewer({
      port,
      display: viewerX.display,
      encoding: 'Tight',
      scope,
      extraArgs: [`-SecurityTypes=${securityTypes}`, `-X509CA=${certFile}`],
      ...extra,
    });

  test('TigerVNC X509Vnc with the password shows the screen pixel for pixel; a wrong password is refused', async () => {
    const truth = await xwdRoot(server.display);
    const good = await makeVncPasswdFile(PASSWORD, { scope });
    const viewer = await tiger(locked.port, 'X509Vnc', { passwordFile: good });
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: 'tiger X509Vnc' });
    await viewer.close();
    expect(locked.logs().join('\n')).toMatch(/client ready.*VeNCrypt X509Vnc/);

    const wrong = await makeVncPasswdFile('nottheone', { scope });
    await expect(tiger(locked.port, 'X509Vnc', { passwordFile: wrong, timeoutMs: 15_000 })).rejects.toThrow(/exited .*before showing a window/s);
    expect(locked.logs().join('\n')).toMatch(/handshake failed.*authentication failed/);
  });

  test('TigerVNC X509Plain with user name and password shows the screen', async () => {
    const truth = await xwdRoot(server.display);
    const viewer = await tiger(locked.port, 'X509Plain', { env: { VNC_USERNAME: USER, VNC_PASSWORD: PASSWORD } });
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: 'tiger X509Plain' });
    await viewer.close();
    const logs = locked.logs().join('\n');
    expect(logs).toMatch(/client ready.*VeNCrypt X509Plain/);
    // Neither the user name nor the password is ever logged.
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(USER);
  });

  test('TigerVNC X509None (no password) shows the screen', async () => {
    const truth = await xwdRoot(server.display);
    const viewer = await tiger(open.port, 'X509None');
    await viewer.waitForImage(truth, { timeoutMs: 15_000, label: 'tiger X509None' });
    await viewer.close();
    expect(open.logs().join('\n')).toMatch(/client ready.*VeNCrypt X509None/);
  });

  test('the server presents the configured certificate; X509Plain over a hand-made client', async () => {
    const c = await vencryptConnect(locked.port, VeNCryptSubtype.X509Plain, cert);
    try {
      // requireTls: TCP clients are offered VeNCrypt alone; with a password, X509Vnc and X509Plain.
      expect(c.types).toEqual([19]);
      expect(c.subtypes).toEqual([VeNCryptSubtype.X509Vnc, VeNCryptSubtype.X509Plain]);
      expect(c.secure.authorized).toBe(true);
      expect(c.secure.getPeerCertificate().fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
      expect(c.secure.getProtocol()).toBe('TLSv1.2');
      expect(await plainLogin(c, USER, PASSWORD)).toEqual({ result: 0, size: [W, H] });
    } finally {
      c.secure.destroy();
    }
  });

  test('a ClientHello glued to the subtype choice reaches the TLS layer', async () => {
    const c = await vencryptConnect(locked.port, VeNCryptSubtype.X509Plain, cert, true);
    try {
      expect(c.secure.authorized).toBe(true);
      expect(await plainLogin(c, USER, PASSWORD)).toEqual({ result: 0, size: [W, H] });
    } finally {
      c.secure.destroy();
    }
  });

  test('wrong Plain credentials get a failed SecurityResult with a reason, inside TLS', async () => {
    for (const [user, pw] of [[USER, 'wrong'], ['root', PASSWORD]] as const) {
      const c = await vencryptConnect(locked.port, VeNCryptSubtype.X509Plain, cert);
      try {
        expect(await plainLogin(c, user, pw)).toEqual({ result: 1, reason: 'authentication failed' });
        await c.reader.closed();
      } finally {
        c.secure.destroy();
      }
    }
  });

  test('garbage instead of a TLS handshake closes that client only', async () => {
    const sock = net.connect(open.port, '127.0.0.1');
    const r = new Reader(sock);
    await r.read(12, 'version');
    sock.write('RFB 003.008\n');
    expect([...(await r.read(3, 'types'))]).toEqual([2, 19, 1]);
    sock.write(Buffer.from([19]));
    await r.read(2, 'VeNCrypt version');
    sock.write(Buffer.from([0, 2]));
    await r.read(2 + 4, 'ack + subtypes');
    sock.write(Buffer.concat([u32(VeNCryptSubtype.X509None), Buffer.from('GET / HTTP/1.1\r\n\r\n')]));
    expect((await r.read(1, 'ack'))[0]).toBe(1);
    await r.closed();
    sock.destroy();
    // The server goes on.
    const c = await vencryptConnect(open.port, VeNCryptSubtype.X509None, cert);
    expect((await c.reader.read(4, 'SecurityResult')).readUInt32BE(0)).toBe(0);
    c.secure.destroy();
  });
});
