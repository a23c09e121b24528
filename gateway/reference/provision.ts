/**
 * One call to get a runnable VNC run out of a reference gateway: an agent with its client token,
 * a run with its capability and viewer tokens, and the runner's options / argv / env ready to
 * use in-process or for a spawned `vnc-runner`. Meant for tests and local demos.
 */
import type { RunnerOptions } from '../runner-options.js';
import { CAPABILITY_TOKEN_ENV } from '../runner-options.js';
import type { ReferenceGateway } from './server.js';
import type { RunRecord } from './store.js';

export interface ProvisionedRun {
  run: RunRecord;
  agentId: string;
  clientToken: string;
  /** For `runRunner` in-process; fast polling unless overridden. */
  runnerOptions: RunnerOptions;
  /** Orchestrator-style argv (the capability token goes through env, not argv). */
  runnerArgv: string[];
  /** Environment for a spawned runner (merge into process.env). Contains secrets. */
  runnerEnv: Record<string, string>;
  /** Viewer WebSocket URL with the viewer token. */
  viewerWsUrl: string;
  /** Viewer page URL, token in the fragment. */
  viewerUrl: string;
}

export interface ProvisionOptions {
  /** Must equal the gateway's secret. */
  hmacSecret: string;
  agentId?: string;
  /** Reuse an existing agent: pass its client token (the agent must already exist). */
  existingClientToken?: string;
  runnerOverrides?: Partial<RunnerOptions>;
}

export function provisionRun(gw: ReferenceGateway, opts: ProvisionOptions): ProvisionedRun {
  const agentId = opts.agentId ?? `agent-${Math.random().toString(36).slice(2, 10)}`;
  const clientToken = opts.existingClientToken ?? gw.createClient(agentId).token;
  const run = gw.createRun();
  const runnerOptions: RunnerOptions = {
    runId: run.id,
    capabilityToken: run.capabilityToken,
    gatewayUrl: gw.url,
    hmacSecret: opts.hmacSecret,
    clientToken,
    agentId,
    agentLabel: `vnc-runner@${agentId}`,
    displayMode: 'screen',
    insecure: false,
    pollIntervalMs: 200,
    heartbeatIntervalMs: 30_000,
    requestTimeoutMs: 5_000,
    tunnelConnectAttempts: 5,
    registerDeadlineMs: 30_000,
    version: '0.1.0',
    ...opts.runnerOverrides,
  };
  return {
    run,
    agentId,
    clientToken,
    runnerOptions,
    runnerArgv: ['--run-id', run.id, '--gateway-url', gw.url, '--agent-id', agentId, '--agent-label', runnerOptions.agentLabel],
    runnerEnv: {
      HMAC_SECRET: opts.hmacSecret,
      AI_RUNNER_TOKEN: clientToken,
      [CAPABILITY_TOKEN_ENV]: run.capabilityToken,
      VNC_COMMAND_POLL_INTERVAL: String(runnerOptions.pollIntervalMs / 1000),
    },
    viewerWsUrl: gw.viewerWsUrl(run),
    viewerUrl: gw.viewerUrl(run),
  };
}
