#!/usr/bin/env node
/**
 * Composition root: the only file that imports every module. It parses options, acquires an X
 * display (a private Xvfb when none is available), builds the X11 desktop, and runs either the
 * direct server (TCP + WebSocket + web viewer) or the gateway runner, or the reference gateway.
 *
 * Exit codes: 0 clean stop, 1 runtime failure (X server died, register failed), 2 bad usage.
 */
import { createLogger, type Logger } from '../core/log.js';
import { isVncError } from '../core/errors.js';
import { parseOptions, UsageError, type ServerCliOptions, type RunnerCliOptions } from './options.js';
import { helpText, versionText } from './help.js';
import { acquireDisplay, type AcquiredDisplay } from './display.js';
import { X11Desktop } from './x11-desktop.js';
import { WindowDesktop } from './window-desktop.js';
import { VncServer } from '../server/vnc-server.js';
import type { Desktop } from '../server/desktop.js';
import { listenTcp } from '../server/listeners/tcp-listener.js';
import type { ServerOptionsInput } from '../server/options.js';
import { resolveServerTls, type TlsCredentials } from '../server/tls.js';

type Closer = () => Promise<void>;

// The gateway client, TLS certificate generation and the browser listeners are imported where
// they are used: a plain `--listen` server then never loads undici, the X.509 libraries or ws,
// which made every start slower and left megabytes of startup garbage for V8 to collect while
// the first clients were being served (`npm run bench`, idle scene).

/**
 * Resolves on the first SIGINT/SIGTERM (or when `abort` is called). Later signals are only
 * logged until `dispose`, which the caller calls once the cleanup is done: Ctrl-C under
 * `npm start` delivers the terminal's SIGINT and then the copy npm forwards, and with no handler
 * left the second one killed the process mid-cleanup, leaving the private Xvfb and the --run
 * program behind. The cleanup is bounded on its own (Xvfb gets SIGKILL after a grace period).
 */
function shutdownSignal(log: Logger): { promise: Promise<string>; abort: (why: string) => void; dispose: () => void } {
  let resolve!: (why: string) => void;
  const promise = new Promise<string>((r) => (resolve = r));
  let received = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (received) log.info('already shutting down', { signal: sig });
    received = true;
    resolve(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    promise,
    abort: resolve,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Display + desktop + server, shared by the direct server and the gateway runner. */
async function startDesktopServer(
  opts: ServerCliOptions | RunnerCliOptions,
  log: Logger,
  onFatal: (why: string) => void,
  extra: Pick<ServerOptionsInput, 'tls' | 'requireTls' | 'plainUsername'> = {},
): Promise<{ server: VncServer; display: AcquiredDisplay }> {
  const { desktop, display } = await createDesktop(opts, log, onFatal);
  const server = new VncServer(desktop, {
    ...(opts.mode === 'server' && opts.password ? { password: opts.password.reveal() } : {}),
    ...(opts.mode === 'server' && opts.viewOnlyPassword ? { viewOnlyPassword: opts.viewOnlyPassword.reveal() } : {}),
    viewOnly: opts.viewOnly,
    framerate: opts.framerate,
    maxCutTextBytes: opts.maxCutTextBytes,
    logger: log.child('rfb'),
    ...extra,
  });
  server.onFatal = (err) => onFatal(err.message);
  try {
    await server.ensureDesktop();
  } catch (err) {
    await display.close();
    throw err;
  }
  return { server, display };
}

/**
 * Linux: an X display (a private Xvfb when none answers) and the X11 desktop. macOS/Windows:
 * the nut-js backend, imported only there and NOT verified on real hardware.
 */
async function createDesktop(
  opts: ServerCliOptions | RunnerCliOptions,
  log: Logger,
  onFatal: (why: string) => void,
): Promise<{ desktop: Desktop; display: AcquiredDisplay }> {
  if (process.platform === 'darwin' || process.platform === 'win32') {
    const { NutJsDesktop } = await import('./nutjs/nutjs-desktop.js');
    return { desktop: new NutJsDesktop(log.child('desktop')), display: { display: 'native', close: async () => {} } };
  }
  const display = await acquireDisplay({
    choice: opts.display,
    width: opts.width,
    height: opts.height,
    ...(opts.run !== undefined ? { run: opts.run } : {}),
    logger: log.child('display'),
    onXvfbExit: (exit) => onFatal(`private Xvfb exited (${exit.signal ?? exit.code}): ${exit.stderrTail.trim()}`),
  });
  if (display.xvfb) {
    // The x11 client library reads the cookie location from the environment.
    process.env.DISPLAY = display.xvfb.env.DISPLAY;
    process.env.XAUTHORITY = display.xvfb.env.XAUTHORITY;
  }
  const screen = new X11Desktop({ display: display.display, logger: log.child('desktop'), maxClipboardBytes: opts.maxCutTextBytes });
  // --display-mode window: the same root capture, cropped to one window (cli/window-desktop.ts).
  const desktop =
    opts.mode === 'runner' && opts.runner.displayMode === 'window'
      ? new WindowDesktop({
          inner: screen,
          display: display.display,
          ...(opts.runner.windowTitle !== undefined ? { title: opts.runner.windowTitle } : {}),
          logger: log.child('window'),
        })
      : screen;
  return { desktop, display };
}

async function runServer(opts: ServerCliOptions, log: Logger): Promise<number> {
  // ---- TLS (VeNCrypt on the VNC port, https/wss for the browser listeners) ----
  let tlsCredentials: TlsCredentials | undefined;
  const extra: Pick<ServerOptionsInput, 'tls' | 'requireTls' | 'plainUsername'> = {};
  if (opts.tls) {
    const { loadTls } = await import('./tls-setup.js');
    const loaded = await loadTls(opts.tls, log.child('tls'));
    const serverTls = resolveServerTls(loaded.credentials); // VNC_ERR_CONFIG (exit 2) for a bad pair
    tlsCredentials = loaded.credentials;
    Object.assign(extra, { tls: serverTls, requireTls: opts.requireTls, ...(opts.vncUser !== undefined ? { plainUsername: opts.vncUser } : {}) });
    if (serverTls.validTo.getTime() < Date.now()) log.warn('the TLS certificate has expired', { certFile: loaded.certFile });
    console.log(`vnc-runner: TLS certificate ${loaded.certFile}${loaded.generated ? ' (generated now)' : ''}`);
    console.log(`vnc-runner: TLS certificate SHA-256 fingerprint ${serverTls.fingerprint256}`);
  }
  // ---- end TLS ----
  const stop = shutdownSignal(log);
  let fatal: string | null = null;
  const { server, display } = await startDesktopServer(opts, log, (why) => {
    fatal = why;
    stop.abort('fatal');
  }, extra);
  const closers: Closer[] = [];
  const onConnection = server.handleConnection.bind(server);
  try {
    const tcp = await listenTcp({ host: opts.listen.host, port: opts.listen.port, onConnection });
    closers.push(() => tcp.close());
    const security = `${opts.password ? 'VNC password' : 'no password'}${tlsCredentials ? (opts.requireTls ? ', TLS required' : ', TLS offered') : ''}`;
    console.log(`vnc-runner: VNC server on ${formatHostPort(tcp.address)} (display ${display.display}, ${security})`);
    const tlsOption = tlsCredentials ? { tls: tlsCredentials } : {};
    if (opts.http) {
      const { listenHttpViewer } = await import('../server/listeners/http-viewer.js');
      const viewer = await listenHttpViewer({ host: opts.http.host, port: opts.http.port, onConnection, logger: log.child('http'), allowedOrigins: opts.allowOrigins, ...tlsOption });
      closers.push(() => viewer.close());
      console.log(`vnc-runner: web viewer at ${viewer.url}`);
    }
    if (opts.ws) {
      const origins = opts.allowOrigins === '*' ? '*' : [...opts.allowOrigins, ...(opts.http ? httpOrigins(opts.http, tlsCredentials ? 'https' : 'http') : [])];
      const { listenWebSocket } = await import('../server/listeners/ws-listener.js');
      const ws = await listenWebSocket({ host: opts.ws.host, port: opts.ws.port, onConnection, logger: log.child('ws'), allowedOrigins: origins, ...tlsOption });
      closers.push(() => ws.close());
      console.log(`vnc-runner: WebSocket listener on ${formatHostPort(ws.address)}`);
    }
  } catch (err) {
    await shutdown(closers, server, display, log);
    stop.dispose();
    throw err;
  }
  const why = await stop.promise;
  log.info('shutting down', { reason: why });
  await shutdown(closers, server, display, log);
  stop.dispose();
  if (fatal) {
    log.error('exiting after a fatal error', { reason: fatal });
    return 1;
  }
  return 0;
}

async function runGatewayRunner(opts: RunnerCliOptions, log: Logger): Promise<number> {
  const abort = new AbortController();
  const stop = shutdownSignal(log);
  let fatal: string | null = null;
  void stop.promise.then(() => abort.abort());
  const { server, display } = await startDesktopServer(opts, log, (why) => {
    fatal = why;
    stop.abort('fatal');
  });
  let code: number;
  try {
    const { runRunner } = await import('../gateway/index.js');
    code = await runRunner(
      opts.runner,
      (stream) => server.handleConnection(stream, { remoteAddress: 'gateway-tunnel', transport: 'tunnel' }).whenClosed(),
      log.child('runner'),
      {
        signal: abort.signal,
        screenSize: () => {
          const fb = server.desktop.framebuffer;
          return { width: fb.width, height: fb.height };
        },
      },
    );
  } finally {
    await shutdown([], server, display, log);
    stop.dispose();
  }
  return fatal ? 1 : code;
}

async function shutdown(closers: Closer[], server: VncServer, display: AcquiredDisplay, log: Logger): Promise<void> {
  for (const c of closers) await c().catch((err) => log.warn('listener close failed', { err: err as Error }));
  await server.close().catch((err) => log.warn('server close failed', { err: err as Error }));
  await display.close().catch((err) => log.warn('display close failed', { err: err as Error }));
}

function formatHostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function httpOrigins(a: { host: string; port: number }, scheme: 'http' | 'https'): string[] {
  const hosts = a.host === '127.0.0.1' || a.host === '::1' || a.host === 'localhost' ? ['127.0.0.1', 'localhost', '[::1]'] : [a.host.includes(':') ? `[${a.host}]` : a.host];
  return hosts.map((h) => `${scheme}://${h}:${a.port}`);
}

export async function main(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseOptions(argv, process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vnc-runner: ${err.message}\nTry 'vnc-runner --help'.\n`);
      return err.exitCode;
    }
    throw err;
  }
  if (opts.mode === 'help') {
    process.stdout.write(helpText());
    return 0;
  }
  if (opts.mode === 'version') {
    process.stdout.write(versionText() + '\n');
    return 0;
  }
  if (opts.mode === 'gateway') {
    const log = createLogger({ level: 'info', scope: 'gateway' });
    const { parseGatewayArgs, runGatewayCommand } = await import('../gateway/index.js');
    return runGatewayCommand(parseGatewayArgs(opts.argv, process.env), log);
  }
  const log = createLogger({ level: opts.logLevel });
  for (const w of opts.warnings) log.warn(w);
  if (process.platform !== 'linux' && process.platform !== 'darwin' && process.platform !== 'win32') {
    process.stderr.write(`vnc-runner: platform ${process.platform} is not supported\n`);
    return 1;
  }
  try {
    return opts.mode === 'server' ? await runServer(opts, log) : await runGatewayRunner(opts, log);
  } catch (err) {
    if (isVncError(err)) {
      process.stderr.write(`vnc-runner: ${err.message} [${err.code}]\n`);
      return isVncError(err, 'VNC_ERR_CONFIG') ? 2 : 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`vnc-runner: fatal: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
