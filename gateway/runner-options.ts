/**
 * The orchestrator's command line and environment, parsed into one typed options object
 * (gateway-protocol.md §8.4–8.5). Secrets come from the environment where possible so they need
 * not sit in `ps` output; none of them is ever part of an error message.
 */
import { hostname } from 'node:os';
import { ErrorCode, VncError } from '../core/errors.js';
import { parseGatewayUrl } from './http-client.js';

export type DisplayMode = 'screen' | 'window';

/** Everything `runRunner` needs. Secrets: `hmacSecret`, `clientToken`, `capabilityToken`. */
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
  /** Arguments this parser does not know, left for the caller (e.g. capture flags). */
  rest: string[];
}

const VALUE_FLAGS = new Set([
  'run-id',
  'capability-token',
  'gateway-url',
  'width',
  'height',
  'framerate',
  'display-mode',
  'agent-id',
  'agent-label',
]);
const BOOL_FLAGS = new Set(['insecure']);

/** Usage text for the orchestrator-facing flags. */
export const RUNNER_USAGE = `vnc-runner --run-id ID --gateway-url URL [--capability-token TOKEN]
           [--width W --height H --framerate F --display-mode screen|window]
           [--agent-id A --agent-label L --insecure]
env: HMAC_SECRET (required, >= 32 chars), AI_RUNNER_TOKEN or CLIENT_TOKEN (required),
     ${CAPABILITY_TOKEN_ENV} (instead of --capability-token), VNC_COMMAND_POLL_INTERVAL (s, default 2)`;

/**
 * Parse argv (without `node` and the script) and env. Throws `VncError(Config)` with a message
 * fit for stderr on anything missing or malformed.
 */
export function parseRunnerArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  defaults: { version?: string } = {},
): ParsedRunnerArgs {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([a-z][a-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const name = m[1]!;
    if (VALUE_FLAGS.has(name)) {
      let v = m[2];
      if (v === undefined) {
        if (i + 1 >= argv.length) throw configError(`--${name} needs a value`);
        v = argv[++i]!;
      }
      values.set(name, v);
    } else if (BOOL_FLAGS.has(name) && m[2] === undefined) {
      bools.add(name);
    } else {
      rest.push(arg);
    }
  }

  const runId = values.get('run-id') ?? '';
  if (!/^[\x21-\x7e]{1,200}$/.test(runId)) throw configError('--run-id is required (1-200 printable characters)');
  const capabilityToken = values.get('capability-token') ?? env[CAPABILITY_TOKEN_ENV] ?? '';
  if (capabilityToken === '') {
    throw configError(`a capability token is required (--capability-token or ${CAPABILITY_TOKEN_ENV})`);
  }
  const gatewayUrl = values.get('gateway-url') ?? env.GATEWAY_URL ?? '';
  if (gatewayUrl === '') throw configError('--gateway-url is required');
  parseGatewayUrl(gatewayUrl);

  const hmacSecret = env.HMAC_SECRET ?? '';
  if (hmacSecret.length < MIN_HMAC_SECRET_LENGTH) {
    // The original gateway silently replaces a short secret with a random one, so a short secret
    // can only ever produce 401s; fail fast and say why.
    throw configError(`HMAC_SECRET must be set and at least ${MIN_HMAC_SECRET_LENGTH} characters long`);
  }
  const clientToken = nonEmpty(env.AI_RUNNER_TOKEN) ?? nonEmpty(env.CLIENT_TOKEN) ?? '';
  if (clientToken === '') throw configError('AI_RUNNER_TOKEN (or CLIENT_TOKEN) must be set: register needs the client token');

  const host = hostname();
  const displayMode = values.get('display-mode') ?? 'screen';
  if (displayMode !== 'screen' && displayMode !== 'window') {
    throw configError(`--display-mode must be screen or window, got ${JSON.stringify(displayMode)}`);
  }
  const agentId = values.get('agent-id') || host;
  const agentLabel = values.get('agent-label') || `vnc-runner@${host}`;
  if (agentId.length > 100) throw configError('--agent-id must be at most 100 characters');
  if (agentLabel.length > 100) throw configError('--agent-label must be at most 100 characters');

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
    version: defaults.version ?? '0.1.0',
  };
  const width = optionalInt(values.get('width'), 'width', 1, 16384);
  const height = optionalInt(values.get('height'), 'height', 1, 16384);
  const framerate = optionalNumber(values.get('framerate'), 'framerate', 0.1, 240);
  if (width !== undefined) options.width = width;
  if (height !== undefined) options.height = height;
  if (framerate !== undefined) options.framerate = framerate;
  return { options, rest };
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

/** A loggable view of the options: every secret replaced by whether it is set. */
export function describeRunnerOptions(o: RunnerOptions): Record<string, unknown> {
  return {
    runId: o.runId,
    gatewayUrl: o.gatewayUrl,
    agentId: o.agentId,
    agentLabel: o.agentLabel,
    displayMode: o.displayMode,
    width: o.width,
    height: o.height,
    framerate: o.framerate,
    insecure: o.insecure,
    pollIntervalMs: o.pollIntervalMs,
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

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

function configError(msg: string): VncError {
  return new VncError(ErrorCode.Config, msg);
}
