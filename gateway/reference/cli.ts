/**
 * `vnc-runner gateway [...]`: argument parsing and a foreground runner for the reference
 * gateway. The lead's cli/main.ts calls {@link parseGatewayArgs} and {@link runGatewayCommand}.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, VncError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { startReferenceGateway, type ReferenceGatewayOptions } from './server.js';

export interface GatewayCliOptions extends ReferenceGatewayOptions {
  /** Create one agent and one VNC run at start-up and print how to connect a runner to it. */
  demo: boolean;
  demoAgentId: string;
}

export const GATEWAY_USAGE = `vnc-runner gateway [--host H] [--port P] [--state-file FILE] [--rate-limit N]
                   [--tls-cert FILE --tls-key FILE] [--demo [--demo-agent-id ID]]
env: HMAC_SECRET (>= 32 chars), GATEWAY_HOST, GATEWAY_PORT (default 3100),
     GATEWAY_ADMIN_TOKEN (admin API Bearer token; random and printed if unset)`;

/** Parse the gateway sub-command's arguments (after `gateway`). Throws VncError(Config). */
export function parseGatewayArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): GatewayCliOptions {
  const v = new Map<string, string>();
  let demo = false;
  const valued = new Set(['host', 'port', 'state-file', 'rate-limit', 'tls-cert', 'tls-key', 'demo-agent-id']);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(argv[i]!);
    if (!m) throw new VncError(ErrorCode.Config, `unexpected argument ${JSON.stringify(argv[i])}\n${GATEWAY_USAGE}`);
    const name = m[1]!;
    if (name === 'demo' && m[2] === undefined) {
      demo = true;
      continue;
    }
    if (!valued.has(name)) throw new VncError(ErrorCode.Config, `unknown option --${name}\n${GATEWAY_USAGE}`);
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new VncError(ErrorCode.Config, `--${name} needs a value`);
    v.set(name, value);
  }
  const port = Number(v.get('port') ?? env.GATEWAY_PORT ?? '3100');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new VncError(ErrorCode.Config, '--port must be 0-65535');
  const rate = Number(v.get('rate-limit') ?? '100');
  if (!Number.isInteger(rate) || rate < 0) throw new VncError(ErrorCode.Config, '--rate-limit must be a non-negative integer');
  const opts: GatewayCliOptions = {
    host: v.get('host') ?? env.GATEWAY_HOST ?? '127.0.0.1',
    port,
    rateLimitPerMinute: rate,
    demo,
    demoAgentId: v.get('demo-agent-id') ?? 'demo-agent',
  };
  if (env.HMAC_SECRET) opts.hmacSecret = env.HMAC_SECRET;
  if (env.GATEWAY_ADMIN_TOKEN) opts.adminToken = env.GATEWAY_ADMIN_TOKEN;
  if (v.has('state-file')) opts.stateFile = v.get('state-file')!;
  const cert = v.get('tls-cert');
  const key = v.get('tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new VncError(ErrorCode.Config, '--tls-cert and --tls-key go together');
  if (cert && key) {
    try {
      opts.tls = { cert: readFileSync(cert), key: readFileSync(key) };
    } catch (err) {
      throw new VncError(ErrorCode.Config, `cannot read TLS files: ${(err as Error).message}`);
    }
  }
  return opts;
}

/**
 * Run the gateway in the foreground until SIGINT/SIGTERM; resolves with the exit code.
 * Secrets it generated are printed once on stdout (they are not logged).
 */
export async function runGatewayCommand(
  opts: GatewayCliOptions,
  logger: Logger,
  stdout: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): Promise<number> {
  if (!opts.hmacSecret || opts.hmacSecret.length < 32) {
    logger.error('HMAC_SECRET must be set to at least 32 characters (runners sign with it)');
    return 2;
  }
  const gw = await startReferenceGateway({ ...opts, logger });
  stdout(`gateway: listening on ${gw.url}`);
  if (!opts.adminToken) stdout(`gateway: admin token ${gw.adminToken}`);
  if (opts.demo) {
    const { token } = gw.createClient(opts.demoAgentId);
    const run = gw.createRun();
    stdout(`gateway: demo run ${run.id}`);
    stdout(`gateway: runner: AI_RUNNER_TOKEN=${token} VNC_CAPABILITY_TOKEN=${run.capabilityToken} vnc-runner --run-id ${run.id} --gateway-url ${gw.url} --agent-id ${opts.demoAgentId}`);
    stdout(`gateway: viewer: ${gw.viewerUrl(run)}`);
  }
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await gw.close();
  stdout('gateway: stopped');
  return 0;
}
