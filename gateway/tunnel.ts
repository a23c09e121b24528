/**
 * The runner's end of the `/ws/vnc/{runId}` tunnel, exposed as a byte-stream `Duplex`.
 * WebSocket message boundaries carry no meaning (gateway-protocol.md §6.2): each inbound binary
 * message is just the next slice of the RFB byte stream, and outbound writes are sliced into
 * messages of bounded size (a raw 4K frame in one message would trip the gateway's 50 MiB limit).
 * Backpressure works both ways: a slow RFB reader pauses the socket, and a write completes only
 * once `ws` has handed its bytes to the kernel.
 */
import { Duplex } from 'node:stream';
import WebSocket, { type RawData } from 'ws';
import { ErrorCode, VncError } from '../core/errors.js';
import { parseRetryAfter } from './backoff.js';
import { GatewayHttpError } from './http-client.js';
import { parseGatewayUrl } from './gateway-url.js';
import { buildSignedHeaders, type SigningCredentials } from './signing.js';

export interface TunnelOptions {
  gatewayUrl: string;
  /** Signs the upgrade request so a hardened gateway can authenticate the runner. */
  credentials: SigningCredentials;
  insecure?: boolean;
  /** Deadline for TCP + TLS + HTTP upgrade. Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest inbound message (viewer → runner: input events, clipboard). Default 16 MiB. */
  maxInboundMessageBytes?: number;
  /** Outbound writes are split into messages of at most this size. Default 1 MiB. */
  maxOutboundMessageBytes?: number;
  /** Keep-alive ping period; a missing pong within `pongTimeoutMs` kills the tunnel. Defaults 30 s / 10 s. */
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  userAgent?: string;
}

/** Why the tunnel ended, once it has. */
export interface TunnelCloseInfo {
  code: number;
  reason: string;
}

/** `ws(s)://host[:port][/prefix]/ws/vnc/{runId}`; only the scheme changes (unlike Python's str.replace, P16). */
export function tunnelUrl(gatewayUrl: string, runId: string): URL {
  const base = parseGatewayUrl(gatewayUrl);
  const url = new URL(base.pathname.replace(/\/+$/, '') + `/ws/vnc/${encodeURIComponent(runId)}`, base.origin);
  url.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  return url;
}

/** Open the tunnel; resolves once the WebSocket is open. Rejects with {@link GatewayHttpError}. */
export function openTunnel(opts: TunnelOptions): Promise<WebSocketDuplex> {
  const url = tunnelUrl(opts.gatewayUrl, opts.credentials.runId);
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  const headers = {
    ...buildSignedHeaders(opts.credentials, { method: 'GET', path: url.pathname }),
    'X-VNC-Client': 'true',
    'User-Agent': opts.userAgent ?? 'vnc-runner',
  };
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers,
      handshakeTimeout: timeoutMs,
      maxPayload: opts.maxInboundMessageBytes ?? 16 * 1024 * 1024,
      rejectUnauthorized: !opts.insecure,
      perMessageDeflate: false,
      followRedirects: false,
    });
    let settled = false;
    const fail = (err: GatewayHttpError) => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      reject(err);
    };
    // Belt and braces: ws's handshakeTimeout does not cover every stage on every version.
    const guard = setTimeout(
      () => fail(new GatewayHttpError(`tunnel: not open within ${timeoutMs} ms`, 'timeout')),
      timeoutMs + 1_000,
    );
    ws.once('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      const retryAfter = parseRetryAfter(res.headers['retry-after'] as string | undefined);
      res.resume();
      fail(new GatewayHttpError(`tunnel: upgrade refused with HTTP ${status}`, 'http', status, retryAfter));
    });
    ws.once('error', (err) => {
      const timeout = /timed out/i.test(err.message);
      fail(new GatewayHttpError(`tunnel: ${err.message}`, timeout ? 'timeout' : 'network', undefined, undefined, { cause: err }));
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(guard);
      ws.removeAllListeners('error');
      ws.removeAllListeners('unexpected-response');
      resolve(new WebSocketDuplex(ws, opts));
    });
  });
}

/**
 * Adapts an open `ws` WebSocket to a byte-stream Duplex. `'close'` is the reliable signal that
 * the tunnel is gone (emitted at most ~1 s after the WebSocket closed, read or not); `closeInfo`
 * then says why.
 */
export class WebSocketDuplex extends Duplex {
  private readonly maxOut: number;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  /** Set when the WebSocket has closed. */
  closeInfo: TunnelCloseInfo | undefined;

  constructor(
    private readonly ws: WebSocket,
    opts: Pick<TunnelOptions, 'maxOutboundMessageBytes' | 'pingIntervalMs' | 'pongTimeoutMs'> = {},
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 1024 * 1024, writableHighWaterMark: 1024 * 1024 });
    this.maxOut = Math.max(1024, opts.maxOutboundMessageBytes ?? 1024 * 1024);
    ws.on('message', (data: RawData) => {
      // A full read buffer pauses the socket: TCP flow control then reaches the gateway.
      if (!this.push(rawToBuffer(data))) ws.pause();
    });
    ws.on('error', (err) => this.destroy(new VncError(ErrorCode.Gateway, `tunnel: ${err.message}`, { cause: err })));
    ws.once('close', (code, reason) => {
      this.stopKeepAlive();
      this.closeInfo = { code, reason: reason.toString('utf8').slice(0, 123) };
      this.push(null);
      // Nothing can be written any more; end our writable side so 'close' follows. A reader that
      // stopped reading would never see 'end', so 'close' is guaranteed by a delayed destroy.
      if (!this.writableEnded) this.end();
      setTimeout(() => {
        if (!this.destroyed) this.destroy();
      }, 1_000).unref();
    });
    const pingEvery = opts.pingIntervalMs ?? 30_000;
    const pongWithin = opts.pongTimeoutMs ?? 10_000;
    if (pingEvery > 0) {
      ws.on('pong', () => clearTimeout(this.pongTimer));
      this.pingTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.ping();
        clearTimeout(this.pongTimer);
        // A half-open TCP path never errors on its own; a missing pong is how we notice.
        this.pongTimer = setTimeout(() => ws.terminate(), pongWithin);
        this.pongTimer.unref();
      }, pingEvery);
      this.pingTimer.unref();
    }
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.sendSlices(chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.sendSlices(Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'session ended');
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.stopKeepAlive();
    const state = this.ws.readyState;
    if (state === WebSocket.OPEN) this.ws.close(err ? 1011 : 1000, err ? 'runner error' : 'session ended');
    else if (state === WebSocket.CONNECTING) this.ws.terminate();
    cb(err);
  }

  /** Close the tunnel with a code and reason the gateway (and the viewer) can see. */
  closeTunnel(code = 1000, reason = 'session ended'): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  /** Drop the connection without a close handshake (used when the gateway stops answering). */
  terminate(): void {
    this.ws.terminate();
  }

  private sendSlices(data: Buffer, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      cb(new VncError(ErrorCode.Closed, 'tunnel is closed'));
      return;
    }
    if (data.length === 0) {
      cb();
      return;
    }
    let pending = 0;
    let failed: Error | undefined;
    let queued = false;
    const done = (err?: Error) => {
      if (err && !failed) failed = err;
      if (--pending === 0 && queued) cb(failed ?? null);
    };
    for (let off = 0; off < data.length; off += this.maxOut) {
      pending++;
      this.ws.send(data.subarray(off, off + this.maxOut), { binary: true }, done);
    }
    queued = true;
    // Callbacks normally arrive later; this covers a transport that calls them synchronously.
    if (pending === 0) cb(failed ?? null);
  }

  private stopKeepAlive(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}

function rawToBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
