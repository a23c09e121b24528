/**
 * Signed HTTP client for the five runner endpoints (gateway-protocol.md §2.3). Every request has
 * a timeout, every response body is size-bounded, and failures surface as {@link GatewayHttpError}
 * with enough detail (status, Retry-After, transient or not) for the caller's retry policy.
 * Secrets go into headers only; they never appear in errors or logs.
 */
import { Agent, fetch, type Dispatcher } from 'undici';
import { ErrorCode, VncError } from '../core/errors.js';
import { parseRetryAfter } from './backoff.js';
import { parseGatewayUrl } from './gateway-url.js';
import { parseCommandList, type GatewayCommand } from './commands.js';
import { buildSignedHeaders, type SigningCredentials } from './signing.js';

/** Why a request failed: no HTTP answer at all, no answer in time, or a non-2xx status. */
export type GatewayFailureKind = 'network' | 'timeout' | 'http' | 'protocol';

export class GatewayHttpError extends VncError {
  constructor(
    message: string,
    readonly kind: GatewayFailureKind,
    /** HTTP status for kind `http`. */
    readonly status?: number,
    /** Parsed Retry-After, in ms, when the gateway sent one. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(kind === 'timeout' ? ErrorCode.Timeout : ErrorCode.Gateway, message, options);
    this.name = 'GatewayHttpError';
  }

  /** Worth retrying: no answer, 408, 429 or any 5xx. Auth and validation failures are not. */
  get transient(): boolean {
    if (this.kind !== 'http') return this.kind !== 'protocol';
    const s = this.status ?? 0;
    return s === 408 || s === 429 || s >= 500;
  }
}

export interface GatewayClientOptions {
  /** Base URL, e.g. `https://gw.example:3100`. A path prefix is kept (and signed as sent). */
  gatewayUrl: string;
  credentials: SigningCredentials;
  /** Accept self-signed TLS certificates (`--insecure`). */
  insecure?: boolean;
  /** Per-request deadline, connect to last body byte. Default 15 s. */
  requestTimeoutMs?: number;
  /** Largest response body accepted. Default 4 MiB (a poll returns a small JSON array). */
  maxResponseBytes?: number;
  userAgent?: string;
  /** Clock for `X-Timestamp`; injectable for tests. */
  now?: () => number;
}

export interface RegisterRequest {
  displayName: string;
  agentId: string;
  capabilities: string[];
  version?: string;
}

export type EventType = 'stdout' | 'stderr' | 'marker' | 'info' | 'error';

export interface AckBody {
  result: string | null;
  error: string | null;
}

export class GatewayHttpClient {
  private readonly base: URL;
  private readonly basePath: string;
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(private readonly opts: GatewayClientOptions) {
    this.base = parseGatewayUrl(opts.gatewayUrl);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    this.timeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.maxBytes = opts.maxResponseBytes ?? 4 * 1024 * 1024;
    this.dispatcher = new Agent({
      connect: { rejectUnauthorized: !opts.insecure, timeout: this.timeoutMs },
      // Keep-alive sockets are reused across polls; a gateway restart just costs a reconnect.
      keepAliveTimeout: 10_000,
    });
  }

  /** `POST /api/clients/register`; 403 means the agent id / client token pair is unknown. */
  async register(body: RegisterRequest): Promise<{ id?: string }> {
    const res = await this.request('POST', '/api/clients/register', body, true);
    return isObject(res) && typeof res.id === 'string' ? { id: res.id } : {};
  }

  /** `POST /api/clients/heartbeat`. */
  async heartbeat(agentId: string): Promise<void> {
    await this.request('POST', '/api/clients/heartbeat', { agentId }, true);
  }

  /** `POST /api/ingest/event`. */
  async sendEvent(type: EventType, data: string, sequence?: number): Promise<void> {
    const body: Record<string, unknown> = { type, data };
    if (sequence !== undefined) body.sequence = sequence;
    await this.request('POST', '/api/ingest/event', body, false);
  }

  /** `GET /api/runs/{runId}/commands`: every pending command, oldest first. */
  async pollCommands(): Promise<GatewayCommand[]> {
    const res = await this.request('GET', `/api/runs/${enc(this.opts.credentials.runId)}/commands`, undefined, false);
    return parseCommandList(res);
  }

  /** `POST /api/runs/{runId}/commands/{id}/ack`. */
  async ack(commandId: string, body: AckBody): Promise<void> {
    const path = `/api/runs/${enc(this.opts.credentials.runId)}/commands/${enc(commandId)}/ack`;
    await this.request('POST', path, body, false);
  }

  /** Release pooled sockets. */
  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }

  private async request(method: string, path: string, body: unknown, clientToken: boolean): Promise<unknown> {
    const url = new URL(this.basePath + path, this.base.origin);
    const raw = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = {
      ...buildSignedHeaders(this.opts.credentials, {
        method,
        path: url.pathname,
        body: raw,
        includeClientToken: clientToken,
        nowMs: (this.opts.now ?? Date.now)(),
      }),
      'User-Agent': this.opts.userAgent ?? 'vnc-runner',
      Accept: 'application/json',
    };
    if (raw !== undefined) headers['Content-Type'] = 'application/json';
    const what = `${method} ${path}`;
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: raw,
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timeout = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      const reason = describeCause(err);
      throw new GatewayHttpError(
        timeout ? `${what}: no answer within ${this.timeoutMs} ms` : `${what}: ${reason}`,
        timeout ? 'timeout' : 'network',
        undefined,
        undefined,
        { cause: err },
      );
    }
    let text: string;
    try {
      text = await readBounded(res.body, this.maxBytes);
    } catch (err) {
      throw new GatewayHttpError(`${what}: ${describeCause(err)}`, 'protocol', res.status, undefined, { cause: err });
    }
    if (res.status < 200 || res.status > 299) {
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      throw new GatewayHttpError(`${what}: HTTP ${res.status} ${errorText(text)}`.trim(), 'http', res.status, retryAfterMs);
    }
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new GatewayHttpError(`${what}: response is not JSON`, 'protocol', res.status);
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{"error": "..."}` bodies become their text; anything else is trimmed to a short excerpt. */
function errorText(body: string): string {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (isObject(parsed) && typeof parsed.error === 'string') return `(${parsed.error.slice(0, 200)})`;
    if (isObject(parsed) && typeof parsed.message === 'string') return `(${parsed.message.slice(0, 200)})`;
  } catch {
    /* not JSON */
  }
  return body ? `(${body.slice(0, 120)})` : '';
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: string }).code;
    return code ? `${code} ${cause.message}` : cause.message;
  }
  return err.message;
}

async function readBounded(body: AsyncIterable<Uint8Array> | null, max: number): Promise<string> {
  if (!body) return '';
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > max) throw new VncError(ErrorCode.TooLarge, `response body exceeds ${max} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
