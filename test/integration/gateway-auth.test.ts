/**
 * Reference gateway security: wrapperAuth refusals with the spec's status codes and texts,
 * authentication of both tunnel ends, clean replacement of a duplicate connection, bounded relay
 * queues, and the viewer page / noVNC static files.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fetch } from 'undici';
import WebSocket from 'ws';
import { createLogger } from '../../core/log.js';
import { buildSignedHeaders } from '../../gateway/signing.js';
import { startReferenceGateway, type ReferenceGateway, type ReferenceGatewayOptions } from '../../gateway/reference/server.js';
import type { RunRecord } from '../../gateway/reference/store.js';

const SECRET = 'auth-test-secret-0123456789abcdef01234';
const quiet = createLogger({ level: 'error', write: () => undefined });
const open: ReferenceGateway[] = [];
afterEach(async () => {
  for (const gw of open.splice(0)) await gw.close();
});

async function setup(opts: ReferenceGatewayOptions = {}): Promise<{ gw: ReferenceGateway; run: RunRecord }> {
  const gw = await startReferenceGateway({ hmacSecret: SECRET, rateLimitPerMinute: 0, logger: quiet, ...opts });
  open.push(gw);
  return { gw, run: gw.createRun() };
}

function creds(run: RunRecord, secret = SECRET) {
  return { hmacSecret: secret, runId: run.id, capabilityToken: run.capabilityToken };
}

async function poll(gw: ReferenceGateway, headers: Record<string, string>, runId: string) {
  const res = await fetch(`${gw.url}/api/runs/${runId}/commands`, { headers, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: (await res.json()) as unknown };
}

interface WsOutcome {
  status?: number;
  closeCode?: number;
  ws?: WebSocket;
  /** Messages received so far (collected from the start: data can arrive with the upgrade). */
  got: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
}

function wsOutcome(url: string, headers: Record<string, string> = {}): Promise<WsOutcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(d));
    ws.on('error', () => undefined);
    const closed = new Promise<{ code: number; reason: string }>((res) =>
      ws.once('close', (code, reason) => res({ code, reason: reason.toString() })),
    );
    const t = setTimeout(() => resolve({ got, closed }), 5_000);
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(t);
      res.resume();
      resolve({ status: res.statusCode, got, closed });
    });
    ws.once('open', () => {
      clearTimeout(t);
      resolve({ ws, got, closed });
    });
  });
}

describe('wrapperAuth', () => {
  it('accepts a correctly signed poll', async () => {
    const { gw, run } = await setup();
    gw.requestStream(run.id);
    const path = `/api/runs/${run.id}/commands`;
    const r = await poll(gw, buildSignedHeaders(creds(run), { method: 'GET', path }), run.id);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([expect.objectContaining({ command: '__START_VNC_STREAM__', created_at: expect.any(Number) })]);
  });

  it('refuses a forged signature, a replayed nonce and a stale timestamp with 401', async () => {
    const { gw, run } = await setup();
    const path = `/api/runs/${run.id}/commands`;
    const forged = await poll(gw, buildSignedHeaders(creds(run, 'x'.repeat(40)), { method: 'GET', path }), run.id);
    expect(forged).toEqual({ status: 401, body: { error: 'Invalid signature' } });

    const once = buildSignedHeaders(creds(run), { method: 'GET', path });
    expect((await poll(gw, once, run.id)).status).toBe(200);
    expect(await poll(gw, once, run.id)).toEqual({ status: 401, body: { error: 'Nonce already used (replay attack detected)' } });

    const stale = buildSignedHeaders(creds(run), { method: 'GET', path, nowMs: Date.now() - 301_000 });
    expect(await poll(gw, stale, run.id)).toEqual({ status: 401, body: { error: 'Request timestamp out of allowed range' } });
    const future = buildSignedHeaders(creds(run), { method: 'GET', path, nowMs: Date.now() + 301_000 });
    expect((await poll(gw, future, run.id)).status).toBe(401);
    // Exactly at the edge of the window is still fine (inclusive ±300 s).
    const edge = buildSignedHeaders(creds(run), { method: 'GET', path, nowMs: Date.now() - 299_000 });
    expect((await poll(gw, edge, run.id)).status).toBe(200);
  });

  it('a forged request does not burn its nonce', async () => {
    const { gw, run } = await setup();
    const path = `/api/runs/${run.id}/commands`;
    const good = buildSignedHeaders(creds(run), { method: 'GET', path, nonce: 'shared-nonce' });
    const bad = { ...good, 'X-Signature': '0'.repeat(64) };
    expect((await poll(gw, bad, run.id)).status).toBe(401);
    expect((await poll(gw, good, run.id)).status).toBe(200);
  });

  it('refuses missing headers (401), a wrong capability token (403) and another run (403)', async () => {
    const { gw, run } = await setup();
    const other = gw.createRun();
    const path = `/api/runs/${run.id}/commands`;
    expect(await poll(gw, {}, run.id)).toEqual({ status: 401, body: { error: 'Missing authentication headers' } });
    const wrongCap = buildSignedHeaders({ ...creds(run), capabilityToken: 'f'.repeat(64) }, { method: 'GET', path });
    expect(await poll(gw, wrongCap, run.id)).toEqual({ status: 403, body: { error: 'Invalid capability token for run' } });
    const otherRun = buildSignedHeaders(creds(other), { method: 'GET', path });
    expect(await poll(gw, otherRun, run.id)).toEqual({ status: 403, body: { error: 'Capability token mismatch' } });
  });

  it('answers malformed JSON with 400, not 500 (G9)', async () => {
    const { gw, run } = await setup();
    const body = '{"type": "marker", "data": "not json"}';
    const res = await fetch(`${gw.url}/api/ingest/event`, {
      method: 'POST',
      body,
      headers: { 'Content-Type': 'application/json', ...buildSignedHeaders(creds(run), { method: 'POST', path: '/api/ingest/event', body }) },
    });
    expect(res.status).toBe(400);
    expect(gw.store.listEvents(run.id)).toHaveLength(0);
  });

  it('rate-limits per socket address with Retry-After', async () => {
    const { gw, run } = await setup({ rateLimitPerMinute: 2 });
    const path = `/api/runs/${run.id}/commands`;
    for (let i = 0; i < 2; i++) expect((await poll(gw, buildSignedHeaders(creds(run), { method: 'GET', path }), run.id)).status).toBe(200);
    const res = await fetch(`${gw.url}${path}`, {
      headers: { ...buildSignedHeaders(creds(run), { method: 'GET', path }), 'X-Forwarded-For': '10.9.8.7' },
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    await res.arrayBuffer();
  });
});

describe('tunnel authentication and relay', () => {
  function wsUrl(gw: ReferenceGateway, run: RunRecord, token?: string): string {
    return `${gw.url.replace('http', 'ws')}/ws/vnc/${run.id}${token ? `?token=${token}` : ''}`;
  }
  function runnerHeaders(gw: ReferenceGateway, run: RunRecord, secret = SECRET): Record<string, string> {
    return { ...buildSignedHeaders(creds(run, secret), { method: 'GET', path: `/ws/vnc/${run.id}` }), 'X-VNC-Client': 'true' };
  }

  it('refuses a runner without a valid signature and a viewer without the viewer token', async () => {
    const { gw, run } = await setup();
    expect((await wsOutcome(wsUrl(gw, run), { 'X-VNC-Client': 'true' })).status).toBe(401);
    expect((await wsOutcome(wsUrl(gw, run), { 'User-Agent': 'python-vnc-runner' })).status).toBe(401);
    expect((await wsOutcome(wsUrl(gw, run), runnerHeaders(gw, run, 'y'.repeat(40)))).status).toBe(401);
    expect((await wsOutcome(wsUrl(gw, run))).status).toBe(401);
    expect((await wsOutcome(wsUrl(gw, run, 'nope'))).status).toBe(401);
    expect((await wsOutcome(wsUrl(gw, run, run.viewerToken), { Origin: 'https://evil.example' })).status).toBe(403);
    const ok = await wsOutcome(wsUrl(gw, run, run.viewerToken));
    expect(ok.ws).toBeDefined();
    ok.ws!.close();
    const unknown = await wsOutcome(`${gw.url.replace('http', 'ws')}/ws/vnc/not-a-run`);
    expect(await unknown.closed).toEqual({ code: 1008, reason: 'Invalid run or not VNC type' });
  });

  it('relays bytes both ways, replaces a duplicate viewer cleanly, and bounds queues', async () => {
    const { gw, run } = await setup({ relay: { maxQueuedBytes: 64 * 1024 } });
    const runner = await wsOutcome(wsUrl(gw, run), runnerHeaders(gw, run));
    runner.ws!.send(Buffer.from('RFB 003.008\n')); // queued until a viewer arrives

    const v1 = await wsOutcome(wsUrl(gw, run, run.viewerToken));
    await vi_waitFor(() => v1.got.length === 1);
    expect(v1.got[0]!.toString()).toBe('RFB 003.008\n');
    v1.ws!.send(Buffer.from('RFB 003.008\n'));
    await vi_waitFor(() => runner.got.length === 1);
    expect(gw.relay.stats(run.id)).toMatchObject({ status: 'active', bytesFromClient: 12, bytesFromViewer: 12 });

    // A second viewer: the old pair is closed with explicit codes, the newcomer waits alone.
    const v2 = await wsOutcome(wsUrl(gw, run, run.viewerToken));
    expect((await v1.closed).code).toBe(4001);
    expect((await runner.closed).code).toBe(4002);
    expect(gw.relay.stats(run.id)).toMatchObject({ status: 'pending', viewerConnected: true, clientConnected: false });

    // With no runner, the viewer may queue only 64 KiB; beyond that it is closed with 1009.
    v2.ws!.send(Buffer.alloc(100 * 1024));
    expect((await v2.closed).code).toBe(1009);
    expect(gw.relay.has(run.id)).toBe(false);
  });
});

describe('viewer page and noVNC files', () => {
  it('serves the page, the viewer script and noVNC ES modules with JS MIME types, nothing else', async () => {
    const { gw, run } = await setup();
    const page = await fetch(`${gw.url}/view/${run.id}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('/novnc/app/viewer.js');
    expect(html).not.toContain(run.viewerToken);
    for (const p of ['/novnc/app/viewer.js', '/novnc/core/rfb.js', '/novnc/core/util/logging.js', '/novnc/vendor/pako/lib/zlib/inflate.js']) {
      const res = await fetch(gw.url + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type'), p).toBe('text/javascript; charset=utf-8');
      expect((await res.text()).length).toBeGreaterThan(100);
    }
    for (const p of ['/novnc/package.json', '/novnc/core/../package.json', '/novnc/core/%2e%2e/%2e%2e/package.json', '/novnc/docs/API.md', '/novnc/core/nope.js']) {
      const res = await fetch(gw.url + p);
      expect(res.status, p).toBe(404);
      await res.arrayBuffer();
    }
  });

  it('protects the VNC REST routes with the viewer token and avoids duplicate starts', async () => {
    const { gw, run } = await setup();
    const start = (token?: string) =>
      fetch(`${gw.url}/api/runs/${run.id}/vnc/start`, { method: 'POST', headers: token ? { Authorization: `Bearer ${token}` } : {} });
    expect((await start()).status).toBe(401);
    expect((await start('bad')).status).toBe(401);
    const a = (await (await start(run.viewerToken)).json()) as { commandId: string };
    const b = (await (await start(run.viewerToken)).json()) as { commandId: string };
    expect(b.commandId).toBe(a.commandId);
    expect(gw.store.pendingCommands(run.id)).toHaveLength(1);
    const status = await fetch(`${gw.url}/api/runs/${run.id}/vnc?token=${run.viewerToken}`);
    expect(await status.json()).toMatchObject({ runId: run.id, available: false, status: 'disconnected' });
    expect((await fetch(`${gw.url}/api/vnc/stats`)).status).toBe(401);
    expect((await fetch(`${gw.url}/api/vnc/stats`, { headers: { Authorization: `Bearer ${gw.adminToken}` } })).status).toBe(200);
  });
});

async function vi_waitFor(pred: () => boolean, timeoutMs = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
