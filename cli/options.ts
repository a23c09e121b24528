/**
 * The command line and environment, parsed once into ONE frozen, validated, typed object.
 *
 * Modes:
 * - `server` (default): a VNC server on `--listen`, optional WebSocket and web viewer listeners;
 * - `runner`: selected by `--run-id`/`--gateway-url`; the drop-in for the AiRemoteCoder Python
 *   runner (gateway-protocol.md §8.4, §9). The orchestrator's flags and environment belong to
 *   the gateway module's `parseRunnerArgs` (the one parser of that contract); its result sits
 *   under `runner`, and the shared flags (`--display`, `--run`, `--log-level`, …) are parsed
 *   here from what it leaves over;
 * - `gateway`: the subcommand `vnc-runner gateway …` (reference gateway); its argv is passed on
 *   untouched because its options belong to the gateway's own parser;
 * - `help` / `version`.
 *
 * Every mistake is a `UsageError` (exit code 2) with a message that names the option. Secrets
 * never show when the options are printed or JSON-serialised: the passwords are `Secret`s, and
 * the runner's `RunnerOptions` (plain-string secrets, as the HTTP client needs them) render
 * through `describeRunnerOptions`.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { LogLevel } from '../core/log.js';
import { isVncError } from '../core/errors.js';
import { parseRunnerArgs, RUNNER_SWITCH_FLAGS, RUNNER_VALUE_FLAGS, type RunnerOptions } from '../gateway/runner-options.js';
import { type FlagSpec, type ParsedArgv, tokenizeArgv, UsageError } from './argv.js';
import { formatListenAddress, isLoopbackHost, type ListenAddress, parseListenAddress } from './listen-address.js';
import { readPasswordFile } from './password-file.js';
import { Secret } from './secrets.js';

export { UsageError } from './argv.js';
export type { ListenAddress } from './listen-address.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** Where the desktop comes from. */
export type DisplayChoice =
  /** `--display`: must answer, no fallback. */
  | { readonly kind: 'explicit'; readonly name: string }
  /** `DISPLAY` from the environment: used if it answers, else a private Xvfb is started. */
  | { readonly kind: 'env'; readonly name: string }
  /** No display given (or `--run`): start a private Xvfb. */
  | { readonly kind: 'private' };

/** Settings shared by the direct server and the gateway runner. */
export interface CommonCliOptions {
  readonly logLevel: LogLevel;
  readonly display: DisplayChoice;
  /** Private Xvfb size (runner: also the size hint sent to the gateway). Default 1920x1080. */
  readonly width: number;
  readonly height: number;
  /** Frames per second polled while a client waits. Default 30, 1..240. */
  readonly framerate: number;
  /** Shell command started (via `sh -c`) on the private Xvfb. */
  readonly run?: string;
  /** Ignore all input from every client. */
  readonly viewOnly: boolean;
  /** Largest ClientCutText accepted, in bytes. Default 1 MiB. */
  readonly maxCutTextBytes: number;
  /** Non-fatal remarks found while parsing, for main to log as warnings. Never contain secrets. */
  readonly warnings: readonly string[];
}

export interface ServerCliOptions extends CommonCliOptions {
  readonly mode: 'server';
  /** RFB over TCP. Default 127.0.0.1:5900. */
  readonly listen: ListenAddress;
  /** Standalone WebSocket listener for browsers; off unless `--ws-port`. */
  readonly ws?: ListenAddress;
  /** Web viewer page (+ WebSocket on /websockify). Default 127.0.0.1:6080; off with `--no-http`. */
  readonly http?: ListenAddress;
  /** From `--password-file` or `VNC_PASSWORD`. Absent: security type None. */
  readonly password?: Secret;
  /** The second password of a 16-byte `vncpasswd -f` file. */
  readonly viewOnlyPassword?: Secret;
  /** The user accepted a non-loopback listener without a password. */
  readonly insecureNoAuth: boolean;
  /**
   * `--allow-origin`: web origins (besides same-origin) whose pages may open the WebSocket
   * listeners, or `'*'`. Default none; main should add the built-in viewer's origin for `ws`.
   */
  readonly allowOrigins: readonly string[] | '*';
  /**
   * TLS: VeNCrypt (X509 subtypes) on the VNC port, https/wss for the viewer and WebSocket
   * listeners. Absent: no TLS. Set by `--tls`, `--tls-cert`/`--tls-key`, `--tls-dir` or
   * `--require-tls`.
   */
  readonly tls?: TlsSource;
  /** `--require-tls`: the VNC port accepts only VeNCrypt (TLS). */
  readonly requireTls: boolean;
  /** `--vnc-user`: the user name VeNCrypt X509Plain requires (else any name is accepted). */
  readonly vncUser?: string;
}

/**
 * Where the TLS key and certificate come from (cli/tls-setup.ts loads them): given files, or a
 * self-signed pair generated at the first start in `dir` and reused afterwards.
 */
export type TlsSource =
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string }
  | { readonly kind: 'generated'; readonly dir: string };

export interface RunnerCliOptions extends CommonCliOptions {
  readonly mode: 'runner';
  /**
   * Everything `runRunner` needs, from `parseRunnerArgs`. Holds the secrets as plain strings:
   * log `describeRunnerOptions(runner)`, never a spread copy of it.
   */
  readonly runner: Readonly<RunnerOptions>;
}

export interface GatewayCommandOptions {
  readonly mode: 'gateway';
  /** Everything after the `gateway` subcommand, unparsed. */
  readonly argv: readonly string[];
}

export type CliOptions =
  | ServerCliOptions
  | RunnerCliOptions
  | GatewayCommandOptions
  | { readonly mode: 'help' }
  | { readonly mode: 'version' };

export const DEFAULTS = Object.freeze({
  listen: Object.freeze({ host: '127.0.0.1', port: 5900 }),
  http: Object.freeze({ host: '127.0.0.1', port: 6080 }),
  width: 1920,
  height: 1080,
  framerate: 30,
  maxCutTextBytes: 1024 * 1024,
  logLevel: 'info' as LogLevel,
});

const COMMON_FLAGS = {
  help: 'switch',
  version: 'switch',
  'log-level': 'value',
  display: 'value',
  width: 'value',
  height: 'value',
  framerate: 'value',
  run: 'value',
  'view-only': 'switch',
  'max-cut-text': 'value',
} as const satisfies FlagSpec;

const SERVER_FLAGS = {
  listen: 'value',
  'ws-port': 'value',
  'http-port': 'value',
  'no-http': 'switch',
  'password-file': 'value',
  'insecure-no-auth': 'switch',
  'allow-origin': 'value',
  tls: 'switch',
  'tls-cert': 'value',
  'tls-key': 'value',
  'tls-dir': 'value',
  'require-tls': 'switch',
  'vnc-user': 'value',
} as const satisfies FlagSpec;

/**
 * The shapes of the gateway runner's flags, from the gateway module that owns them; used here
 * only so the tokenizer can tell a runner command line from a mistake before delegating.
 */
const RUNNER_FLAGS: FlagSpec = Object.fromEntries([
  ...[...RUNNER_VALUE_FLAGS].map((f) => [f, 'value'] as const),
  ...[...RUNNER_SWITCH_FLAGS].map((f) => [f, 'switch'] as const),
]);

const ALL_FLAGS: FlagSpec = { ...COMMON_FLAGS, ...SERVER_FLAGS, ...RUNNER_FLAGS };

const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const DISPLAY_NAME = /^[A-Za-z0-9.-]*(?:\/unix)?:\d{1,5}(?:\.\d{1,3})?$/;
const MAX_CUT_TEXT_LIMIT = 256 * 1024 * 1024;
/** Text values end up in HTTP headers, JSON bodies and logs: one line, bounded. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** Recursively freeze plain objects and arrays (Secrets freeze themselves). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Typed access to the tokenized flags. */
class Flags {
  constructor(private readonly parsed: ParsedArgv) {}
  has(name: string): boolean {
    return this.parsed.flags.has(name);
  }
  str(name: string): string | undefined {
    const v = this.parsed.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  }
  int(name: string, min: number, max: number, dflt: number): number {
    const text = this.str(name);
    if (text === undefined) return dflt;
    if (!/^\d{1,12}$/.test(text) || Number(text) < min || Number(text) > max) {
      throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${text}")`);
    }
    return Number(text);
  }
  /** A one-line text value of bounded length. */
  text(name: string, maxLength: number, allowEmpty = false): string | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    if (!allowEmpty && v === '') throw new UsageError(`--${name} must not be empty`);
    if (v.length > maxLength) throw new UsageError(`--${name} is longer than ${maxLength} characters`);
    if (CONTROL_CHARS.test(v)) throw new UsageError(`--${name} must not contain control characters or line breaks`);
    return v;
  }
}

/** Parse argv (without node and script) and the environment. Throws `UsageError`. */
export function parseOptions(argv: readonly string[], env: Env = process.env): CliOptions {
  if (argv[0] === 'gateway') return deepFreeze({ mode: 'gateway', argv: [...argv.slice(1)] });
  const parsed = tokenizeArgv(argv, ALL_FLAGS);
  const flags = new Flags(parsed);
  if (flags.has('help')) return deepFreeze({ mode: 'help' });
  if (flags.has('version')) return deepFreeze({ mode: 'version' });
  if (parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument "${parsed.positionals[0]}" (options start with --; see --help)`);
  }
  const runner = flags.has('run-id') || flags.has('gateway-url');
  // --width/--height/--framerate are shared by both modes (in runner mode the gateway parser owns them).
  const foreign = Object.keys(runner ? SERVER_FLAGS : RUNNER_FLAGS).find((f) => !Object.hasOwn(COMMON_FLAGS, f) && flags.has(f));
  if (foreign !== undefined) {
    throw new UsageError(
      runner
        ? `--${foreign} is a direct-server option; the gateway runner (--run-id/--gateway-url) serves only through the gateway`
        : `--${foreign} belongs to the gateway runner and needs --run-id and --gateway-url`,
    );
  }
  const warnings: string[] = [];
  if (runner) return deepFreeze(parseRunner(argv, env, warnings));
  const common = parseCommon(flags, env, warnings);
  return deepFreeze({ mode: 'server', ...common, ...parseServer(flags, env, warnings) });
}

/**
 * Runner mode: the gateway module parses its contract (§8.4–8.5) and hands back the rest, from
 * which the shared flags are read. Its size and frame-rate hints also size the private Xvfb and
 * pace the server, as the Python runner's did.
 */
function parseRunner(argv: readonly string[], env: Env, warnings: string[]): RunnerCliOptions {
  const callerValueFlags = Object.keys(COMMON_FLAGS).filter((f) => COMMON_FLAGS[f as keyof typeof COMMON_FLAGS] === 'value');
  let parsed;
  try {
    parsed = parseRunnerArgs(argv, env as NodeJS.ProcessEnv, { callerValueFlags });
  } catch (err) {
    if (isVncError(err, 'VNC_ERR_CONFIG')) throw new UsageError(err.message);
    throw err;
  }
  const o = parsed.options;
  const flags = new Flags(tokenizeArgv(parsed.rest, COMMON_FLAGS));
  if (o.windowTitle !== undefined && o.displayMode === 'screen') warnings.push('--window-title is used only with --display-mode window');
  if (env['VNC_PASSWORD']) {
    warnings.push('VNC_PASSWORD is ignored by the gateway runner: the gateway viewer connects without a password');
  }
  const common = parseCommon(flags, env, warnings, {
    width: o.width ?? DEFAULTS.width,
    height: o.height ?? DEFAULTS.height,
    // The hint may be fractional; the frame clock ticks at a whole rate of at least 1.
    framerate: Math.min(240, Math.max(1, Math.round(o.framerate ?? DEFAULTS.framerate))),
  });
  return { mode: 'runner', ...common, runner: o };
}

function parseDisplay(flags: Flags, env: Env, warnings: string[]): DisplayChoice {
  const explicit = flags.str('display');
  const run = flags.has('run');
  if (explicit !== undefined) {
    if (!DISPLAY_NAME.test(explicit)) throw new UsageError(`--display must look like :N or HOST:N (got "${explicit}")`);
    if (run) throw new UsageError('--run starts a program on the private Xvfb and cannot be combined with --display');
    return { kind: 'explicit', name: explicit };
  }
  // --run means "give me a fresh headless session", even on a machine with a desktop.
  if (run) return { kind: 'private' };
  const fromEnv = env['DISPLAY'];
  if (fromEnv === undefined || fromEnv === '') return { kind: 'private' };
  if (!DISPLAY_NAME.test(fromEnv)) {
    warnings.push(`ignoring DISPLAY=${JSON.stringify(fromEnv.slice(0, 64))}: not an X display name; a private Xvfb will be started`);
    return { kind: 'private' };
  }
  return { kind: 'env', name: fromEnv };
}

/** `sizes`: already parsed by the gateway runner's parser (runner mode); else read from `flags`. */
function parseCommon(
  flags: Flags,
  env: Env,
  warnings: string[],
  sizes?: { width: number; height: number; framerate: number },
): CommonCliOptions {
  const logLevel = flags.str('log-level') ?? DEFAULTS.logLevel;
  if (!LOG_LEVELS.includes(logLevel as LogLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }
  const display = parseDisplay(flags, env, warnings);
  const width = sizes?.width ?? flags.int('width', 16, 16384, DEFAULTS.width);
  const height = sizes?.height ?? flags.int('height', 16, 16384, DEFAULTS.height);
  if (display.kind === 'explicit' && (flags.has('width') || flags.has('height'))) {
    warnings.push('--width/--height size the private Xvfb only; the size of --display is used as it is');
  }
  const run = flags.text('run', 64 * 1024);
  return {
    logLevel: logLevel as LogLevel,
    display,
    width,
    height,
    framerate: sizes?.framerate ?? flags.int('framerate', 1, 240, DEFAULTS.framerate),
    ...(run === undefined ? {} : { run }),
    viewOnly: flags.has('view-only'),
    maxCutTextBytes: flags.int('max-cut-text', 0, MAX_CUT_TEXT_LIMIT, DEFAULTS.maxCutTextBytes),
    warnings,
  };
}

type ServerPart = Omit<ServerCliOptions, keyof CommonCliOptions | 'mode'>;

function parseServer(flags: Flags, env: Env, warnings: string[]): ServerPart {
  const listenText = flags.str('listen');
  const listen = listenText === undefined ? DEFAULTS.listen : parseListenAddress(listenText, '--listen');
  const wsText = flags.str('ws-port');
  const ws = wsText === undefined ? undefined : parseListenAddress(wsText, '--ws-port');
  const httpText = flags.str('http-port');
  if (httpText !== undefined && flags.has('no-http')) throw new UsageError('--http-port and --no-http contradict each other');
  const http = flags.has('no-http') ? undefined : httpText === undefined ? DEFAULTS.http : parseListenAddress(httpText, '--http-port');

  const listeners: [string, ListenAddress][] = [['--listen', listen]];
  if (ws) listeners.push(['--ws-port', ws]);
  if (http) listeners.push([httpText === undefined ? 'the web viewer (default --http-port)' : '--http-port', http]);
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const [na, a] = listeners[i]!;
      const [nb, b] = listeners[j]!;
      if (a.port !== 0 && a.port === b.port) {
        throw new UsageError(`${na} and ${nb} both use port ${a.port}` + (nb.includes('http') ? ' (the web viewer already serves the WebSocket on /websockify)' : ''));
      }
    }
  }

  let password: Secret | undefined;
  let viewOnlyPassword: Secret | undefined;
  const file = flags.str('password-file');
  if (file !== undefined) {
    if (file === '') throw new UsageError('--password-file must not be empty');
    try {
      const contents = readPasswordFile(file);
      password = contents.password;
      viewOnlyPassword = contents.viewOnlyPassword;
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (env['VNC_PASSWORD']) warnings.push('both --password-file and VNC_PASSWORD are set; using --password-file');
  } else if (env['VNC_PASSWORD']) {
    password = new Secret(env['VNC_PASSWORD']);
  }
  if (password !== undefined && Buffer.byteLength(password.reveal(), 'utf8') > 8) {
    warnings.push('VNC authentication uses only the first 8 bytes of the password; the rest is ignored');
  }

  const insecureNoAuth = flags.has('insecure-no-auth');
  if (password === undefined && !insecureNoAuth) {
    for (const [name, addr] of listeners) {
      if (!isLoopbackHost(addr.host)) {
        throw new UsageError(
          `${name} ${formatListenAddress(addr)} is reachable from other machines, but no password is set. ` +
            'Set one with --password-file FILE or the VNC_PASSWORD environment variable, ' +
            'or pass --insecure-no-auth to serve without authentication.',
        );
      }
    }
  }
  if (password !== undefined && insecureNoAuth) warnings.push('--insecure-no-auth has no effect when a password is set');

  const tls = parseTls(flags, env);
  const requireTls = flags.has('require-tls');
  const vncUser = flags.text('vnc-user', 256);
  if (vncUser !== undefined && (tls === undefined || password === undefined)) {
    throw new UsageError('--vnc-user is the user name of VeNCrypt X509Plain: it needs TLS (--tls) and a password');
  }
  if (tls === undefined && password !== undefined) {
    const exposed = listeners.find(([, addr]) => !isLoopbackHost(addr.host));
    if (exposed) warnings.push(`${exposed[0]} ${formatListenAddress(exposed[1])} is reachable from other machines without TLS: the screen and keystrokes travel unencrypted (see --tls)`);
  }

  return {
    listen,
    allowOrigins: parseAllowOrigins(flags.str('allow-origin')),
    ...(ws === undefined ? {} : { ws }),
    ...(http === undefined ? {} : { http }),
    ...(password === undefined ? {} : { password }),
    ...(viewOnlyPassword === undefined ? {} : { viewOnlyPassword }),
    insecureNoAuth,
    ...(tls === undefined ? {} : { tls }),
    requireTls,
    ...(vncUser === undefined ? {} : { vncUser }),
  };
}

/**
 * Default home of the generated certificate: `$XDG_STATE_HOME/vnc-runner/tls`, else
 * `~/.local/state/vnc-runner/tls` (XDG Base Directory: state that should persist across
 * restarts but is not configuration). A relative XDG_STATE_HOME is invalid and ignored.
 */
export function defaultTlsDir(env: Env): string {
  const xdg = env['XDG_STATE_HOME'];
  if (xdg && isAbsolute(xdg)) return join(xdg, 'vnc-runner', 'tls');
  const home = env['HOME'] || homedir();
  return join(home, '.local', 'state', 'vnc-runner', 'tls');
}

function parseTls(flags: Flags, env: Env): TlsSource | undefined {
  const certFile = flags.str('tls-cert');
  const keyFile = flags.str('tls-key');
  const dir = flags.str('tls-dir');
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (certFile !== undefined && keyFile !== undefined) {
    if (certFile === '' || keyFile === '') throw new UsageError('--tls-cert and --tls-key must not be empty');
    if (dir !== undefined) throw new UsageError('--tls-dir holds a generated certificate; it cannot be combined with --tls-cert/--tls-key');
    return { kind: 'files', certFile: resolve(certFile), keyFile: resolve(keyFile) };
  }
  if (dir === '') throw new UsageError('--tls-dir must not be empty');
  if (dir !== undefined || flags.has('tls') || flags.has('require-tls')) {
    return { kind: 'generated', dir: resolve(dir ?? defaultTlsDir(env)) };
  }
  return undefined;
}

function parseAllowOrigins(text: string | undefined): readonly string[] | '*' {
  if (text === undefined) return [];
  if (text.trim() === '*') return '*';
  return text.split(',').map((item) => {
    const o = item.trim();
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== o.replace(/\/$/, '')) {
      throw new UsageError(`--allow-origin: "${o}" is not an origin like http://host:port`);
    }
    return url.origin;
  });
}
