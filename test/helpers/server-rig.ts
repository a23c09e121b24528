/**
 * Our server, assembled in-process exactly as `cli/main.ts` does it (X11Desktop + VncServer +
 * listenTcp, optionally the built-in web viewer with its WebSocket), on an X display the test
 * already started. Everything listens on 127.0.0.1 port 0; `close()` stops listeners, sessions,
 * the desktop (which releases held keys and restores the keymap) in that order.
 *
 * Log lines go to a bounded in-memory tail (`logs()`), so a failing test can print what the
 * server said; set `VNC_TEST_LOG=1` to also stream them to stderr.
 */
import { createLogger, type LogLevel } from '../../core/log.js';
import { X11Desktop } from '../../cli/x11-desktop.js';
import { VncServer } from '../../server/vnc-server.js';
import type { ServerOptionsInput } from '../../server/options.js';
import { listenTcp, type TcpListener } from '../../server/listeners/tcp-listener.js';
import { listenHttpViewer, type HttpViewer } from '../../server/listeners/http-viewer.js';
import type { ProcessScope } from './processes.js';

/** Log lines kept for diagnostics (the tail). */
const LOG_TAIL_LINES = 2000;

export interface ServerRigOptions {
  /** X display to serve (":N"), e.g. from `startXvfb`. */
  display: string;
  /** VNC password; absent: security type None. */
  password?: string;
  viewOnlyPassword?: string;
  /** Ignore all client input. */
  viewOnly?: boolean;
  /** Also serve the built-in web viewer (+ WebSocket on /websockify). Default false. */
  http?: boolean;
  /** Web origins besides same-origin allowed to open the viewer's WebSocket (e.g. a test page server). */
  allowedOrigins?: readonly string[] | '*';
  /**
   * Other server options. `authFailureDelayMs` defaults to 0 here so wrong-password tests do
   * not wait for the production delay.
   */
  server?: Omit<ServerOptionsInput, 'password' | 'viewOnlyPassword' | 'viewOnly' | 'logger'>;
  /** Default 'debug' (kept in memory only). */
  logLevel?: LogLevel;
  /** When given, the scope closes the rig on dispose. */
  scope?: ProcessScope;
}

/** A running server on a display. */
export interface ServerRig {
  readonly server: VncServer;
  readonly desktop: X11Desktop;
  /** TCP port of the RFB listener on 127.0.0.1. */
  readonly port: number;
  /** `http://127.0.0.1:PORT/` of the web viewer (with `http`). */
  readonly httpUrl?: string;
  /** `ws://127.0.0.1:PORT/websockify` (with `http`). */
  readonly wsUrl?: string;
  /** The server's recent log lines. */
  logs(): string[];
  /** Stops listeners, closes every session, stops the desktop. Idempotent. */
  close(): Promise<void>;
}

/** Starts the server on `options.display` and waits until the desktop is capturing. */
export async function startServerRig(options: ServerRigOptions): Promise<ServerRig> {
  const lines: string[] = [];
  const echo = process.env['VNC_TEST_LOG'] === '1';
  const logger = createLogger({
    level: options.logLevel ?? 'debug',
    write: (line) => {
      lines.push(line);
      if (lines.length > LOG_TAIL_LINES) lines.splice(0, lines.length - LOG_TAIL_LINES);
      if (echo) process.stderr.write(`${line}\n`);
    },
  });
  const maxCutTextBytes = options.server?.maxCutTextBytes ?? 1024 * 1024;
  const desktop = new X11Desktop({ display: options.display, logger: logger.child('desktop'), maxClipboardBytes: maxCutTextBytes });
  const server = new VncServer(desktop, {
    authFailureDelayMs: 0,
    ...options.server,
    ...(options.password !== undefined ? { password: options.password } : {}),
    ...(options.viewOnlyPassword !== undefined ? { viewOnlyPassword: options.viewOnlyPassword } : {}),
    viewOnly: options.viewOnly ?? false,
    logger: logger.child('rfb'),
  });
  let tcp: TcpListener | undefined;
  let viewer: HttpViewer | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      // Listeners first (no new clients), then sessions and the desktop.
      await tcp?.close();
      await viewer?.close();
      await server.close();
      // server.close() stops the desktop only if it was started; stop() is idempotent.
      await desktop.stop();
    })());
  try {
    await server.ensureDesktop();
    const onConnection = server.handleConnection.bind(server);
    tcp = await listenTcp({ host: '127.0.0.1', port: 0, onConnection });
    if (options.http) {
      viewer = await listenHttpViewer({
        host: '127.0.0.1',
        port: 0,
        onConnection,
        logger: logger.child('http'),
        pingIntervalMs: 0,
        ...(options.allowedOrigins !== undefined ? { allowedOrigins: options.allowedOrigins } : {}),
      });
    }
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  options.scope?.defer('close vnc-runner server rig', close);
  return {
    server,
    desktop,
    port: tcp.address.port,
    ...(viewer ? { httpUrl: viewer.url, wsUrl: `ws://127.0.0.1:${viewer.address.port}/websockify` } : {}),
    logs: () => [...lines],
    close,
  };
}
