import { describe, expect, it } from 'vitest';
import {
  buildSignedHeaders,
  canonicalString,
  computeSignature,
  EMPTY_BODY_SHA256,
  newNonce,
  sha256Hex,
  verifySignature,
} from '../../gateway/signing.js';

// Test vectors from gateway-protocol.md §3 (computed by the original Python and Node code).
const SECRET = 'test-secret-key-min-32-chars-00000000';
const TS = 1700000000;
const NONCE = '0123456789abcdef';
const RUN = 'AbCdEf123456';
const CAP = '0'.repeat(64);

describe('HMAC signing (spec vectors)', () => {
  it('hashes the empty body to the well-known value', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(EMPTY_BODY_SHA256).toBe(sha256Hex(Buffer.alloc(0)));
  });

  it('POST /api/ingest/event with Python json.dumps spacing', () => {
    const body = '{"type": "info", "data": "hello", "sequence": 0}';
    expect(sha256Hex(body)).toBe('d16d17f9fcb4235eb7a01017fd7d2cf6296db1ea4713861ad460913e62f659dd');
    const sig = computeSignature(SECRET, {
      method: 'POST',
      path: '/api/ingest/event',
      bodySha256: sha256Hex(body),
      timestamp: TS,
      nonce: NONCE,
      runId: RUN,
      capabilityToken: CAP,
    });
    expect(sig).toBe('a182bf279562c33b90cb526fbab9f02696e5ed61334f5fee0d3fefdea2fc215a');
  });

  it('GET /api/runs/{id}/commands with an empty body', () => {
    const sig = computeSignature(SECRET, {
      method: 'GET',
      path: `/api/runs/${RUN}/commands`,
      bodySha256: EMPTY_BODY_SHA256,
      timestamp: TS,
      nonce: NONCE,
      runId: RUN,
      capabilityToken: CAP,
    });
    expect(sig).toBe('a51d449f48c8f3b56b7e9ea945deff9a3e4ed0e97bb50ceceb72e0330d6449bd');
  });

  it('POST /api/clients/heartbeat without run headers', () => {
    const body = '{"agentId": "host-1"}';
    const sig = computeSignature(SECRET, {
      method: 'POST',
      path: '/api/clients/heartbeat',
      bodySha256: sha256Hex(body),
      timestamp: TS,
      nonce: NONCE,
    });
    expect(sig).toBe('2465d2622bd0ead220cd3165f73968b0260aaba21c9161136c9b4515f28d7200');
  });

  it('builds the canonical string: upper-case method, no query, LF-joined, no trailing newline', () => {
    const s = canonicalString({ method: 'get', path: '/a/b?x=1', bodySha256: 'h', timestamp: 5, nonce: 'n' });
    expect(s).toBe('GET\n/a/b\nh\n5\nn\n\n');
  });
});

describe('buildSignedHeaders', () => {
  const creds = { hmacSecret: SECRET, runId: RUN, capabilityToken: CAP, clientToken: 'client-secret' };

  it('reproduces the spec vector through the header builder', () => {
    const h = buildSignedHeaders(creds, {
      method: 'GET',
      path: `/api/runs/${RUN}/commands`,
      nowMs: TS * 1000 + 999,
      nonce: NONCE,
    });
    expect(h).toEqual({
      'X-Signature': 'a51d449f48c8f3b56b7e9ea945deff9a3e4ed0e97bb50ceceb72e0330d6449bd',
      'X-Timestamp': '1700000000',
      'X-Nonce': NONCE,
      'X-Run-Id': RUN,
      'X-Capability-Token': CAP,
    });
  });

  it('adds X-Client-Token only when asked, and can omit run headers', () => {
    const body = '{"agentId": "host-1"}';
    const h = buildSignedHeaders(creds, {
      method: 'POST',
      path: '/api/clients/heartbeat',
      body,
      nowMs: TS * 1000,
      nonce: NONCE,
      includeClientToken: true,
      omitRunHeaders: true,
    });
    expect(h['X-Signature']).toBe('2465d2622bd0ead220cd3165f73968b0260aaba21c9161136c9b4515f28d7200');
    expect(h['X-Client-Token']).toBe('client-secret');
    expect(h).not.toHaveProperty('X-Run-Id');
    expect(h).not.toHaveProperty('X-Capability-Token');
  });

  it('signs the path without its query string', () => {
    const a = buildSignedHeaders(creds, { method: 'GET', path: '/x?y=1', nowMs: 0, nonce: 'n' });
    const b = buildSignedHeaders(creds, { method: 'GET', path: '/x', nowMs: 0, nonce: 'n' });
    expect(a['X-Signature']).toBe(b['X-Signature']);
  });

  it('uses fresh 32-hex nonces and second-resolution timestamps', () => {
    const a = buildSignedHeaders(creds, { method: 'GET', path: '/x' });
    const b = buildSignedHeaders(creds, { method: 'GET', path: '/x' });
    expect(a['X-Nonce']).toMatch(/^[0-9a-f]{32}$/);
    expect(a['X-Nonce']).not.toBe(b['X-Nonce']);
    expect(Number(a['X-Timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(newNonce()).toHaveLength(32);
  });
});

describe('verifySignature', () => {
  const f = { method: 'POST', path: '/p', bodySha256: sha256Hex('{}'), timestamp: TS, nonce: NONCE, runId: RUN, capabilityToken: CAP };
  const good = computeSignature(SECRET, f);

  it('accepts the right signature, also in upper-case hex', () => {
    expect(verifySignature(SECRET, f, good)).toBe(true);
    expect(verifySignature(SECRET, f, good.toUpperCase())).toBe(true);
  });

  it.each([
    ['method', { method: 'PUT' }],
    ['path', { path: '/q' }],
    ['body', { bodySha256: sha256Hex('{"a":1}') }],
    ['timestamp', { timestamp: TS + 1 }],
    ['nonce', { nonce: 'other' }],
    ['runId', { runId: 'other' }],
    ['capabilityToken', { capabilityToken: '1'.repeat(64) }],
  ])('rejects a change of %s', (_name, change) => {
    expect(verifySignature(SECRET, { ...f, ...change }, good)).toBe(false);
  });

  it('rejects a wrong secret and malformed signatures', () => {
    expect(verifySignature(SECRET + 'x', f, good)).toBe(false);
    expect(verifySignature(SECRET, f, 'invalid-signature')).toBe(false);
    expect(verifySignature(SECRET, f, good.slice(2))).toBe(false);
  });
});
