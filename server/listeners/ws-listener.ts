/**
 * WebSocket listener for browser VNC clients (noVNC and anything websockify-compatible).
 *
 * Each accepted WebSocket becomes a byte-stream `Duplex` handed to `onConnection`, exactly like
 * a TCP socket: WebSocket messages are arbitrary slices of the RFB stream in both directions
 * (the RFB parsers are resumable and never assume message boundaries). Backpressure holds both
 * ways: when the session stops reading, the WebSocket (and its TCP socket) is paused; a write
 * completes only once its frame has been handed to the socket.
 *
 * It runs standalone on its own port (any request path, like websockify) or attached to an
 * existing `http.Server` on one path (`/websockify`), so one port serves the viewer page and its
 * socket.
 *
 * With `tls` (key + certificate) `listenWebSocket` serves `wss://` (HTTPS upgrade) instead.
 *
 * Cross-site WebSocket hijacking: any web page the user visits may open a WebSocket to
 * 127.0.0.1. Browsers send `Origin` on WebSocket handshakes, so by default only requests without
 * `Origin` (non-browser tools) and same-origin pages are accepted; other origins must be listed.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { ErrorCode, VncError } from '../../core/errors.js';
import { type Logger, silentLogger } from '../../core/log.js';
import { hostHeaderIsLoopback, isLoopbackName } from './host-check.js';
import type { TlsCredentials } from '../tls.js';
import type { ConnectionHandler } from './tcp-listener.js';
import { WebSocketDuplex } from './ws-stream.js';

export interface WebSocketListenerOptions {
  onConnection: ConnectionHandler;
  logger?: Logger;
  /**
   * Largest incoming WebSocket message, bytes. Default 2 MiB. noVNC sends messages of at most
   * ~10 KiB; the bound is what keeps a hostile peer from making us buffer without limit.
   */
  maxPayload?: number;
  /**
   * Origins (`scheme://host[:port]`) accepted besides same-origin and no-Origin requests, or
   * `'*'` for any. Default: none. The built-in viewer is same-origin when attached.
   */
  allowedOrigins?: readonly string[] | '*';
  /** Keepalive ping interval; a peer that misses a whole interval is dropped. 0 = off. Default 30 s. */
  pingIntervalMs?: number;
  /** Simultaneous WebSocket clients; more are refused with 503. Default 32. */
  maxClients?: number;
  /**
   * Accept only requests whose `Host` header is a loopback name (DNS-rebinding guard, see
   * host-check.ts). `listenWebSocket` sets it when it binds a loopback address.
   */
  loopbackHostsOnly?: boolean;
}

export interface WebSocketListener {
  /** The bound address (port resolved when 0 was asked). */
  readonly address: { host: string; port: number };
  /** Stop accepting, close every client (bounded), release the port. */
  close(): Promise<void>;
}

export interface WebSocketAttachment {
  /** Stop handling upgrades on the server and close every client (bounded); the server stays up. */
  close(): Promise<void>;
}

const CLOSE_GRACE_MS = 1000;
const NORMALISED_ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/]+$/;

function normaliseOrigin(origin: string): string {
  try {
    const u = new URL(origin);
    return u.origin === 'null' ? origin : u.origin;
  } catch {
    return origin;
  }
}

/** Refuse an upgrade with a plain HTTP status and drop the socket. */
function refuse(socket: Duplex, status: number, reason: string): void {
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
        `Content-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`,
    );
  }
  socket.destroy();
}

/**
 * The shared core: accepts upgrades handed to it, owns the WebSocketServer (noServer mode) and
 * the set of live clients.
 */
class UpgradeHandler {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<WebSocket>();
  private readonly alive = new WeakSet<WebSocket>();
  private readonly pingTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;
  private readonly maxClients: number;
  private readonly allowed: ReadonlySet<string> | '*';
  private closing = false;

  constructor(private readonly opts: WebSocketListenerOptions) {
    this.log = opts.logger ?? silentLogger;
    this.maxClients = opts.maxClients ?? 32;
    const origins = opts.allowedOrigins ?? [];
    if (origins !== '*') {
      for (const o of origins) {
        if (!NORMALISED_ORIGIN.test(normaliseOrigin(o))) {
          throw new VncError(ErrorCode.Config, `allowed origin "${o}" is not of the form scheme://host[:port]`);
        }
      }
    }
    this.allowed = origins === '*' ? '*' : new Set(origins.map(normaliseOrigin));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayload ?? 2 * 1024 * 1024,
      // Compression would only add latency and memory per client: RFB encodings already compress.
      perMessageDeflate: false,
      clientTracking: false,
      // noVNC (and websockify clients) offer "binary"; answer it when offered, otherwise none.
      handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
    });
    const interval = opts.pingIntervalMs ?? 30_000;
    if (interval > 0) {
      this.pingTimer = setInterval(() => this.pingAll(), interval);
      this.pingTimer.unref();
    }
  }

  private pingAll(): void {
    for (const ws of this.clients) {
      if (!this.alive.has(ws)) {
        this.log.info('WebSocket client missed its keepalive; dropping it');
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }

  private originAllowed(req: http.IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (this.allowed === '*') return true;
    const norm = normaliseOrigin(origin);
    if (this.allowed.has(norm)) return true;
    try {
      const host = req.headers.host;
      return host !== undefined && norm !== 'null' && new URL(norm).host === host.toLowerCase();
    } catch {
      return false;
    }
  }

  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const remoteAddress = req.socket.remoteAddress ?? 'unknown';
    if (this.closing) return refuse(socket, 503, 'server is shutting down');
    if (this.opts.loopbackHostsOnly && !hostHeaderIsLoopback(req.headers.host)) {
      this.log.warn('refused WebSocket addressed to a non-loopback host name', { host: req.headers.host?.slice(0, 200), remoteAddress });
      return refuse(socket, 403, 'host not allowed');
    }
    if (!this.originAllowed(req)) {
      this.log.warn('refused WebSocket from a foreign origin', { origin: req.headers.origin?.slice(0, 200), remoteAddress });
      return refuse(socket, 403, 'origin not allowed');
    }
    if (this.clients.size >= this.maxClients) {
      this.log.warn('refused WebSocket: too many clients', { remoteAddress, max: this.maxClients });
      return refuse(socket, 503, 'too many clients');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, remoteAddress));
  }

  private accept(ws: WebSocket, remoteAddress: string): void {
    if (this.closing) {
      ws.terminate();
      return;
    }
    this.clients.add(ws);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.once('close', () => this.clients.delete(ws));
    const stream = new WebSocketDuplex(ws, () => this.log.warn('WebSocket client sent a text message; closing', { remoteAddress }));
    // The session adds its own handlers; this one only guarantees that a transport error is
    // never an uncaught exception.
    stream.on('error', (err) => this.log.debug('WebSocket stream error', { remoteAddress, error: err }));
    const tcp = (ws as unknown as { _socket?: net.Socket })._socket;
    tcp?.setNoDelay(true);
    this.log.debug('WebSocket client connected', { remoteAddress, protocol: ws.protocol || '(none)' });
    this.opts.onConnection(stream, { remoteAddress, transport: 'ws' });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const all = [...this.clients].map(
      (ws) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, CLOSE_GRACE_MS);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(1001, 'server shutting down');
        }),
    );
    await Promise.all(all);
    this.wss.close();
  }
}

/** Attach to an existing HTTP server: upgrades on `path` are served, other upgrade paths get 404. */
export function attachWebSocket(server: http.Server | https.Server, path: string, opts: WebSocketListenerOptions): WebSocketAttachment {
  const handler = new UpgradeHandler(opts);
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const reqPath = (req.url ?? '').split('?', 1)[0];
    if (reqPath !== path) return refuse(socket, 404, 'no WebSocket here');
    handler.handleUpgrade(req, socket, head);
  };
  server.on('upgrade', onUpgrade);
  return {
    close: async () => {
      server.off('upgrade', onUpgrade);
      await handler.close();
    },
  };
}

/** Listen on its own port; every path is accepted (websockify behaviour). */
export async function listenWebSocket(
  opts: WebSocketListenerOptions & { host: string; port: number; tls?: TlsCredentials },
): Promise<WebSocketListener> {
  const onRequest = (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    res.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket', Connection: 'close' });
    res.end('This port speaks WebSocket (RFB for noVNC).\n');
  };
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 }, onRequest)
    : http.createServer(onRequest);
  // Bounds on slow or idle handshakes (slowloris).
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  const handler = new UpgradeHandler({ loopbackHostsOnly: isLoopbackName(opts.host), ...opts });
  server.on('upgrade', (req, socket, head) => handler.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new VncError(ErrorCode.Config, `cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => resolve());
  });
  const a = server.address() as net.AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: async () => {
      await handler.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
