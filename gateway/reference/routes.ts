/**
 * HTTP routes of the reference gateway:
 *  - runner API (HMAC-signed, §2.3–2.4): register, heartbeat, ingest/event, commands, ack,
 *    claim, state;
 *  - VNC REST routes (§6.3), which here require the run's viewer token or the admin token (G2);
 *  - admin API to create clients and runs (Bearer admin token), and the viewer page + noVNC.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/log.js';
import { isVncError } from '../../core/errors.js';
import {
  asObject,
  bearerToken,
  HttpError,
  optNullableString,
  optString,
  parseJsonBody,
  readBody,
  reqString,
  sendError,
  sendJson,
} from './http-util.js';
import type { RateLimiter } from './rate-limit.js';
import { redactSecrets } from './redact.js';
import type { TunnelRelay } from './relay.js';
import { safeEqual, type GatewayStore, type RunRecord } from './store.js';
import { serveNoVncFile, viewerPageHtml } from './viewer-page.js';
import { verifyWrapperRequest, type NonceStore } from './wrapper-auth.js';

export const START_COMMAND = '__START_VNC_STREAM__';
export const STOP_COMMAND = '__STOP__';
const EVENT_TYPES = new Set(['stdout', 'stderr', 'marker', 'info', 'error', 'assist', 'prompt_waiting', 'prompt_resolved', 'tool_use']);
const MAX_BODY = 10 * 1024 * 1024;

/** Everything a route needs; one per gateway instance (no module state). */
export interface GatewayContext {
  store: GatewayStore;
  nonces: NonceStore;
  relay: TunnelRelay;
  secret: string;
  /** Bearer token of the admin API. */
  adminToken: string;
  limiter: RateLimiter | undefined;
  logger: Logger;
  claimLeaseSeconds: number;
  skewSeconds: number;
}

type Handler = (ctx: GatewayContext, req: RouteRequest) => Promise<RouteResult> | RouteResult;

interface RouteRequest {
  raw: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: string[];
  body: Buffer;
  runAuth?: { runId: string; capabilityToken: string };
}

type RouteResult = { status: number; body: unknown; headers?: Record<string, string> } | 'handled';

interface Route {
  method: string;
  pattern: RegExp;
  /** Requires the HMAC wrapperAuth. */
  signed?: boolean;
  /** Exempt from the rate limit (the original exempts `/api/runs/*\/vnc*`). */
  unlimited?: boolean;
  handler: Handler;
}

const seg = '([^/]+)';

const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/api\/health$/, unlimited: true, handler: health },
  { method: 'POST', pattern: /^\/api\/clients\/register$/, signed: true, handler: register },
  { method: 'POST', pattern: /^\/api\/clients\/heartbeat$/, signed: true, handler: heartbeat },
  { method: 'POST', pattern: /^\/api\/ingest\/event$/, signed: true, handler: ingestEvent },
  { method: 'POST', pattern: /^\/api\/runs\/claim$/, signed: true, handler: claim },
  { method: 'GET', pattern: new RegExp(`^/api/runs/${seg}/commands$`), signed: true, handler: pollCommands },
  { method: 'POST', pattern: new RegExp(`^/api/runs/${seg}/commands/${seg}/ack$`), signed: true, handler: ackCommand },
  { method: 'POST', pattern: new RegExp(`^/api/runs/${seg}/state$`), signed: true, handler: runState },
  // VNC REST routes: viewer token or admin token.
  { method: 'GET', pattern: new RegExp(`^/api/runs/${seg}/vnc$`), unlimited: true, handler: vncStatus },
  { method: 'POST', pattern: new RegExp(`^/api/runs/${seg}/vnc/start$`), unlimited: true, handler: vncStart },
  { method: 'DELETE', pattern: new RegExp(`^/api/runs/${seg}/vnc$`), unlimited: true, handler: vncDelete },
  { method: 'GET', pattern: /^\/api\/vnc\/stats$/, handler: vncStats },
  // Admin API.
  { method: 'POST', pattern: /^\/api\/clients\/create$/, handler: createClient },
  { method: 'POST', pattern: /^\/api\/runs$/, handler: createRun },
  { method: 'GET', pattern: new RegExp(`^/api/runs/${seg}$`), handler: getRun },
  { method: 'GET', pattern: new RegExp(`^/api/runs/${seg}/events$`), handler: listEvents },
  { method: 'POST', pattern: new RegExp(`^/api/runs/${seg}/stop$`), handler: stopRun },
  // Viewer page and noVNC files.
  { method: 'GET', pattern: new RegExp(`^/view/${seg}$`), unlimited: true, handler: viewerPage },
  { method: 'GET', pattern: /^\/novnc\/(.+)$/, unlimited: true, handler: noVncFile },
  { method: 'GET', pattern: /^\/$/, unlimited: true, handler: index },
  { method: 'GET', pattern: /^\/favicon\.ico$/, unlimited: true, handler: noFavicon },
];

/** The `request` listener of the gateway's http server. */
export function createRequestHandler(ctx: GatewayContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(ctx, req, res).catch((err: unknown) => {
      const httpErr =
        err instanceof HttpError
          ? err
          : isVncError(err) && err.code === 'VNC_ERR_TOO_LARGE'
            ? new HttpError(429, err.message)
            : isVncError(err) && err.code === 'VNC_ERR_CONFIG'
              ? new HttpError(400, err.message)
              : undefined;
      if (!httpErr) ctx.logger.error('request failed', { url: req.url, error: err instanceof Error ? err.message : String(err) });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, httpErr ?? new HttpError(500, 'Internal server error'));
    });
  };
}

async function handle(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const rawUrl = req.url ?? '/';
  const url = new URL(rawUrl, 'http://gateway.invalid');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  let matched: Route | undefined;
  let params: string[] = [];
  let pathMatched = false;
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    pathMatched = true;
    if (r.method !== method) continue;
    matched = r;
    params = m.slice(1).map(decodeParam);
    break;
  }
  if (!matched) {
    req.resume();
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? 'Method not allowed' : 'Not found');
  }
  if (ctx.limiter && !matched.unlimited) {
    const d = ctx.limiter.check(req.socket.remoteAddress ?? 'unknown');
    if (!d.allowed) {
      req.resume();
      throw new HttpError(429, 'Rate limit exceeded, retry later', { 'Retry-After': String(d.retryAfterSeconds) });
    }
  }
  const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req, MAX_BODY);
  const rr: RouteRequest = { raw: req, res, url, params, body };
  if (matched.signed) {
    const auth = verifyWrapperRequest(
      {
        method,
        rawUrl,
        headers: req.headers,
        body,
        multipart: /^multipart\//i.test(req.headers['content-type'] ?? ''),
      },
      { secret: ctx.secret, nonces: ctx.nonces, store: ctx.store, skewSeconds: ctx.skewSeconds },
    );
    if (!auth.ok) throw new HttpError(auth.status, auth.error);
    if (auth.runAuth) rr.runAuth = auth.runAuth;
  }
  const result = await matched.handler(ctx, rr);
  if (result === 'handled') return;
  sendJson(res, result.status, result.body, result.headers);
}

function decodeParam(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'Malformed path');
  }
}

function ok(body: unknown, status = 200): RouteResult {
  return { status, body };
}

// ---- runner API ------------------------------------------------------------------------------

function health(ctx: GatewayContext): RouteResult {
  return ok({ status: 'ok', timestamp: new Date().toISOString(), connections: ctx.relay.socketCount });
}

function clientFromRequest(ctx: GatewayContext, req: RouteRequest, agentId: string) {
  const token = req.raw.headers['x-client-token'];
  const client = ctx.store.authenticateClient(agentId, typeof token === 'string' ? token : undefined);
  if (!client) throw new HttpError(403, 'Invalid client token');
  return client;
}

function register(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const b = asObject(parseJsonBody(req.body));
  const displayName = reqString(b, 'displayName');
  const agentId = reqString(b, 'agentId');
  const caps = b.capabilities;
  if (!Array.isArray(caps) || caps.length > 64 || !caps.every((c) => typeof c === 'string' && c.length <= 100)) {
    throw new HttpError(400, 'capabilities must be an array of strings');
  }
  const version = optString(b, 'version', 100);
  const client = clientFromRequest(ctx, req, agentId);
  // Keep the stored version when none is sent (W4: the original wiped it to NULL).
  ctx.store.updateClient(client, { displayName, capabilities: caps as string[], version: version ?? client.version });
  ctx.logger.info('client registered', { agentId });
  return ok({ id: client.id, updated: true });
}

function heartbeat(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const b = asObject(parseJsonBody(req.body));
  const client = clientFromRequest(ctx, req, reqString(b, 'agentId'));
  ctx.store.touchClient(client);
  return ok({ ok: true, timestamp: Math.floor(Date.now() / 1000) });
}

function ingestEvent(ctx: GatewayContext, req: RouteRequest): RouteResult {
  if (!req.runAuth) throw new HttpError(400, 'Run ID required');
  const b = asObject(parseJsonBody(req.body));
  const type = b.type;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) throw new HttpError(400, 'type is not a known event type');
  const data = optString(b, 'data', MAX_BODY);
  if (data === undefined) throw new HttpError(400, 'data must be a string');
  const seq = b.sequence;
  if (seq !== undefined && (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0)) {
    throw new HttpError(400, 'sequence must be a non-negative integer');
  }
  const run = ctx.store.getRun(req.runAuth.runId)!;
  // Validate a marker before storing anything (G9: the original stored, then failed with 500).
  let marker: Record<string, unknown> | undefined;
  if (type === 'marker') {
    try {
      marker = asObject(JSON.parse(data));
    } catch {
      throw new HttpError(400, 'marker data must be a JSON object');
    }
  }
  const ev = ctx.store.addEvent(run.id, type, redactSecrets(data), (seq as number | undefined) ?? 0);
  if (marker?.event === 'started') {
    ctx.store.setRunStatus(run, { status: 'running', startedAt: ev.timestamp });
  } else if (marker?.event === 'finished') {
    const exitCode = typeof marker.exitCode === 'number' ? marker.exitCode : 1;
    ctx.store.setRunStatus(run, { status: exitCode === 0 ? 'done' : 'failed', finishedAt: ev.timestamp, exitCode });
  }
  return ok({ ok: true, eventId: ev.id });
}

function claim(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const b = asObject(parseJsonBody(req.body));
  const agentId = reqString(b, 'agentId');
  clientFromRequest(ctx, req, agentId);
  const run = ctx.store.claimRun(agentId, ctx.claimLeaseSeconds);
  if (!run) return ok({ run: null });
  return ok({
    run: { id: run.id, capabilityToken: run.capabilityToken, command: run.command, workerType: run.workerType, metadata: run.metadata },
  });
}

function requireRunAuth(req: RouteRequest, runId: string): void {
  if (!req.runAuth || req.runAuth.runId !== runId) throw new HttpError(403, 'Capability token mismatch');
}

function pollCommands(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const runId = req.params[0]!;
  requireRunAuth(req, runId);
  return ok(ctx.store.pendingCommands(runId).map((c) => ({ id: c.id, command: c.command, created_at: c.createdAt })));
}

function ackCommand(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const [runId, commandId] = req.params as [string, string];
  requireRunAuth(req, runId);
  const b = asObject(parseJsonBody(req.body));
  const result = optNullableString(b, 'result');
  const error = optNullableString(b, 'error');
  const cmd = ctx.store.ackCommand(runId, commandId, result, error);
  // G11: an unknown id is a 404 here, not a silent 200.
  if (!cmd) throw new HttpError(404, 'Command not found');
  ctx.logger.info('command acked', { runId, command: cmd.command, error: cmd.error ?? undefined });
  return ok({ ok: true });
}

function runState(_ctx: GatewayContext, req: RouteRequest): RouteResult {
  requireRunAuth(req, req.params[0]!);
  asObject(parseJsonBody(req.body));
  return ok({ ok: true });
}

// ---- VNC REST routes -------------------------------------------------------------------------

function isAdmin(ctx: GatewayContext, req: RouteRequest): boolean {
  const t = bearerToken(req.raw);
  return t !== undefined && safeEqual(t, ctx.adminToken);
}

/** The run, if the caller holds its viewer token (Bearer or `?token=`) or the admin token. */
function viewerRun(ctx: GatewayContext, req: RouteRequest): RunRecord {
  const run = ctx.store.getRun(req.params[0]!);
  const token = bearerToken(req.raw) ?? req.url.searchParams.get('token') ?? '';
  const allowed = isAdmin(ctx, req) || (run !== undefined && token !== '' && safeEqual(token, run.viewerToken));
  if (!allowed) throw new HttpError(401, 'Viewer token required');
  if (!run) throw new HttpError(404, 'Run not found');
  if (run.workerType !== 'vnc') throw new HttpError(400, 'Run is not a VNC worker');
  return run;
}

function vncStatus(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const run = viewerRun(ctx, req);
  const stats = ctx.relay.stats(run.id);
  return ok({
    runId: run.id,
    available: stats !== null,
    status: stats ? stats.status : 'disconnected',
    clientConnected: stats?.clientConnected ?? false,
    viewerConnected: stats?.viewerConnected ?? false,
    wsUrl: `/ws/vnc/${encodeURIComponent(run.id)}`,
    stats,
  });
}

function vncStart(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const run = viewerRun(ctx, req);
  if (run.status === 'done' || run.status === 'failed') throw new HttpError(409, `Run is ${run.status}`);
  // G10: repeated clicks reuse the pending start instead of queueing several.
  const existing = ctx.store.pendingCommands(run.id).find((c) => c.command === START_COMMAND);
  const cmd = existing ?? ctx.store.enqueueCommand(run.id, START_COMMAND, '{}');
  return ok({
    runId: run.id,
    command: START_COMMAND,
    commandId: cmd.id,
    wsUrl: `/ws/vnc/${encodeURIComponent(run.id)}`,
    message: existing ? 'VNC stream start already pending' : 'VNC stream start requested',
  });
}

function vncDelete(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const run = viewerRun(ctx, req);
  if (!ctx.relay.close(run.id)) throw new HttpError(404, 'No VNC tunnel for this run');
  return ok({ runId: run.id, message: 'VNC tunnel closed' });
}

function requireAdmin(ctx: GatewayContext, req: RouteRequest): void {
  if (!isAdmin(ctx, req)) throw new HttpError(401, 'Admin token required');
}

function vncStats(ctx: GatewayContext, req: RouteRequest): RouteResult {
  requireAdmin(ctx, req);
  const tunnels = ctx.relay.allStats();
  return ok({
    activeTunnels: tunnels.filter((t) => t.status === 'active').length,
    pendingTunnels: tunnels.filter((t) => t.status === 'pending').length,
    tunnels,
  });
}

// ---- admin API -------------------------------------------------------------------------------

function createClient(ctx: GatewayContext, req: RouteRequest): RouteResult {
  requireAdmin(ctx, req);
  const b = asObject(parseJsonBody(req.body));
  const agentId = reqString(b, 'agentId');
  const displayName = optString(b, 'displayName', 100);
  const { client, token } = ctx.store.createClient(displayName ? { agentId, displayName } : { agentId });
  return ok({ id: client.id, agentId: client.agentId, token }, 201);
}

function createRun(ctx: GatewayContext, req: RouteRequest): RouteResult {
  requireAdmin(ctx, req);
  const b = asObject(parseJsonBody(req.body));
  const workerType = optString(b, 'workerType', 50) ?? 'vnc';
  const command = optString(b, 'command', 1000) ?? 'vnc';
  const metadata = b.metadata === undefined ? {} : asObject(b.metadata);
  const run = ctx.store.createRun({ workerType, command, metadata });
  return ok(
    {
      id: run.id,
      capabilityToken: run.capabilityToken,
      viewerToken: run.viewerToken,
      viewerPath: `/view/${encodeURIComponent(run.id)}#token=${run.viewerToken}`,
    },
    201,
  );
}

function publicRun(run: RunRecord): Record<string, unknown> {
  const { capabilityToken: _c, viewerToken: _v, ...rest } = run;
  return rest;
}

function getRun(ctx: GatewayContext, req: RouteRequest): RouteResult {
  requireAdmin(ctx, req);
  const run = ctx.store.getRun(req.params[0]!);
  if (!run) throw new HttpError(404, 'Run not found');
  return ok(publicRun(run));
}

function listEvents(ctx: GatewayContext, req: RouteRequest): RouteResult {
  requireAdmin(ctx, req);
  const run = ctx.store.getRun(req.params[0]!);
  if (!run) throw new HttpError(404, 'Run not found');
  return ok(ctx.store.listEvents(run.id));
}

function stopRun(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const run = viewerRun(ctx, req);
  const cmd = ctx.store.enqueueCommand(run.id, STOP_COMMAND, '{}');
  return ok({ ok: true, commandId: cmd.id });
}

// ---- pages -----------------------------------------------------------------------------------

function viewerPage(ctx: GatewayContext, req: RouteRequest): RouteResult {
  const run = ctx.store.getRun(req.params[0]!);
  if (!run) throw new HttpError(404, 'Run not found');
  const html = viewerPageHtml(run.id);
  req.res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(html),
    'Cache-Control': 'no-store',
    // The page's own script and noVNC only; the token stays in the URL fragment.
    'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:",
    'Referrer-Policy': 'no-referrer',
  });
  req.res.end(html);
  return 'handled';
}

async function noVncFile(_ctx: GatewayContext, req: RouteRequest): Promise<RouteResult> {
  await serveNoVncFile(req.params[0]!, req.res);
  return 'handled';
}

/** Browsers ask for it on every page; answer without a 404 in their console. */
function noFavicon(_ctx: GatewayContext, req: RouteRequest): RouteResult {
  req.res.writeHead(204, { 'Cache-Control': 'public, max-age=86400' });
  req.res.end();
  return 'handled';
}

function index(): RouteResult {
  return ok({ name: 'vnc-runner reference gateway', viewer: '/view/{runId}#token={viewerToken}' });
}
