/**
 * Runner and HTTP client against a scripted gateway (node:http on a real socket) to exercise
 * fault paths the reference gateway cannot produce on demand: 429 with Retry-After, 5xx storms,
 * timeouts, oversized answers, and the exact ordering of `__STOP__` ack and exit.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { GatewayHttpClient, GatewayHttpError } from '../../gateway/http-client.js';
import { runRunner } from '../../gateway/runner.js';
import type { RunnerOptions } from '../../gateway/runner-options.js';

const SECRET = 'faults-secret-0123456789abcdef0123456789';
type Reply = { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number } | 'hang';
interface Hit {
  method: string;
  path: string;
  at: number;
  body: string;
  headers: IncomingMessage['headers'];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A gateway whose answers come from `route`; every request is recorded with its arrival time. */
async function scriptedGateway(route: (hit: Hit, hits: Hit[]) => Reply): Promise<{ url: string; hits: Hit[]; port: number }> {
  const hits: Hit[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = { method: req.method!, path: req.url!, at: Date.now(), body: Buffer.concat(chunks).toString(), headers: req.headers };
      hits.push(hit);
      const reply = route(hit, hits);
      if (reply === 'hang') return;
      const send = () => {
        res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, hits, port };
}

function options(url: string, over: Partial<RunnerOptions> = {}): RunnerOptions {
  return {
    runId: 'RUN1',
    capabilityToken: 'c'.repeat(64),
    gatewayUrl: url,
    hmacSecret: SECRET,
    clientToken: 'client-token-value',
    agentId: 'agent-1',
    agentLabel: 'agent one',
    displayMode: 'screen',
    insecure: false,
    pollIntervalMs: 50,
    heartbeatIntervalMs: 60_000,
    requestTimeoutMs: 2_000,
    tunnelConnectAttempts: 2,
    registerDeadlineMs: 3_000,
    version: '0.1.0',
    ...over,
  };
}

const quiet = () => createLogger({ level: 'debug', write: () => undefined });
const BACKOFF = { initialMs: 100, maxMs: 800, multiplier: 2, jitter: 0.5, retryAfterCapMs: 5_000 };
const ok = { status: 200, body: { ok: true } };
const polls = (hits: Hit[]) => hits.filter((h) => h.path.endsWith('/commands'));

describe('GatewayHttpClient failure classification', () => {
  const creds = { hmacSecret: SECRET, runId: 'RUN1', capabilityToken: 'cap-secret-value', clientToken: 'client-secret-value' };

  it('maps 429 + Retry-After, 5xx, 4xx, timeouts, refused connections and oversized bodies', async () => {
    const gw = await scriptedGateway((hit) => {
      if (hit.path.includes('/a/')) return { status: 429, body: { error: 'slow down' }, headers: { 'Retry-After': '7' } };
      if (hit.path.includes('/b/')) return { status: 503, body: { error: 'busy' } };
      if (hit.path.includes('/c/')) return { status: 403, body: { error: 'Invalid client token' } };
      if (hit.path.includes('/d/')) return 'hang';
      return { status: 200, body: 'x'.repeat(2048) };
    });
    const call = async (prefix: string, extra: object = {}) => {
      const c = new GatewayHttpClient({ gatewayUrl: gw.url + prefix, credentials: creds, requestTimeoutMs: 300, maxResponseBytes: 1024, ...extra });
      try {
        await c.pollCommands();
        throw new Error('expected a failure');
      } catch (e) {
        return e as GatewayHttpError;
      } finally {
        await c.close();
      }
    };
    const e429 = await call('/a');
    expect(e429).toBeInstanceOf(GatewayHttpError);
    expect([e429.status, e429.retryAfterMs, e429.transient]).toEqual([429, 7000, true]);
    expect(e429.message).toContain('slow down');
    const e503 = await call('/b');
    expect([e503.status, e503.transient]).toEqual([503, true]);
    const e403 = await call('/c');
    expect([e403.status, e403.transient]).toEqual([403, false]);
    const eTimeout = await call('/d');
    expect([eTimeout.kind, eTimeout.code, eTimeout.transient]).toEqual(['timeout', 'VNC_ERR_TIMEOUT', true]);
    const eBig = await call('/e');
    expect(eBig.kind).toBe('protocol');
    const refused = new GatewayHttpClient({ gatewayUrl: 'http://127.0.0.1:1', credentials: creds, requestTimeoutMs: 1000 });
    const eRefused = (await refused.pollCommands().catch((e: unknown) => e)) as GatewayHttpError;
    await refused.close();
    expect([eRefused.kind, eRefused.transient]).toEqual(['network', true]);
    for (const e of [e429, e503, e403, eTimeout, eBig, eRefused]) {
      expect(e.message).not.toContain('cap-secret-value');
      expect(e.message).not.toContain('client-secret-value');
    }
    // The signed path keeps the URL prefix, the run headers go along, the client token does not.
    const h = gw.hits[0]!;
    expect(h.path).toBe('/a/api/runs/RUN1/commands');
    expect(h.headers['x-run-id']).toBe('RUN1');
    expect(h.headers['x-client-token']).toBeUndefined();
  });
});

describe('runner fault handling', () => {
  it('honours Retry-After on a 429 poll instead of polling again at once', async () => {
    const gw = await scriptedGateway((hit, hits) => {
      if (!hit.path.endsWith('/commands')) return ok;
      return polls(hits).length === 1 ? { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'Rate limit' } } : { status: 200, body: [] };
    });
    const ctl = new AbortController();
    const exit = runRunner(options(gw.url, { heartbeatIntervalMs: 300 }), async () => undefined, quiet(), { signal: ctl.signal, stdout: () => undefined, backoff: BACKOFF });
    const t0 = Date.now();
    while ((polls(gw.hits).length < 3 || Date.now() - t0 < 700) && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
    ctl.abort();
    expect(await exit).toBe(0);
    const p = polls(gw.hits);
    expect(p.length).toBeGreaterThanOrEqual(3);
    expect(p[1]!.at - p[0]!.at).toBeGreaterThanOrEqual(990);
    // After recovery, back to the normal 50 ms period.
    expect(p[2]!.at - p[1]!.at).toBeLessThan(500);
    // Heartbeats run on their own timer, with the client token, whatever the poll does.
    const beats = gw.hits.filter((h) => h.path === '/api/clients/heartbeat');
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats[0]!.headers['x-client-token']).toBe('client-token-value');
    expect(JSON.parse(beats[0]!.body)).toEqual({ agentId: 'agent-1' });
  });

  it('backs off exponentially through a 5xx storm (no tight loop)', async () => {
    const gw = await scriptedGateway((hit) => (hit.path.endsWith('/commands') ? { status: 503, body: { error: 'down' } } : ok));
    const ctl = new AbortController();
    const exit = runRunner(options(gw.url), async () => undefined, quiet(), {
      signal: ctl.signal,
      stdout: () => undefined,
      backoff: BACKOFF,
      random: () => 0,
    });
    await new Promise((r) => setTimeout(r, 1_700));
    ctl.abort();
    expect(await exit).toBe(0);
    const p = polls(gw.hits);
    const gaps = p.slice(1).map((h, i) => h.at - p[i]!.at);
    // Delays 100, 200, 400, 800 ms: five polls in 1.7 s where a 50 ms loop would make ~34.
    expect(p.length).toBeLessThanOrEqual(6);
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(190);
    expect(gaps[2]).toBeGreaterThanOrEqual(390);
  });

  it('acks every command once, and acks __STOP__ before announcing the stop and exiting 0', async () => {
    const timeline: string[] = [];
    const acked = new Set<string>();
    const gw = await scriptedGateway((hit) => {
      if (hit.path.endsWith('/commands')) {
        // The gateway re-lists a command until its ack lands (§4).
        return { status: 200, body: [{ id: 'u1', command: '__INPUT__:ls', created_at: 1 }, { id: 's1', command: '__STOP__', created_at: 2 }].filter((c) => !acked.has(c.id)) };
      }
      const m = /\/commands\/(\w+)\/ack$/.exec(hit.path);
      if (m) {
        const id = m[1]!;
        timeline.push(`ack ${id} ${hit.body}`);
        // Slow ack: if the runner did not wait for it, 'stopping' would come first.
        const delayMs = id === 's1' ? 300 : 0;
        setTimeout(() => {
          acked.add(id);
          timeline.push(`acked ${id}`);
        }, delayMs);
        return { status: 200, body: { ok: true }, delayMs };
      }
      if (hit.path === '/api/ingest/event') timeline.push(`event ${JSON.parse(hit.body).type}`);
      return ok;
    });
    const code = await runRunner(options(gw.url), async () => undefined, quiet(), {
      signal: new AbortController().signal,
      stdout: (l) => timeline.push(`stdout ${l}`),
      backoff: BACKOFF,
    });
    expect(code).toBe(0);
    const acks = timeline.filter((l) => l.startsWith('ack '));
    expect(acks).toEqual([
      'ack u1 {"result":null,"error":"VNC runner does not execute commands"}',
      'ack s1 {"result":"Stopping","error":null}',
    ]);
    const iAckStop = timeline.findIndex((l) => l === 'acked s1');
    const iStopping = timeline.findIndex((l) => l.startsWith('stdout vnc-runner: stopping'));
    const iStopped = timeline.findIndex((l) => l.startsWith('stdout vnc-runner: stopped'));
    expect(iAckStop).toBeGreaterThan(-1);
    expect(iStopping).toBeGreaterThan(iAckStop);
    expect(iStopped).toBeGreaterThan(iStopping);
    // The finished marker goes out before the process would exit.
    expect(timeline.slice(iStopping, iStopped)).toContain('event marker');
  });

  it('retries a register that hits 503, and gives up with exit 1 when the gateway stays down', async () => {
    const gw = await scriptedGateway((hit, hits) => {
      if (hit.path === '/api/clients/register' && hits.filter((h) => h.path === hit.path).length <= 2) return { status: 503, body: { error: 'warming up' } };
      if (hit.path.endsWith('/commands')) return { status: 200, body: [{ id: 's', command: '__STOP__' }] };
      return ok;
    });
    const out: string[] = [];
    const code = await runRunner(options(gw.url), async () => undefined, quiet(), { signal: new AbortController().signal, stdout: (l) => out.push(l), backoff: BACKOFF });
    expect(code).toBe(0);
    expect(gw.hits.filter((h) => h.path === '/api/clients/register')).toHaveLength(3);
    const reg = gw.hits.find((h) => h.path === '/api/clients/register')!;
    expect(reg.headers['x-client-token']).toBe('client-token-value');
    expect(JSON.parse(reg.body)).toEqual({ displayName: 'agent one', agentId: 'agent-1', capabilities: expect.any(Array), version: '0.1.0' });

    const t0 = Date.now();
    const down = await runRunner(options('http://127.0.0.1:1', { registerDeadlineMs: 1_000 }), async () => undefined, quiet(), {
      signal: new AbortController().signal,
      stdout: (l) => out.push(l),
      backoff: BACKOFF,
    });
    expect(down).toBe(1);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(out.at(-1)).toMatch(/^vnc-runner: failed: register: gateway still failing/);
  });
});
