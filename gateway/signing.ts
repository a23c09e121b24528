/**
 * HMAC-SHA256 request signing exactly as the AiRemoteCoder gateway's `wrapperAuth` verifies it
 * (gateway-protocol.md §3): seven fields joined by LF, lowercase hex digest. Shared by the runner
 * (signs) and the reference gateway (verifies) so both sides can never drift apart.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Hex SHA-256 of an empty body; what GET requests and multipart uploads are signed with. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Header names, lower-case as node delivers them. */
export const SIGNATURE_HEADERS = {
  signature: 'x-signature',
  timestamp: 'x-timestamp',
  nonce: 'x-nonce',
  runId: 'x-run-id',
  capabilityToken: 'x-capability-token',
  clientToken: 'x-client-token',
} as const;

/** The seven fields covered by a signature. */
export interface SignatureFields {
  /** HTTP method; upper-cased before signing. */
  method: string;
  /** Raw request path as it appears on the request line, without `?query`; not URL-decoded. */
  path: string;
  /** Lowercase hex SHA-256 of the exact body bytes ({@link EMPTY_BODY_SHA256} when none). */
  bodySha256: string;
  /** Unix time in whole seconds, as sent in `X-Timestamp`. */
  timestamp: number;
  nonce: string;
  /** `X-Run-Id`, or undefined/empty when the header is not sent. */
  runId?: string;
  /** `X-Capability-Token`, or undefined/empty when the header is not sent. */
  capabilityToken?: string;
}

/** Lowercase hex SHA-256 of a body; strings are hashed as UTF-8. */
export function sha256Hex(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Drop a `?query` (and `#fragment`) from a request target: the gateway signs only the path. */
export function pathWithoutQuery(target: string): string {
  const q = target.search(/[?#]/);
  return q === -1 ? target : target.slice(0, q);
}

/** The canonical string: fields joined by a single LF, no trailing newline. */
export function canonicalString(f: SignatureFields): string {
  return [
    f.method.toUpperCase(),
    pathWithoutQuery(f.path),
    f.bodySha256,
    String(f.timestamp),
    f.nonce,
    f.runId ?? '',
    f.capabilityToken ?? '',
  ].join('\n');
}

/** Lowercase hex HMAC-SHA256 of the canonical string. */
export function computeSignature(secret: string, f: SignatureFields): string {
  return createHmac('sha256', secret).update(canonicalString(f)).digest('hex');
}

/**
 * Constant-time check of a received signature. Like the original gateway it hex-decodes the
 * received value (so upper-case hex verifies too); wrong length or non-hex is simply "invalid".
 */
export function verifySignature(secret: string, f: SignatureFields, received: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(received)) return false;
  const expected = Buffer.from(computeSignature(secret, f), 'hex');
  return timingSafeEqual(expected, Buffer.from(received, 'hex'));
}

/** 16 random bytes as 32 hex characters (the TS wrapper's format; any string is accepted). */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}

/** Credentials a runner signs with. Never log any of these fields. */
export interface SigningCredentials {
  hmacSecret: string;
  runId: string;
  capabilityToken: string;
  /** Per-agent client token; sent only where `includeClientToken` is asked for. */
  clientToken?: string;
}

export interface SignedHeaderRequest {
  method: string;
  /** Path as sent on the request line; a query string is allowed and is not signed. */
  path: string;
  /** Exact body bytes that will be sent, if any. */
  body?: string | Uint8Array;
  /** Add `X-Client-Token` (register, heartbeat, claim). */
  includeClientToken?: boolean;
  /** Leave out the run headers (fields 6 and 7 become empty), as the TS wrapper does for register. */
  omitRunHeaders?: boolean;
  /** Clock and nonce source; injectable for test vectors. */
  nowMs?: number;
  nonce?: string;
}

/** Build the complete set of auth headers for one request (header names in canonical case). */
export function buildSignedHeaders(creds: SigningCredentials, req: SignedHeaderRequest): Record<string, string> {
  const timestamp = Math.floor((req.nowMs ?? Date.now()) / 1000);
  const nonce = req.nonce ?? newNonce();
  const body = req.body ?? '';
  const runId = req.omitRunHeaders ? '' : creds.runId;
  const capabilityToken = req.omitRunHeaders ? '' : creds.capabilityToken;
  const signature = computeSignature(creds.hmacSecret, {
    method: req.method,
    path: req.path,
    bodySha256: body.length === 0 ? EMPTY_BODY_SHA256 : sha256Hex(body),
    timestamp,
    nonce,
    runId,
    capabilityToken,
  });
  const headers: Record<string, string> = {
    'X-Signature': signature,
    'X-Timestamp': String(timestamp),
    'X-Nonce': nonce,
  };
  if (!req.omitRunHeaders) {
    headers['X-Run-Id'] = creds.runId;
    headers['X-Capability-Token'] = creds.capabilityToken;
  }
  if (req.includeClientToken) headers['X-Client-Token'] = creds.clientToken ?? '';
  return headers;
}
