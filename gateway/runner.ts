/**
 * Runner lifecycle against the gateway (gateway-protocol.md §8–9), fixing the Python runner's
 * defects on our side: streaming never blocks polling (P11), `__STOP__` is acked before we exit
 * (P12), 429/5xx are retried with capped backoff honouring Retry-After (P13), stdout carries one
 * line per lifecycle step (P19), and the run gets a `finished` marker.
 *
 *   register → started marker → { poll loop ‖ heartbeat loop ‖ at most one stream } → finished
 */
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/log.js';
import { isVncError } from '../core/errors.js';
import { Backoff, DEFAULT_BACKOFF, sleep, type BackoffPolicy } from './backoff.js';
import {
  classifyCommand,
  CommandLedger,
  UNSUPPORTED_COMMAND_ERROR,
  type GatewayCommand,
} from './commands.js';
import { GatewayHttpClient, GatewayHttpError, type AckBody, type EventType } from './http-client.js';
import type { DisplayMode, RunnerOptions } from './runner-options.js';
import type { SigningCredentials } from './signing.js';
import { openTunnel, type TunnelOptions, type WebSocketDuplex } from './tunnel.js';

/** What the RFB side learns about a stream it is asked to serve. No secrets. */
export interface StreamInfo {
  runId: string;
  /** Id of the `__START_VNC_STREAM__` command that opened this stream. */
  commandId: string;
  /** The gateway base URL (no credentials in it). */
  gatewayUrl: string;
  displayMode: DisplayMode;
  width?: number;
  height?: number;
  framerate?: number;
}

/**
 * Serves one RFB session over `stream` and resolves when that session has ended (the stream
 * closed or the server gave up). It should not reject for a peer's fault; a rejection is logged.
 */
export type ServeRfb = (stream: Duplex, info: StreamInfo) => Promise<void>;

/** Exit codes: 0 clean stop (run `done`), 1 runtime failure (run `failed`), 2 bad configuration. */
export const RunnerExit = { Ok: 0, Failure: 1, Config: 2 } as const;

export const RUNNER_CAPABILITIES = ['vnc_access', 'remote_desktop', 'mouse_control', 'keyboard_control'] as const;

/** Optional seams, mainly for tests and for the CLI. */
export interface RunnerHooks {
  /** Aborting it is a graceful stop (as SIGTERM). Without it, SIGTERM/SIGINT handlers are installed. */
  signal?: AbortSignal;
  /** Receives the one-line lifecycle messages; default process.stdout. */
  stdout?: (line: string) => void;
  /** Real framebuffer size for the `started` marker, if the caller knows it already. */
  screenSize?: () => { width: number; height: number } | undefined;
  random?: () => number;
  backoff?: BackoffPolicy;
  tunnel?: Partial<Pick<TunnelOptions, 'connectTimeoutMs' | 'pingIntervalMs' | 'pongTimeoutMs' | 'maxOutboundMessageBytes'>>;
  /** How long after the tunnel closed we wait for `serveRfb` to settle. Default 5 s. */
  serveGraceMs?: number;
  /** Consecutive auth/validation failures of the poll before giving up (exit 1). Default 10. */
  maxConsecutivePollRefusals?: number;
}

/**
 * Run until `__STOP__`, a signal, or a fatal error. Resolves with the process exit code; never
 * rejects for gateway trouble.
 */
export async function runRunner(
  options: RunnerOptions,
  serveRfb: ServeRfb,
  logger: Logger,
  hooks: RunnerHooks = {},
): Promise<number> {
  const runner = new Runner(options, serveRfb, logger, hooks);
  return runner.run();
}

type StreamState = 'idle' | 'connecting' | 'streaming';

class Runner {
  private readonly client: GatewayHttpClient;
  private readonly creds: SigningCredentials;
  private readonly stopCtl = new AbortController();
  private readonly ledger = new CommandLedger();
  private readonly policy: BackoffPolicy;
  private readonly random: () => number;
  private readonly out: (line: string) => void;
  private exitCode: number = RunnerExit.Ok;
  private stopReason = '';
  private stopRequestedByCommand = false;
  private stopSignalName: string | null = null;
  private sequence = 0;
  private streamState: StreamState = 'idle';
  private tunnel: WebSocketDuplex | undefined;
  private streamTask: Promise<void> | undefined;

  constructor(
    private readonly o: RunnerOptions,
    private readonly serveRfb: ServeRfb,
    private readonly log: Logger,
    private readonly hooks: RunnerHooks,
  ) {
    this.creds = {
      hmacSecret: o.hmacSecret,
      runId: o.runId,
      capabilityToken: o.capabilityToken,
      clientToken: o.clientToken,
    };
    this.client = new GatewayHttpClient({
      gatewayUrl: o.gatewayUrl,
      credentials: this.creds,
      insecure: o.insecure,
      requestTimeoutMs: o.requestTimeoutMs,
      userAgent: `vnc-runner/${o.version}`,
    });
    this.policy = hooks.backoff ?? DEFAULT_BACKOFF;
    this.random = hooks.random ?? Math.random;
    this.out = hooks.stdout ?? ((line) => process.stdout.write(line + '\n'));
  }

  private get stopping(): boolean {
    return this.stopCtl.signal.aborted;
  }

  async run(): Promise<number> {
    const detach = this.attachStopSources();
    try {
      if (!(await this.startUp())) return this.exitCode;
      const loops = Promise.all([this.pollLoop(), this.heartbeatLoop()]);
      await loops;
      return await this.shutDown();
    } finally {
      detach();
      await this.client.close();
    }
  }

  /** Register and announce the run. Returns false if we must not go on. */
  private async startUp(): Promise<boolean> {
    const o = this.o;
    this.log.info('starting', { runId: o.runId, gateway: o.gatewayUrl, agentId: o.agentId });
    try {
      await this.withStartupRetry('register', () =>
        this.client.register({
          displayName: o.agentLabel,
          agentId: o.agentId,
          capabilities: [...RUNNER_CAPABILITIES],
          version: o.version,
        }),
      );
      if (this.stopping) return this.earlyStop();
      this.out(`vnc-runner: registered agent=${o.agentId}`);
      await this.withStartupRetry('started marker', () =>
        this.client.sendEvent('marker', JSON.stringify(this.startedMarker()), this.sequence++),
      );
      if (this.stopping) return this.earlyStop();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log.error('start-up failed', { error: msg, hint: startupHint(err) });
      this.out(`vnc-runner: failed: ${msg}`);
      this.exitCode = RunnerExit.Failure;
      return false;
    }
    this.out(`vnc-runner: started run=${o.runId}`);
    return true;
  }

  private earlyStop(): false {
    this.out(`vnc-runner: stopped before start-up completed (${this.stopReason})`);
    return false;
  }

  private startedMarker(): Record<string, unknown> {
    const size = this.hooks.screenSize?.() ??
      (this.o.width && this.o.height ? { width: this.o.width, height: this.o.height } : undefined);
    const marker: Record<string, unknown> = {
      event: 'started',
      command: 'vnc-runner',
      workerType: 'vnc',
      displayMode: this.o.displayMode,
      capabilities: [...RUNNER_CAPABILITIES],
      agentId: this.o.agentId,
      version: this.o.version,
    };
    if (size) marker.resolution = `${size.width}x${size.height}`;
    return marker;
  }

  /** Retries transient failures within `registerDeadlineMs`; anything else is fatal at once. */
  private async withStartupRetry(what: string, fn: () => Promise<unknown>): Promise<void> {
    const deadline = Date.now() + this.o.registerDeadlineMs;
    const backoff = new Backoff(this.policy, this.random);
    for (;;) {
      try {
        await fn();
        return;
      } catch (err) {
        if (!(err instanceof GatewayHttpError) || !err.transient) throw err;
        const delay = backoff.next(err.retryAfterMs);
        if (Date.now() + delay > deadline) {
          throw new GatewayHttpError(
            `${what}: gateway still failing after ${Math.round(this.o.registerDeadlineMs / 1000)} s (${err.message})`,
            err.kind,
            err.status,
          );
        }
        this.log.warn(`${what} failed, retrying`, { error: err.message, retryInMs: delay });
        await sleep(delay, this.stopCtl.signal);
        if (this.stopping) return;
      }
    }
  }

  private async pollLoop(): Promise<void> {
    const backoff = new Backoff(this.policy, this.random);
    const maxRefusals = this.hooks.maxConsecutivePollRefusals ?? 10;
    let refusals = 0;
    while (!this.stopping) {
      let delay = this.o.pollIntervalMs;
      try {
        const commands = await this.client.pollCommands();
        if (backoff.consecutiveFailures > 0) this.log.info('command polling recovered', { failures: backoff.consecutiveFailures });
        backoff.reset();
        refusals = 0;
        for (const cmd of commands) {
          if (this.stopping) break;
          await this.handleCommand(cmd);
        }
      } catch (err) {
        if (this.stopping) break;
        const msg = err instanceof Error ? err.message : String(err);
        const retryAfter = err instanceof GatewayHttpError ? err.retryAfterMs : undefined;
        delay = Math.max(delay, backoff.next(retryAfter));
        if (err instanceof GatewayHttpError && !err.transient) {
          refusals++;
          this.log.error('command poll refused', { error: msg, hint: startupHint(err), attempt: refusals });
          if (refusals >= maxRefusals) {
            this.requestStop(`gateway refused ${refusals} polls in a row: ${msg}`, RunnerExit.Failure);
            break;
          }
        } else {
          // Log the first failure and then every tenth: an outage must not flood stderr.
          const n = backoff.consecutiveFailures;
          if (n === 1 || n % 10 === 0) this.log.warn('command poll failed', { error: msg, failures: n, retryInMs: delay });
        }
      }
      await sleep(delay, this.stopCtl.signal);
    }
  }

  private async heartbeatLoop(): Promise<void> {
    while (!this.stopping) {
      await sleep(this.o.heartbeatIntervalMs, this.stopCtl.signal);
      if (this.stopping) break;
      try {
        await this.client.heartbeat(this.o.agentId);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        this.log.warn('heartbeat failed', { error: msg });
        if (err instanceof GatewayHttpError && err.retryAfterMs !== undefined) {
          await sleep(Math.min(err.retryAfterMs, this.policy.retryAfterCapMs), this.stopCtl.signal);
        }
      }
    }
  }

  private async handleCommand(cmd: GatewayCommand): Promise<void> {
    if (!this.ledger.claim(cmd.id)) return;
    const kind = classifyCommand(cmd.command);
    this.log.info('command', { id: cmd.id, command: kind === 'unknown' ? cmd.command.slice(0, 40) : cmd.command });
    switch (kind) {
      case 'start':
        if (this.streamState !== 'idle') {
          // Never a second tunnel: the viewer already has (or is getting) the one stream.
          await this.ackOrRelease(cmd.id, { result: `VNC stream already ${this.streamState === 'streaming' ? 'active' : 'starting'}`, error: null });
          return;
        }
        this.streamState = 'connecting';
        this.streamTask = this.stream(cmd.id).finally(() => {
          this.streamState = 'idle';
          this.tunnel = undefined;
          this.streamTask = undefined;
        });
        return;
      case 'stop': {
        // Ack first (P12): once we start tearing down, nothing guarantees another request.
        const acked = await this.ackWithRetry(cmd.id, { result: 'Stopping', error: null });
        if (!acked) this.log.error('could not ack __STOP__; stopping anyway', { id: cmd.id });
        this.stopRequestedByCommand = true;
        this.requestStop('__STOP__ command', RunnerExit.Ok);
        return;
      }
      default:
        await this.ackOrRelease(cmd.id, { result: null, error: UNSUPPORTED_COMMAND_ERROR });
    }
  }

  /** Open the tunnel (with retries), ack, serve one RFB session, go back to idle. */
  private async stream(commandId: string): Promise<void> {
    const backoff = new Backoff(this.policy, this.random);
    let tunnel: WebSocketDuplex | undefined;
    let lastError = '';
    for (let attempt = 1; attempt <= this.o.tunnelConnectAttempts && !this.stopping; attempt++) {
      try {
        tunnel = await openTunnel({
          gatewayUrl: this.o.gatewayUrl,
          credentials: this.creds,
          insecure: this.o.insecure,
          userAgent: `vnc-runner/${this.o.version}`,
          ...this.hooks.tunnel,
        });
        break;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        const transient = err instanceof GatewayHttpError ? err.transient : true;
        this.log.warn('tunnel connect failed', { error: lastError, attempt });
        if (!transient || attempt === this.o.tunnelConnectAttempts) break;
        await sleep(backoff.next(err instanceof GatewayHttpError ? err.retryAfterMs : undefined), this.stopCtl.signal);
      }
    }
    if (!tunnel || this.stopping) {
      tunnel?.closeTunnel(1001, 'runner stopping');
      const error = this.stopping ? 'runner is stopping' : `could not open the VNC tunnel: ${lastError}`;
      await this.ackOrRelease(commandId, { result: null, error });
      if (!this.stopping) await this.event('error', error);
      return;
    }

    this.tunnel = tunnel;
    this.streamState = 'streaming';
    // Our own listener, so a tunnel error can never be an unhandled 'error' event (which would
    // kill the process) whatever the RFB side does with the stream.
    tunnel.on('error', (err: Error) => this.log.debug('tunnel error', { error: err.message }));
    this.out('vnc-runner: stream up');
    const closed = new Promise<void>((resolve) => tunnel.once('close', () => resolve()));
    const acked = this.ackOrRelease(commandId, { result: 'VNC streaming started', error: null });
    void this.event('info', 'VNC stream started');
    const info: StreamInfo = {
      runId: this.o.runId,
      commandId,
      gatewayUrl: this.o.gatewayUrl,
      displayMode: this.o.displayMode,
    };
    if (this.o.width !== undefined) info.width = this.o.width;
    if (this.o.height !== undefined) info.height = this.o.height;
    if (this.o.framerate !== undefined) info.framerate = this.o.framerate;

    const served = Promise.resolve()
      .then(() => this.serveRfb(tunnel, info))
      .catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        this.log.error('RFB session failed', { error: msg });
        void this.event('error', `RFB session failed: ${msg}`);
      });
    // Whichever ends first ends the stream; a server that misses the close gets a grace period.
    const grace = this.hooks.serveGraceMs ?? 5_000;
    await Promise.race([
      served,
      closed.then(() => Promise.race([served, sleep(grace)])),
    ]);
    if (!tunnel.destroyed) tunnel.closeTunnel(1000, 'session ended');
    await Promise.race([closed, sleep(2_000)]);
    if (!tunnel.destroyed) {
      tunnel.terminate();
      tunnel.destroy();
    }
    await acked;
    const why = tunnel.closeInfo ? ` code=${tunnel.closeInfo.code}` : '';
    this.out(`vnc-runner: stream ended${why}`);
    if (!this.stopping) void this.event('info', `VNC stream ended${why}`);
  }

  private async ackOrRelease(id: string, body: AckBody): Promise<void> {
    if (!(await this.ackWithRetry(id, body))) this.ledger.release(id);
  }

  /** Ack with a few retries for transient failures; true when the gateway took it. */
  private async ackWithRetry(id: string, body: AckBody, attempts = 3): Promise<boolean> {
    const backoff = new Backoff(this.policy, this.random);
    for (let i = 1; ; i++) {
      try {
        await this.client.ack(id, body);
        return true;
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        const transient = err instanceof GatewayHttpError && err.transient;
        this.log.warn('ack failed', { id, error: msg, attempt: i });
        if (!transient || i >= attempts) return false;
        await sleep(backoff.next(err instanceof GatewayHttpError ? err.retryAfterMs : undefined));
      }
    }
  }

  /** Best-effort event; failures are only logged (stderr), never fatal. */
  private async event(type: EventType, data: string): Promise<void> {
    try {
      await this.client.sendEvent(type, data, this.sequence++);
    } catch (err) {
      this.log.debug('event not delivered', { type, error: err instanceof Error ? err.message : String(err) });
    }
  }

  private requestStop(reason: string, exitCode: number): void {
    if (this.stopping) return;
    this.stopReason = reason;
    this.exitCode = exitCode;
    this.out(`vnc-runner: stopping (${reason})`);
    this.stopCtl.abort();
  }

  private async shutDown(): Promise<number> {
    const tunnel = this.tunnel;
    if (tunnel) tunnel.closeTunnel(1001, 'runner stopping');
    if (this.streamTask) await Promise.race([this.streamTask, sleep(5_000)]);
    const finished = {
      event: 'finished',
      exitCode: this.exitCode,
      signal: this.stopSignalName,
      stopRequested: this.stopRequestedByCommand,
      workerType: 'vnc',
      reason: this.stopReason,
    };
    if (this.exitCode !== RunnerExit.Ok) await this.event('error', this.stopReason);
    // One attempt, at most 3 s: shutting down must not hang on a dead gateway (orchestrators
    // follow SIGTERM with SIGKILL after a couple of seconds).
    await Promise.race([this.event('marker', JSON.stringify(finished)), sleep(3_000)]);
    this.out(`vnc-runner: stopped exit=${this.exitCode}`);
    return this.exitCode;
  }

  /** Wire SIGTERM/SIGINT (or the caller's AbortSignal) to a graceful stop. */
  private attachStopSources(): () => void {
    const signal = this.hooks.signal;
    if (signal) {
      const onAbort = () => this.requestStop('stop requested by caller', RunnerExit.Ok);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      return () => signal.removeEventListener('abort', onAbort);
    }
    const onSignal = (name: NodeJS.Signals) => {
      this.stopSignalName = name;
      this.requestStop(name, RunnerExit.Ok);
    };
    // `once`: a second Ctrl-C falls through to node's default and kills us immediately.
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    return () => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
    };
  }
}

/** A human hint for the usual causes of a refused request. */
function startupHint(err: unknown): string | undefined {
  if (!(err instanceof GatewayHttpError) || err.kind !== 'http') {
    return isVncError(err) ? undefined : 'unexpected error';
  }
  switch (err.status) {
    case 401:
      return 'signature refused: check HMAC_SECRET and that the clock is within 300 s of the gateway';
    case 403:
      return 'credentials refused: check --agent-id with AI_RUNNER_TOKEN, and the capability token for this run';
    case 404:
      return 'endpoint or run not found: check --gateway-url and --run-id';
    default:
      return undefined;
  }
}
