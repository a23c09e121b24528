/**
 * The built-in web viewer server (node:http): our page (viewer-page.ts), noVNC's ES modules from
 * the `@novnc/novnc` npm package under `/novnc/core/` and `/novnc/vendor/`, and the RFB
 * WebSocket on `/websockify` (ws-listener.ts), all on one port so the page is same-origin with
 * its socket.
 *
 * With `tls` (key + certificate) it serves HTTPS and the socket is `wss://`; the page picks
 * `wss:` itself when it was loaded over https.
 *
 * Only GET/HEAD of known files are served: `.js` files below noVNC's `core/` and `vendor/`, with
 * the path decoded, normalised and confined to those directories (no traversal, no dot-files,
 * no directory listings). Responses carry a strict CSP and `nosniff`; the page is never cached.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import { ErrorCode, VncError } from '../../core/errors.js';
import { silentLogger } from '../../core/log.js';
import type { TlsCredentials } from '../tls.js';
import { hostHeaderIsLoopback, isLoopbackName } from './host-check.js';
import { viewerHtml, VIEWER_CSS, VIEWER_JS } from './viewer-page.js';
import { attachWebSocket, type WebSocketListenerOptions } from './ws-listener.js';

export interface HttpViewerOptions extends WebSocketListenerOptions {
  host: string;
  port: number;
  /** Page title. Default "vnc-runner". */
  title?: string;
  /** Root of the @novnc/novnc package; default: resolved from node_modules. */
  novncDir?: string;
  /** Serve the WebSocket on `/websockify` too. Default true. */
  webSocket?: boolean;
  /** Serve HTTPS (and wss) with this key and certificate. */
  tls?: TlsCredentials;
}

export interface HttpViewer {
  readonly address: { host: string; port: number };
  /** `http://host:port/` (`https://` with TLS) of the page (IPv6 in brackets). */
  readonly url: string;
  close(): Promise<void>;
}

export const WEBSOCKET_PATH = '/websockify';
/** noVNC's largest file is well under 200 KiB; anything bigger is not what we mean to serve. */
const MAX_STATIC_BYTES = 4 * 1024 * 1024;
const MAX_URL_LENGTH = 2048;

/**
 * What noVNC needs: its own scripts, canvas drawing, `data:` images (JPEG/PNG rects and cursors
 * go through data: URLs), a WebSocket to this origin ('self' covers ws:/wss: of the same host).
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** Locate the installed @novnc/novnc package (its `exports` points at core/rfb.js). */
export function resolveNovncDir(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('@novnc/novnc');
  } catch (err) {
    throw new VncError(ErrorCode.Config, 'the @novnc/novnc package is not installed (npm install)', { cause: err });
  }
  const dir = path.dirname(path.dirname(entry));
  if (!existsSync(path.join(dir, 'core', 'rfb.js'))) {
    throw new VncError(ErrorCode.Config, `@novnc/novnc at ${dir} has no core/rfb.js`);
  }
  return dir;
}

/**
 * Map a URL path below `/novnc/` to a file inside `root/core` or `root/vendor`, or undefined if
 * it is not one we serve. Pure; exported for tests.
 */
export function confineNovncPath(root: string, urlPath: string): string | undefined {
  if (!urlPath.startsWith('/novnc/')) return undefined;
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath.slice('/novnc/'.length));
  } catch {
    return undefined;
  }
  if (rel.includes('\0') || rel.includes('\\')) return undefined;
  const segments = rel.split('/');
  // Dot segments and dot-files are refused outright rather than normalised away.
  if (segments.some((s) => s === '' || s.startsWith('.'))) return undefined;
  if (segments[0] !== 'core' && segments[0] !== 'vendor') return undefined;
  if (!rel.endsWith('.js')) return undefined;
  const base = path.resolve(root, segments[0]);
  const file = path.resolve(root, ...segments);
  return file.startsWith(base + path.sep) ? file : undefined;
}

function etagOf(body: string | Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

function send(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  const headers: Record<string, string | number> = { ...COMMON_HEADERS, 'Content-Type': contentType, ...extra };
  if (status === 200 && extra['ETag'] !== undefined && req.headers['if-none-match'] === extra['ETag']) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  headers['Content-Length'] = Buffer.byteLength(body);
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function sendText(req: http.IncomingMessage, res: http.ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  send(req, res, status, 'text/plain; charset=utf-8', `${text}\n`, { 'Cache-Control': 'no-store', ...extra });
}

export async function listenHttpViewer(opts: HttpViewerOptions): Promise<HttpViewer> {
  const log = opts.logger ?? silentLogger;
  const novncDir = opts.novncDir ?? resolveNovncDir();
  const loopbackOnly = opts.loopbackHostsOnly ?? isLoopbackName(opts.host);
  const html = viewerHtml({ ...(opts.title === undefined ? {} : { title: opts.title }) });
  const fixed = new Map<string, { type: string; body: string; cache: string }>([
    ['/', { type: 'text/html; charset=utf-8', body: html, cache: 'no-store' }],
    ['/index.html', { type: 'text/html; charset=utf-8', body: html, cache: 'no-store' }],
    ['/viewer.js', { type: 'text/javascript; charset=utf-8', body: VIEWER_JS, cache: 'no-cache' }],
    ['/viewer.css', { type: 'text/css; charset=utf-8', body: VIEWER_CSS, cache: 'no-cache' }],
  ]);

  const serveStatic = async (req: http.IncomingMessage, res: http.ServerResponse, file: string): Promise<void> => {
    try {
      const st = await stat(file);
      if (!st.isFile() || st.size > MAX_STATIC_BYTES) return sendText(req, res, 404, 'not found');
      const body = await readFile(file);
      send(req, res, 200, 'text/javascript; charset=utf-8', body, { 'Cache-Control': 'no-cache', ETag: etagOf(body) });
    } catch {
      sendText(req, res, 404, 'not found');
    }
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = req.url ?? '/';
    if (opts.webSocket !== false && url.split('?', 1)[0] === WEBSOCKET_PATH) {
      return sendText(req, res, 426, 'this path speaks WebSocket', { Upgrade: 'websocket' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(req, res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    if (loopbackOnly && !hostHeaderIsLoopback(req.headers.host)) {
      log.warn('refused HTTP request addressed to a non-loopback host name', { host: req.headers.host?.slice(0, 200) });
      return sendText(req, res, 403, 'host not allowed; open the viewer through http://127.0.0.1 or http://localhost');
    }
    if (url.length > MAX_URL_LENGTH) return sendText(req, res, 414, 'URI too long');
    const urlPath = url.split('?', 1)[0]!;
    const page = fixed.get(urlPath);
    if (page) return send(req, res, 200, page.type, page.body, { 'Cache-Control': page.cache, ETag: etagOf(page.body) });
    const file = confineNovncPath(novncDir, urlPath);
    if (file === undefined) return sendText(req, res, 404, 'not found');
    void serveStatic(req, res, file);
  };
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: 10_000 }, onRequest)
    : http.createServer(onRequest);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  const ws = opts.webSocket === false ? undefined : attachWebSocket(server, WEBSOCKET_PATH, { ...opts, loopbackHostsOnly: loopbackOnly });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new VncError(ErrorCode.Config, `cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => resolve());
  }).catch(async (err) => {
    await ws?.close();
    throw err;
  });
  const a = server.address() as net.AddressInfo;
  const hostForUrl = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
  return {
    address: { host: a.address, port: a.port },
    url: `${opts.tls ? 'https' : 'http'}://${hostForUrl}:${a.port}/`,
    close: async () => {
      await ws?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
