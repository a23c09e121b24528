/**
 * The auth throttle end to end: a real VncServer on loopback with VNC auth and small throttle
 * timings. Wrong passwords get growing reply delays, then the address is refused with a reason;
 * a challenge handed out before the block cannot be used to guess after it; the correct
 * password works again once the block has expired; no password ever reaches the log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { createLogger } from '../../core/log.js';
import { VncServer } from '../../server/vnc-server.js';
import { listenTcp, type TcpListener } from '../../server/listeners/tcp-listener.js';
import { SyntheticDesktop } from '../helpers/synthetic-desktop.js';
import { RfbClient, vncAuthResponse } from '../helpers/rfb-client.js';

const PASSWORD = 'Corr3ct!';
const WRONG = ['wrong-01', 'wrong-02', 'wrong-03', 'wrong-04', 'wrong-05'];
const THROTTLE = { maxDelayMs: 800, blockAfter: 4, blockMs: 1500 };
const BASE_DELAY_MS = 100;

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function rig(): Promise<{ port: number; lines: string[] }> {
  const lines: string[] = [];
  const server = new VncServer(new SyntheticDesktop(64, 48), {
    password: PASSWORD,
    authFailureDelayMs: BASE_DELAY_MS,
    authThrottle: THROTTLE,
    logger: createLogger({ level: 'debug', write: (l) => void lines.push(l) }),
  });
  const listener: TcpListener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => server.handleConnection(s, i) });
  cleanup.push(() => listener.close(), () => server.close());
  return { port: listener.address.port, lines };
}

/** Connects with `password`; resolves with how long it took and how it ended. */
async function attempt(port: number, password: string): Promise<{ ms: number; error: string | null }> {
  const c = new RfbClient({ port, password, timeoutMs: 5000 });
  const t0 = performance.now();
  try {
    await c.connect();
    return { ms: performance.now() - t0, error: null };
  } catch (e) {
    return { ms: performance.now() - t0, error: (e as Error).message };
  } finally {
    c.close();
  }
}

/** A raw 3.8 connection that stops after receiving the VNC-auth challenge. */
async function openUntilChallenge(port: number): Promise<{ socket: net.Socket; challenge: Buffer; rest: () => Buffer; closed: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => void (buf = Buffer.concat([buf, c])));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const until = async (n: number) => {
    const end = Date.now() + 3000;
    while (buf.length < n) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${n} bytes (have ${buf.length})`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  await until(12);
  socket.write('RFB 003.008\n');
  await until(14); // 1 type: [1, 2]
  expect([...buf.subarray(12, 14)]).toEqual([1, 2]);
  socket.write(Buffer.from([2]));
  await until(30);
  return { socket, challenge: Buffer.from(buf.subarray(14, 30)), rest: () => buf.subarray(30), closed };
}

describe('auth throttling through a real server', () => {
  it('delays wrong passwords more each time, then refuses the address with a reason; the right password works after the block', async () => {
    const { port, lines } = await rig();
    // A challenge obtained before the block: it must not be usable afterwards.
    const early = await openUntilChallenge(port);

    const results = [];
    for (let i = 0; i < THROTTLE.blockAfter; i++) results.push(await attempt(port, WRONG[i]!));
    for (const r of results) expect(r.error).toMatch(/auth failed: authentication failed/);
    const expected = [100, 200, 400, 800];
    results.forEach((r, i) => expect(r.ms).toBeGreaterThanOrEqual(expected[i]! - 10));
    for (let i = 1; i < results.length; i++) expect(results[i]!.ms).toBeGreaterThan(results[i - 1]!.ms + 50);

    // Blocked: refused right after the version exchange, with the reason, without a delay.
    const refused = await attempt(port, PASSWORD);
    expect(refused.error).toMatch(/server refused: too many authentication failures; try again in [12] s/);
    expect(refused.ms).toBeLessThan(500);

    // The early connection answers its challenge with the correct password: not even checked.
    early.socket.write(vncAuthResponse(PASSWORD, early.challenge));
    await early.closed;
    expect(early.rest().length).toBe(0); // no SecurityResult: the response was never evaluated
    expect(lines.some((l) => l.includes('credentials not checked'))).toBe(true);

    // After the block expires the correct password works, and success clears the record.
    await new Promise((r) => setTimeout(r, THROTTLE.blockMs + 100));
    const ok = await attempt(port, PASSWORD);
    expect(ok.error).toBeNull();
    const again = await attempt(port, WRONG[4]!);
    expect(again.error).toMatch(/authentication failed/);
    expect(again.ms).toBeLessThan(BASE_DELAY_MS + 150); // back to the base delay, not 1600 ms

    const log = lines.join('\n');
    expect(log).toMatch(/handshake failed code="VNC_ERR_AUTH" reason="authentication failed" delayMs=800/);
    expect(log).toMatch(/connection refused: too many authentication failures/);
    for (const secret of [PASSWORD, ...WRONG]) expect(log).not.toContain(secret);
  }, 20_000);
});
