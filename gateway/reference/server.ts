/**
 * The reference gateway: one node:http(s) server with the runner API, the VNC REST routes, the
 * viewer page and the `/ws/vnc/{runId}` relay. In-memory state (optionally a JSON file).
 * Both ends of a tunnel are authenticated: the runner by HMAC signature + capability token on
 * the upgrade request, the viewer by the run's viewer token (G1), with an Origin check.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { createLogger, type Logger } from '../../core/log.js';
import { sleep } from '../backoff.js';
import { bearerToken } from './http-util.js';
import { RateLimiter } from './rate-limit.js';
import { TunnelRelay, type RelayOptions, type TunnelRole } from './relay.js';
import { createRequestHandler, START_COMMAND, STOP_COMMAND, type GatewayContext } from './routes.js';
import { GatewayStore, safeEqual, type ClientRecord, type CommandRecord, type RunRecord } from './store.js';
import { NonceStore, verifyWrapperRequest } from './wrapper-auth.js';

export interface ReferenceGatewayOptions {
  /** Default 127.0.0.1: exposing a desktop gateway on all interfaces should be a choice. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** HMAC secret (≥ 32 chars). If missing or short, a random one is used: every signed call then fails closed. */
  hmacSecret?: string;
  /** Bearer token of the admin API; random when absent (read it from the returned handle). */
  adminToken?: string;
  /** Persist clients, runs and pending commands here. */
  stateFile?: string;
  /** Requests per minute per client IP on the API; 0 disables. Default 100 (the original's limit). */
  rateLimitPerMinute?: number;
  /** Allowed clock skew of signed requests in seconds. Default 300. */
  skewSeconds?: number;
  /** Lease of `POST /api/runs/claim`, seconds. Default 60. */
  claimLeaseSeconds?: number;
  /** Serve HTTPS/WSS with this certificate. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Largest WebSocket message accepted on the relay. Default 64 MiB (≥ the original's 50 MiB). */
  maxPayloadBytes?: number;
  relay?: Omit<RelayOptions, 'logger'>;
  logger?: Logger;
}

/** Handle of a running gateway. */
export interface ReferenceGateway {
  /** Base URL, e.g. `http://127.0.0.1:41234`, to pass as `--gateway-url`. */
  url: string;
  port: number;
  /** The admin API's Bearer token. */
  adminToken: string;
  /** True if `hmacSecret` was missing/short and a random secret is in use. */
  usingRandomSecret: boolean;
  store: GatewayStore;
  relay: TunnelRelay;
  /** Create an agent; returns its client token (for `AI_RUNNER_TOKEN`). */
  createClient(agentId: string, displayName?: string): { client: ClientRecord; token: string };
  /** Create a VNC run; the record carries its capability and viewer tokens. */
  createRun(input?: Parameters<GatewayStore['createRun']>[0]): RunRecord;
  /** Queue `__START_VNC_STREAM__` (reusing a pending one) as the viewer page does. */
  requestStream(runId: string): CommandRecord;
  /** Queue `__STOP__`. */
  requestStop(runId: string): CommandRecord;
  /** Viewer page URL for a run, token in the fragment. */
  viewerUrl(run: RunRecord): string;
  /** Viewer WebSocket URL for a run (with `?token=`). */
  viewerWsUrl(run: RunRecord): string;
  /** Close all tunnels and sockets and stop listening. */
  close(): Promise<void>;
}

export async function startReferenceGateway(options: ReferenceGatewayOptions = {}): Promise<ReferenceGateway> {
  const logger = options.logger ?? createLogger({ scope: 'gateway' });
  const usingRandomSecret = !options.hmacSecret || options.hmacSecret.length < 32;
  if (usingRandomSecret) {
    logger.warn('HMAC secret missing or shorter than 32 characters: using a random secret, runner calls will fail');
  }
  const secret = usingRandomSecret ? randomBytes(32).toString('hex') : options.hmacSecret!;
  const adminToken = options.adminToken ?? randomBytes(24).toString('hex');
  const store = new GatewayStore(options.stateFile ? { stateFile: options.stateFile } : {});
  const nonces = new NonceStore();
  const relay = new TunnelRelay({ ...options.relay, logger: logger.child('relay') });
  const rate = options.rateLimitPerMinute ?? 100;
  const ctx: GatewayContext = {
    store,
    nonces,
    relay,
    secret,
    adminToken,
    limiter: rate > 0 ? new RateLimiter(rate) : undefined,
    logger,
    claimLeaseSeconds: options.claimLeaseSeconds ?? 60,
    skewSeconds: options.skewSeconds ?? 300,
  };
  const onRequest = createRequestHandler(ctx);
  const server: Server = options.tls
    ? (createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) as unknown as Server)
    : createHttpServer(onRequest);
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 64 * 1024 * 1024, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    try {
      onUpgrade(ctx, wss, req, socket, head);
    } catch (err) {
      logger.error('upgrade failed', { error: err instanceof Error ? err.message : String(err) });
      rejectUpgrade(socket, 500, 'Internal server error');
    }
  });
  const purge = setInterval(() => nonces.purge(), 60_000);
  purge.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${addr.port}`;
  logger.info('listening', { url });

  let closed = false;
  return {
    url,
    port: addr.port,
    adminToken,
    usingRandomSecret,
    store,
    relay,
    createClient: (agentId, displayName) => store.createClient(displayName ? { agentId, displayName } : { agentId }),
    createRun: (input) => store.createRun(input),
    requestStream: (runId) =>
      store.pendingCommands(runId).find((c) => c.command === START_COMMAND) ?? store.enqueueCommand(runId, START_COMMAND),
    requestStop: (runId) => store.enqueueCommand(runId, STOP_COMMAND),
    viewerUrl: (run) => `${url}/view/${encodeURIComponent(run.id)}#token=${run.viewerToken}`,
    viewerWsUrl: (run) =>
      `${url.replace(/^http/, 'ws')}/ws/vnc/${encodeURIComponent(run.id)}?token=${encodeURIComponent(run.viewerToken)}`,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purge);
      relay.closeAll();
      // Give close frames a moment, then cut whatever is left.
      for (let i = 0; i < 10 && wss.clients.size > 0; i++) await sleep(50);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function onUpgrade(ctx: GatewayContext, wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const rawUrl = req.url ?? '/';
  const url = new URL(rawUrl, 'http://gateway.invalid');
  const m = /^\/ws\/vnc\/([^/]+)$/.exec(url.pathname);
  if (!m) return rejectUpgrade(socket, 404, 'Not found');
  let runId: string;
  try {
    runId = decodeURIComponent(m[1]!);
  } catch {
    return rejectUpgrade(socket, 400, 'Malformed path');
  }
  // Same classification as the original (§6.1); here the runner role must also prove itself.
  const ua = req.headers['user-agent'] ?? '';
  const role: TunnelRole = req.headers['x-vnc-client'] === 'true' || ua.includes('python') ? 'runner' : 'viewer';
  const run = ctx.store.getRun(runId);
  if (!run || run.workerType !== 'vnc') {
    wss.handleUpgrade(req, socket, head, (ws) => ws.close(1008, 'Invalid run or not VNC type'));
    return;
  }
  if (role === 'runner') {
    const auth = verifyWrapperRequest(
      { method: 'GET', rawUrl, headers: req.headers, body: Buffer.alloc(0) },
      { secret: ctx.secret, nonces: ctx.nonces, store: ctx.store, skewSeconds: ctx.skewSeconds },
    );
    if (!auth.ok) return rejectUpgrade(socket, auth.status, auth.error);
    if (auth.runAuth?.runId !== runId) return rejectUpgrade(socket, 403, 'Capability token mismatch');
  } else {
    // Browsers always send Origin; a foreign page must not drive someone's desktop (CSWSH).
    const origin = req.headers.origin;
    if (origin !== undefined && !sameHost(origin, req.headers.host)) return rejectUpgrade(socket, 403, 'Origin not allowed');
    const token = url.searchParams.get('token') ?? bearerToken(req) ?? '';
    const allowed = token !== '' && (safeEqual(token, run.viewerToken) || safeEqual(token, ctx.adminToken));
    if (!allowed) return rejectUpgrade(socket, 401, 'Viewer token required');
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ctx.logger.info('tunnel connection', { runId, role });
    ctx.relay.attach(runId, role, ws);
  });
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function rejectUpgrade(socket: Duplex, status: number, error: string): void {
  const body = JSON.stringify({ error });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1_000).unref();
}
