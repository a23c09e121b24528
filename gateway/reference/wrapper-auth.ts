/**
 * The reference gateway's `wrapperAuth` (gateway-protocol.md §2.2): same check order, status
 * codes and texts as the original, with constant-time token comparison (G7) and a bounded
 * nonce store. Pure apart from the nonce store; the HTTP layer and the WS upgrade both use it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  EMPTY_BODY_SHA256,
  pathWithoutQuery,
  sha256Hex,
  SIGNATURE_HEADERS as H,
  verifySignature,
} from '../signing.js';
import { safeEqual, type GatewayStore } from './store.js';

/** Single-use nonces, remembered for `ttlMs` (≥ 2 × the allowed skew so a nonce outlives its timestamp). */
export class NonceStore {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly ttlMs = 600_000,
    private readonly capacity = 200_000,
    private readonly now: () => number = Date.now,
  ) {}

  has(nonce: string): boolean {
    const exp = this.seen.get(nonce);
    return exp !== undefined && exp > this.now();
  }

  /** Remember a nonce; false when the store is full even after purging (caller answers 503). */
  add(nonce: string): boolean {
    if (this.seen.size >= this.capacity) this.purge();
    if (this.seen.size >= this.capacity) return false;
    this.seen.set(nonce, this.now() + this.ttlMs);
    return true;
  }

  purge(): void {
    const now = this.now();
    for (const [n, exp] of this.seen) if (exp <= now) this.seen.delete(n);
  }

  get size(): number {
    return this.seen.size;
  }
}

export interface AuthRequest {
  method: string;
  /** Raw request target (path and query) exactly as on the request line. */
  rawUrl: string;
  headers: IncomingHttpHeaders;
  /** Raw body bytes (empty for GET and for the WS upgrade). */
  body: Buffer;
  /** Multipart bodies are signed as the empty string (original behaviour). */
  multipart?: boolean;
}

export interface AuthContext {
  secret: string;
  nonces: NonceStore;
  store: GatewayStore;
  /** Allowed clock skew in seconds; default 300 (inclusive). */
  skewSeconds?: number;
  now?: () => number;
}

export type AuthResult =
  | { ok: true; runAuth?: { runId: string; capabilityToken: string } }
  | { ok: false; status: number; error: string };

function header(headers: IncomingHttpHeaders, name: string): string {
  const v = headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

/** Verify one signed request. On success the nonce is consumed. */
export function verifyWrapperRequest(req: AuthRequest, ctx: AuthContext): AuthResult {
  const signature = header(req.headers, H.signature);
  const timestamp = parseInt(header(req.headers, H.timestamp), 10);
  const nonce = header(req.headers, H.nonce);
  const runId = header(req.headers, H.runId);
  const capabilityToken = header(req.headers, H.capabilityToken);
  if (!signature || !timestamp || Number.isNaN(timestamp) || !nonce) {
    return { ok: false, status: 401, error: 'Missing authentication headers' };
  }
  const nowS = Math.floor((ctx.now ?? Date.now)() / 1000);
  if (Math.abs(nowS - timestamp) > (ctx.skewSeconds ?? 300)) {
    return { ok: false, status: 401, error: 'Request timestamp out of allowed range' };
  }
  if (nonce.length > 256) return { ok: false, status: 401, error: 'Missing authentication headers' };
  if (ctx.nonces.has(nonce)) {
    return { ok: false, status: 401, error: 'Nonce already used (replay attack detected)' };
  }
  const bodySha256 = req.multipart || req.body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(req.body);
  const valid = verifySignature(
    ctx.secret,
    { method: req.method, path: pathWithoutQuery(req.rawUrl), bodySha256, timestamp, nonce, runId, capabilityToken },
    signature,
  );
  if (!valid) return { ok: false, status: 401, error: 'Invalid signature' };
  let runAuth: { runId: string; capabilityToken: string } | undefined;
  if (runId && capabilityToken) {
    const run = ctx.store.getRun(runId);
    if (!run || !safeEqual(run.capabilityToken, capabilityToken)) {
      return { ok: false, status: 403, error: 'Invalid capability token for run' };
    }
    runAuth = { runId, capabilityToken };
  }
  if (!ctx.nonces.add(nonce)) return { ok: false, status: 503, error: 'Nonce store full, retry later' };
  return runAuth ? { ok: true, runAuth } : { ok: true };
}
