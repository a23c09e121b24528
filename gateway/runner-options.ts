/**
 * The orchestrator's command line and environment, parsed into one typed options object
 * (gateway-protocol.md §8.4–8.5). Secrets come from the environment where possible so they need
 * not sit in `ps` output; none of them is ever part of an error message.
 */
import { hostname } from 'node:os';
import { inspect } from 'node:util';
import { ErrorCode, VncError } from '../core/errors.js';
import { parseGatewayUrl } from './gateway-url.js';

export type DisplayMode = 'screen' | 'window';

/**
 * Everything `runRunner` needs. Secrets: `hmacSecret`, `clientToken`, `capabilityToken` are plain
 * strings (they are signed with and sent as headers). Objects returned by `parseRunnerArgs`
 * render through `describeRunnerOptions` in `JSON.stringify`, `String()` and `util.inspect`, so
 * printing them never shows a secret; a spread copy loses that protection, so log
 * `describeRunnerOptions(o)` rather than `o`.
 */
export interface RunnerOptions {
  runId: string;
  capabilityToken: string;
  gatewayUrl: string;
  hmacSecret: string;
  clientToken: string;
  agentId: string;
  agentLabel: string;
  /** Size hints only: the real framebuffer size comes from the capture (defect P1). */
  width?: number;
  height?: number;
  framerate?: number;
  displayMode: DisplayMode;
  /** `--window-title`: the window shown in `window` mode (default: the active, else the largest). */
  windowTitle?: string;
  /** Accept self-signed gateway certificates. */
  insecure: boolean;
  /** `VNC_COMMAND_POLL_INTERVAL` (seconds, fractions allowed), default 2 s. */
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  requestTimeoutMs: number;
  /** Tunnel connection attempts per `__START_VNC_STREAM__` before the start is acked as failed. */
  tunnelConnectAttempts: number;
  /** How long transient failures may delay register + started marker before we give up (exit 1). */
  registerDeadlineMs: number;
  /** Sent at register so the gateway's `version` column is not wiped (defect W4). */
  version: string;
}

/** Environment variable that can carry the capability token instead of argv (defect P17). */
export const CAPABILITY_TOKEN_ENV = 'VNC_CAPABILITY_TOKEN';
export const MIN_HMAC_SECRET_LENGTH = 32;

export interface ParsedRunnerArgs {
  options: RunnerOptions;
  /** Arguments this parser does not know, in order, left for the caller (e.g. capture flags). */
  rest: string[];
}

/** Options of {@link parseRunnerArgs} beyond argv and env. */
export interface ParseRunnerArgsOptions {
  /** Reported at register (defect W4). Default `0.1.0`. */
  version?: string;
  /**
   * The caller's own value-taking flags (names without `--`). Their values go to `rest` untouched
   * even when they look like one of our flags (`--run "--insecure"` is not `--insecure`).
   */
  callerValueFlags?: Iterable<string>;
}

/** The orchestrator-facing flags that take a value (gateway-protocol.md §8.4, plus `--window-title`). */
export const RUNNER_VALUE_FLAGS: ReadonlySet<string> = new Set([
  'run-id',
  'capability-token',
  'gateway-url',
  'width',
  'height',
  'framerate',
  'display-mode',
  'window-title',
  'agent-id',
  'agent-label',
]);
/** The orchestrator-facing switches. */
export const RUNNER_SWITCH_FLAGS: ReadonlySet<string> = new Set(['insecure']);

/** Signed verbatim into URL paths (§3): keep run ids to URL-safe characters. */
const RUN_ID = /^[A-Za-z0-9._~-]{1,128}$/;
/** Travels in the X-Capability-Token header. */
const HEADER_TOKEN = /^[\x21-\x7e]{1,1024}$/;
/** Text values end up in HTTP headers, JSON bodies and logs: one line. */
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
const REDACTED = '[redacted]';

/** Usage text for the orchestrator-facing flags. */
export const RUNNER_USAGE = `vnc-runner --run-id ID --gateway-url URL [--capability-token TOKEN]
           [--width W --height H --framerate F --display-mode screen|window --window-title T]
           [--agent-id A --agent-label L --insecure]
env: HMAC_SECRET (required, >= 32 chars), AI_RUNNER_TOKEN or CLIENT_TOKEN (required),
     ${CAPABILITY_TOKEN_ENV} (instead of --capability-token), VNC_COMMAND_POLL_INTERVAL (s, default 2)`;

/**
 * Parse argv (without `node` and the script) and env. Throws `VncError(Config)` with a message
 * fit for stderr on anything missing or malformed; no message ever contains a secret.
 * Accepted forms: `--flag value` and `--flag=value`; a value is taken verbatim (spaces, `@`).
 * A runner flag given twice is an error; everything else is left in `rest` for the caller.
 */
export function parseRunnerArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  opts: ParseRunnerArgsOptions = {},
): ParsedRunnerArgs {
  const callerValueFlags = new Set(opts.callerValueFlags ?? []);
  const values = new Map<string, string>();
  const bools = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const name = m[1]!;
    if (RUNNER_VALUE_FLAGS.has(name)) {
      let v = m[2];
      if (v === undefined) {
        if (i + 1 >= argv.length) throw configError(`--${name} needs a value`);
        v = argv[++i]!;
      }
      if (values.has(name)) throw configError(`--${name} was given more than once`);
      values.set(name, v);
    } else if (RUNNER_SWITCH_FLAGS.has(name) && m[2] === undefined) {
      if (bools.has(name)) throw configError(`--${name} was given more than once`);
      bools.add(name);
    } else {
      rest.push(arg);
      // Keep a caller flag's separate value with it, whatever it looks like.
      if (callerValueFlags.has(name) && m[2] === undefined && i + 1 < argv.length) rest.push(argv[++i]!);
    }
  }

  const runId = values.get('run-id');
  if (runId === undefined) throw configError('--run-id is required');
  if (!RUN_ID.test(runId)) throw configError('--run-id must be 1-128 characters from A-Z a-z 0-9 . _ ~ -');
  const gatewayUrl = normalizeGatewayUrl(values.get('gateway-url') ?? env.GATEWAY_URL ?? '');
  const capabilityToken = values.get('capability-token') ?? env[CAPABILITY_TOKEN_ENV] ?? '';
  if (capabilityToken === '') {
    throw configError(`a capability token is required (--capability-token or ${CAPABILITY_TOKEN_ENV})`);
  }
  if (!HEADER_TOKEN.test(capabilityToken)) {
    throw configError('the capability token must be at most 1024 printable ASCII characters without spaces');
  }

  const hmacSecret = env.HMAC_SECRET ?? '';
  if (hmacSecret.length < MIN_HMAC_SECRET_LENGTH) {
    // The original gateway silently replaces a short secret with a random one, so a short secret
    // can only ever produce 401s; fail fast and say why.
    throw configError(`HMAC_SECRET must be set and at least ${MIN_HMAC_SECRET_LENGTH} characters long`);
  }
  const clientToken = nonEmpty(env.AI_RUNNER_TOKEN) ?? nonEmpty(env.CLIENT_TOKEN) ?? '';
  if (clientToken === '') throw configError('AI_RUNNER_TOKEN (or CLIENT_TOKEN) must be set: register needs the client token');
  if (!HEADER_TOKEN.test(clientToken)) {
    throw configError('AI_RUNNER_TOKEN must be at most 1024 printable ASCII characters without spaces');
  }

  const displayMode = values.get('display-mode') ?? 'screen';
  if (displayMode !== 'screen' && displayMode !== 'window') {
    throw configError(`--display-mode must be screen or window, got ${JSON.stringify(displayMode.slice(0, 40))}`);
  }
  const windowTitle = oneLine(values.get('window-title'), 'window-title', 1024);
  // Defaults as the TS wrapper's BaseRunner (§8.2); the gateway validates 1..100 characters.
  const host = hostname();
  const agentId = oneLine(values.get('agent-id'), 'agent-id', 100) || host.slice(0, 100);
  const agentLabel = oneLine(values.get('agent-label'), 'agent-label', 100) || `ai-runner@${host}`.slice(0, 100);

  const options: RunnerOptions = {
    runId,
    capabilityToken,
    gatewayUrl,
    hmacSecret,
    clientToken,
    agentId,
    agentLabel,
    displayMode,
    insecure: bools.has('insecure'),
    pollIntervalMs: parsePollInterval(env.VNC_COMMAND_POLL_INTERVAL),
    heartbeatIntervalMs: 30_000,
    requestTimeoutMs: 15_000,
    tunnelConnectAttempts: 5,
    registerDeadlineMs: 120_000,
    version: opts.version ?? '0.1.0',
  };
  if (windowTitle) options.windowTitle = windowTitle;
  const width = optionalInt(values.get('width'), 'width', 16, 16384);
  const height = optionalInt(values.get('height'), 'height', 16, 16384);
  const framerate = optionalNumber(values.get('framerate'), 'framerate', 1, 240);
  if (width !== undefined) options.width = width;
  if (height !== undefined) options.height = height;
  if (framerate !== undefined) options.framerate = framerate;
  return { options: redactWhenPrinted(options), rest };
}

/**
 * http(s) base URL without credentials, query or fragment, trailing `/` removed: request paths
 * are appended to it and signed verbatim (gateway-protocol.md §3).
 */
function normalizeGatewayUrl(raw: string): string {
  if (raw === '') throw configError('--gateway-url is required (e.g. --gateway-url https://gateway.example:3100)');
  if (raw.length > 2048) throw configError('--gateway-url is longer than 2048 characters');
  const url = parseGatewayUrl(raw);
  if (url.search !== '' || url.hash !== '') throw configError('--gateway-url must not have a query or fragment');
  return url.href.replace(/\/+$/, '');
}

/** Attach non-enumerable renderers so printing the object shows the description, not secrets. */
function redactWhenPrinted(o: RunnerOptions): RunnerOptions {
  const render = (): Record<string, unknown> => describeRunnerOptions(o);
  Object.defineProperties(o, {
    toJSON: { value: render, enumerable: false },
    toString: { value: () => `RunnerOptions ${JSON.stringify(render())}`, enumerable: false },
    [inspect.custom]: { value: () => `RunnerOptions ${inspect(render())}`, enumerable: false },
  });
  return o;
}

/** `VNC_COMMAND_POLL_INTERVAL` in seconds (fractions allowed, defect P14), clamped to 0.1–300 s. */
export function parsePollInterval(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return 2_000;
  const s = Number(raw.trim());
  if (!Number.isFinite(s) || s <= 0) {
    throw configError(`VNC_COMMAND_POLL_INTERVAL must be a positive number of seconds, got ${JSON.stringify(raw)}`);
  }
  return Math.round(Math.min(300, Math.max(0.1, s)) * 1000);
}

/** A loggable view of the options: every secret left out (the `secrets` entry says so). */
export function describeRunnerOptions(o: RunnerOptions): Record<string, unknown> {
  return {
    runId: o.runId,
    gatewayUrl: o.gatewayUrl,
    agentId: o.agentId,
    agentLabel: o.agentLabel,
    displayMode: o.displayMode,
    windowTitle: o.windowTitle,
    width: o.width,
    height: o.height,
    framerate: o.framerate,
    insecure: o.insecure,
    pollIntervalMs: o.pollIntervalMs,
    secrets: REDACTED,
  };
}

function optionalInt(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw configError(`--${name} must be an integer, got ${JSON.stringify(raw)}`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw configError(`--${name} must be between ${min} and ${max}`);
  return n;
}

function optionalNumber(raw: string | undefined, name: string, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw configError(`--${name} must be a number between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A one-line value of bounded length; empty means "use the default". */
function oneLine(raw: string | undefined, name: string, maxLength: number): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.length > maxLength) throw configError(`--${name} is longer than ${maxLength} characters`);
  if (CONTROL_CHARS.test(raw)) throw configError(`--${name} must not contain control characters or line breaks`);
  return raw;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function configError(msg: string): VncError {
  return new VncError(ErrorCode.Config, msg);
}
