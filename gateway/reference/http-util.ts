/**
 * Small node:http helpers for the reference gateway: bounded body reading, JSON replies, and
 * a typed error that carries an HTTP status (so validation failures are 400s, not 500s: G9).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Read the whole body, refusing more than `limit` bytes (413) and slow senders (408). */
export function readBody(req: IncomingMessage, limit: number, timeoutMs = 30_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      req.resume();
      reject(new HttpError(413, 'Request body too large'));
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => {
      cleanup();
      reject(new HttpError(408, 'Request body timeout'));
      req.destroy();
    }, timeoutMs);
    const onData = (c: Buffer) => {
      total += c.length;
      if (total > limit) {
        cleanup();
        reject(new HttpError(413, 'Request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Parse a JSON body; empty means `{}` like the original parser. Bad JSON is a 400. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'Body is not valid JSON');
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.message }, err.headers);
}

/** Minimal schema checks; each failure is a 400 with a precise message. */
export function asObject(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'Body must be a JSON object');
  return v as Record<string, unknown>;
}

export function reqString(o: Record<string, unknown>, key: string, min = 1, max = 100): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length < min || v.length > max) {
    throw new HttpError(400, `${key} must be a string of ${min}-${max} characters`);
  }
  return v;
}

export function optString(o: Record<string, unknown>, key: string, max = 100_000): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max) throw new HttpError(400, `${key} must be a string of at most ${max} characters`);
  return v;
}

export function optNullableString(o: Record<string, unknown>, key: string, max = 100_000): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max) throw new HttpError(400, `${key} must be a string or null`);
  return v;
}

/** Bearer token from `Authorization`, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : undefined;
}
