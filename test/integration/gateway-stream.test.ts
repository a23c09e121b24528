/**
 * Reference gateway + runner in-process, over real sockets. Only the RFB server is a test double
 * (an echo that first sends an RFB version string); signing, polling, acks, the WS tunnel and the
 * relay are the real code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createLogger, type Logger } from '../../core/log.js';
import { runRunner, type ServeRfb } from '../../gateway/runner.js';
import { provisionRun } from '../../gateway/reference/provision.js';
import { startReferenceGateway, type ReferenceGateway } from '../../gateway/reference/server.js';

const SECRET = 'integration-secret-0123456789abcdef0123';
const GREETING = Buffer.from('RFB 003.008\n');
const FAST_BACKOFF = { initialMs: 100, maxMs: 500, multiplier: 2, jitter: 0.2, retryAfterCapMs: 2_000 };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function memLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines };
}

/** Echo RFB double: greets like an RFB server, echoes everything, ends when the stream closes. */
function echoServer(): { serve: ServeRfb; sessions: Duplex[] } {
  const sessions: Duplex[] = [];
  const serve: ServeRfb = (stream) =>
    new Promise<void>((resolve) => {
      sessions.push(stream);
      stream.on('error', () => undefined);
      stream.on('close', () => resolve());
      stream.write(GREETING);
      stream.on('data', (d: Buffer) => stream.write(d));
    });
  return { serve, sessions };
}

async function waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

class Viewer {
  data = Buffer.alloc(0);
  closeCode: number | undefined;
  closeReason = '';
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => (this.data = Buffer.concat([this.data, d])));
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<Viewer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('open', () => resolve(new Viewer(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  waitBytes(n: number, timeoutMs = 5_000): Promise<void> {
    return waitFor(() => this.data.length >= n, timeoutMs, `${n} bytes at the viewer (have ${this.data.length})`);
  }

  waitClosed(timeoutMs = 5_000): Promise<void> {
    return waitFor(() => this.closeCode !== undefined, timeoutMs, 'viewer close');
  }
}

async function startGateway(extra: Parameters<typeof startReferenceGateway>[0] = {}): Promise<ReferenceGateway> {
  const gw = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, logger: memLogger().logger, ...extra });
  cleanups.push(() => gw.close());
  return gw;
}

function startRunner(gw: ReferenceGateway, serve: ServeRfb, over: Parameters<typeof provisionRun>[1]['runnerOverrides'] = {}) {
  const p = provisionRun(gw, { hmacSecret: SECRET, runnerOverrides: { pollIntervalMs: 100, ...over } });
  const stdout: string[] = [];
  const { logger, lines } = memLogger();
  const ctl = new AbortController();
  const exit = runRunner(p.runnerOptions, serve, logger, {
    signal: ctl.signal,
    stdout: (l) => stdout.push(l),
    backoff: FAST_BACKOFF,
  });
  cleanups.push(async () => {
    ctl.abort();
    await exit;
  });
  return { ...p, exit, stdout, logLines: lines, ctl };
}

describe('runner ⇄ reference gateway', () => {
  it('streams through the relay, handles duplicate starts and unknown commands, and stops on __STOP__', async () => {
    const gw = await startGateway();
    const echo = echoServer();
    const r = startRunner(gw, echo.serve);
    await waitFor(() => r.stdout.some((l) => l.includes('started run=')), 5_000, 'started line');
    expect(gw.store.getRun(r.run.id)!.status).toBe('running');

    // An unknown command is acked with an error, so the gateway stops re-delivering it.
    const halt = gw.store.enqueueCommand(r.run.id, '__HALT__');
    await waitFor(() => gw.store.getCommand(halt.id)!.status === 'completed', 5_000, 'ack of __HALT__');
    expect(gw.store.getCommand(halt.id)!.error).toBe('VNC runner does not execute commands');

    const viewer = await Viewer.connect(r.viewerWsUrl);
    const start = gw.requestStream(r.run.id);
    await viewer.waitBytes(GREETING.length);
    expect(viewer.data.subarray(0, 12).equals(GREETING)).toBe(true);
    await waitFor(() => gw.store.getCommand(start.id)!.status === 'completed', 5_000, 'start ack');
    expect(gw.store.getCommand(start.id)!.result).toBe('VNC streaming started');
    expect(gw.relay.stats(r.run.id)).toMatchObject({ status: 'active', clientConnected: true, viewerConnected: true });

    // 3 MiB of random bytes each way: chunked into many messages, checked byte for byte.
    const payload = randomBytes(3 * 1024 * 1024);
    viewer.ws.send(payload);
    await viewer.waitBytes(GREETING.length + payload.length, 15_000);
    expect(viewer.data.subarray(GREETING.length).equals(payload)).toBe(true);

    // A second start while streaming: acked, no second tunnel, the viewer keeps its session.
    const again = gw.requestStream(r.run.id);
    await waitFor(() => gw.store.getCommand(again.id)!.status === 'completed', 5_000, 'second start ack');
    expect(gw.store.getCommand(again.id)!.result).toBe('VNC stream already active');
    expect(echo.sessions).toHaveLength(1);
    expect(viewer.closeCode).toBeUndefined();

    // __STOP__ mid-stream: exit 0 within 5 s, ack first, finished marker marks the run done.
    const t0 = Date.now();
    const stop = gw.requestStop(r.run.id);
    const code = await r.exit;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(gw.store.getCommand(stop.id)).toMatchObject({ status: 'completed', result: 'Stopping' });
    expect(gw.store.getRun(r.run.id)).toMatchObject({ status: 'done', exitCode: 0 });
    await viewer.waitClosed();
    const markers = gw.store.listEvents(r.run.id).filter((e) => e.type === 'marker').map((e) => JSON.parse(e.data));
    expect(markers[0]).toMatchObject({ event: 'started', workerType: 'vnc', displayMode: 'screen', agentId: r.agentId });
    expect(markers.at(-1)).toMatchObject({ event: 'finished', exitCode: 0, stopRequested: true });

    // Quiet stdout: one line per lifecycle step, in order, no secrets anywhere.
    expect(r.stdout.map((l) => l.replace(/ .*$/, '') + ' ' + l.split(' ')[1])).toEqual([
      'vnc-runner: registered',
      'vnc-runner: started',
      'vnc-runner: stream',
      'vnc-runner: stopping',
      'vnc-runner: stream',
      'vnc-runner: stopped',
    ]);
    const everything = [...r.stdout, ...r.logLines, ...gw.store.listEvents(r.run.id).map((e) => e.data)].join('\n');
    for (const secret of [SECRET, r.clientToken, r.run.capabilityToken]) expect(everything).not.toContain(secret);
  });

  it('goes back to waiting when the tunnel closes, and streams again on the next start', async () => {
    const gw = await startGateway();
    const echo = echoServer();
    const r = startRunner(gw, echo.serve);
    const v1 = await Viewer.connect(r.viewerWsUrl);
    gw.requestStream(r.run.id);
    await v1.waitBytes(12);
    v1.ws.close();
    await waitFor(() => r.stdout.some((l) => l.startsWith('vnc-runner: stream ended')), 5_000, 'stream end');
    const v2 = await Viewer.connect(r.viewerWsUrl);
    gw.requestStream(r.run.id);
    await v2.waitBytes(12);
    v2.ws.send(Buffer.from('ping'));
    await v2.waitBytes(16);
    expect(v2.data.subarray(12).toString()).toBe('ping');
    expect(echo.sessions).toHaveLength(2);
  });

  it('recovers after the gateway is killed mid-stream and restarted on the same port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-state-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'state.json');
    let gw = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, stateFile, logger: memLogger().logger });
    const port = gw.port;
    const echo = echoServer();
    const r = startRunner(gw, echo.serve);
    const v1 = await Viewer.connect(r.viewerWsUrl);
    gw.requestStream(r.run.id);
    await v1.waitBytes(12);

    await gw.close();
    await v1.waitClosed();
    await waitFor(() => r.stdout.some((l) => l.startsWith('vnc-runner: stream ended')), 5_000, 'stream end after kill');
    await new Promise((res) => setTimeout(res, 700)); // a few failed polls against a dead port

    gw = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, stateFile, port, logger: memLogger().logger });
    const gw2 = gw;
    cleanups.push(() => gw2.close());
    const v2 = await Viewer.connect(r.viewerWsUrl);
    const start = gw.requestStream(r.run.id);
    await v2.waitBytes(12, 10_000);
    await waitFor(() => gw2.store.getCommand(start.id)!.status === 'completed', 5_000, 'start ack after restart');
    expect(echo.sessions).toHaveLength(2);
    expect(r.logLines.some((l) => l.includes('command poll failed'))).toBe(true);
    // Backoff, not a tight loop: with 100 ms polling and a 100→500 ms backoff, ~1 s of outage
    // costs a handful of attempts (a loop without backoff would make 10+).
    const recovered = r.logLines.find((l) => l.includes('command polling recovered'));
    const failures = Number(/failures=(\d+)/.exec(recovered ?? '')?.[1]);
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(failures).toBeLessThanOrEqual(8);
  });

  it('reports a refused register clearly and exits 1 without leaking secrets', async () => {
    const gw = await startGateway();
    const p = provisionRun(gw, { hmacSecret: SECRET });
    const stdout: string[] = [];
    const { logger, lines } = memLogger();
    const code = await runRunner({ ...p.runnerOptions, clientToken: 'wrong-token-value' }, echoServer().serve, logger, {
      signal: new AbortController().signal,
      stdout: (l) => stdout.push(l),
    });
    expect(code).toBe(1);
    expect(stdout.join('\n')).toMatch(/failed: .*register.*403.*Invalid client token/);
    expect(lines.join('\n')).toMatch(/credentials refused/);
    expect([...stdout, ...lines].join('\n')).not.toContain('wrong-token-value');
    expect([...stdout, ...lines].join('\n')).not.toContain(SECRET);
  });

  it('exits 0 on a stop signal mid-stream and closes the tunnel', async () => {
    const gw = await startGateway();
    const r = startRunner(gw, echoServer().serve);
    const v = await Viewer.connect(r.viewerWsUrl);
    gw.requestStream(r.run.id);
    await v.waitBytes(12);
    r.ctl.abort();
    expect(await r.exit).toBe(0);
    await v.waitClosed();
    expect(gw.store.getRun(r.run.id)!.status).toBe('done');
  });
});
