/**
 * In-memory state of the reference gateway: clients (agents with a hashed client token), runs
 * (with their capability and viewer tokens), the command queue and a bounded event log.
 * Optionally mirrored to a JSON file so a restarted gateway keeps its runs and tokens.
 * Nonces and live tunnels are deliberately not persisted.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ErrorCode, VncError } from '../../core/errors.js';
import { sha256Hex } from '../signing.js';

export type RunStatus = 'pending' | 'running' | 'done' | 'failed';

export interface RunRecord {
  id: string;
  /** Secret of the runner for this run (64 hex). */
  capabilityToken: string;
  /** Secret of viewers of this run: REST VNC routes and the viewer side of the tunnel. */
  viewerToken: string;
  workerType: string;
  command: string;
  status: RunStatus;
  metadata: Record<string, unknown>;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  claimedBy?: string;
  claimExpiresAt?: number;
}

export interface ClientRecord {
  id: string;
  agentId: string;
  displayName: string;
  /** sha256 hex of the client token; the token itself is never stored. */
  tokenHash: string;
  version: string | null;
  capabilities: string[];
  createdAt: number;
  lastSeenAt?: number;
}

export interface CommandRecord {
  id: string;
  runId: string;
  command: string;
  arguments: string;
  status: 'pending' | 'completed';
  /** Unix seconds, always an integer (unlike the original's mixed TEXT/INTEGER, G10). */
  createdAt: number;
  ackedAt?: number;
  result?: string | null;
  error?: string | null;
}

export interface EventRecord {
  id: number;
  runId: string;
  type: string;
  data: string;
  sequence: number;
  timestamp: number;
}

export interface StoreOptions {
  /** Mirror clients, runs and commands to this JSON file (written atomically on change). */
  stateFile?: string;
  /** Events kept per run (oldest dropped first). Default 1000. */
  maxEventsPerRun?: number;
  /** Pending commands per run; enqueueing beyond it fails. Default 100. */
  maxPendingCommandsPerRun?: number;
  now?: () => number;
}

interface PersistedState {
  version: 1;
  clients: ClientRecord[];
  runs: RunRecord[];
  commands: CommandRecord[];
  nextEventId: number;
}

/** 12-character URL-safe id, like the original's nanoid(12). */
export function newId(): string {
  return randomBytes(9).toString('base64url');
}

/** 32 random bytes as 64 hex: capability, viewer and client tokens. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** Constant-time string equality (defect G7: the original used `!==`). */
export function safeEqual(a: string, b: string): boolean {
  const ha = Buffer.from(sha256Hex(a), 'hex');
  const hb = Buffer.from(sha256Hex(b), 'hex');
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

export class GatewayStore {
  private readonly clients = new Map<string, ClientRecord>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly commands = new Map<string, CommandRecord>();
  private readonly events = new Map<string, EventRecord[]>();
  private nextEventId = 1;
  private readonly now: () => number;

  constructor(private readonly opts: StoreOptions = {}) {
    this.now = opts.now ?? Date.now;
    if (opts.stateFile) this.load(opts.stateFile);
  }

  // ---- clients -------------------------------------------------------------------------------

  /** Create an agent and return its client token (shown once, stored only as a hash). */
  createClient(input: { agentId: string; displayName?: string; token?: string }): { client: ClientRecord; token: string } {
    if (!input.agentId || input.agentId.length > 100) throw new VncError(ErrorCode.Config, 'agentId must be 1-100 characters');
    for (const c of this.clients.values()) {
      if (c.agentId === input.agentId) throw new VncError(ErrorCode.Config, `agent ${input.agentId} already exists`);
    }
    const token = input.token ?? newToken();
    const client: ClientRecord = {
      id: newId(),
      agentId: input.agentId,
      displayName: input.displayName ?? input.agentId,
      tokenHash: sha256Hex(token),
      version: null,
      capabilities: [],
      createdAt: this.nowS(),
    };
    this.clients.set(client.id, client);
    this.save();
    return { client, token };
  }

  /** The client whose agent id and token match, or undefined (caller answers 403). */
  authenticateClient(agentId: string, token: string | undefined): ClientRecord | undefined {
    if (!token) return undefined;
    for (const c of this.clients.values()) {
      if (c.agentId === agentId) return safeEqual(c.tokenHash, sha256Hex(token)) ? c : undefined;
    }
    return undefined;
  }

  updateClient(client: ClientRecord, patch: Partial<Pick<ClientRecord, 'displayName' | 'version' | 'capabilities'>>): void {
    Object.assign(client, patch);
    client.lastSeenAt = this.nowS();
    this.save();
  }

  touchClient(client: ClientRecord): void {
    // Heartbeats are frequent; they are not worth a disk write.
    client.lastSeenAt = this.nowS();
  }

  /** online / degraded / offline from the last heartbeat; thresholds leave room for one missed beat (G12). */
  clientStatus(client: ClientRecord): 'online' | 'degraded' | 'offline' {
    if (client.lastSeenAt === undefined) return 'offline';
    const age = this.nowS() - client.lastSeenAt;
    return age <= 75 ? 'online' : age <= 150 ? 'degraded' : 'offline';
  }

  listClients(): ClientRecord[] {
    return [...this.clients.values()];
  }

  // ---- runs ----------------------------------------------------------------------------------

  /** Create a run. Ids and tokens may be given (tests that restart a gateway re-create the same run). */
  createRun(input: {
    id?: string;
    capabilityToken?: string;
    viewerToken?: string;
    workerType?: string;
    command?: string;
    metadata?: Record<string, unknown>;
  } = {}): RunRecord {
    const id = input.id ?? newId();
    if (!/^[\x21-\x7e]{1,200}$/.test(id) || id.includes('/')) throw new VncError(ErrorCode.Config, 'invalid run id');
    if (this.runs.has(id)) throw new VncError(ErrorCode.Config, `run ${id} already exists`);
    const run: RunRecord = {
      id,
      capabilityToken: input.capabilityToken ?? newToken(),
      viewerToken: input.viewerToken ?? newToken(),
      workerType: input.workerType ?? 'vnc',
      command: input.command ?? 'vnc',
      status: 'pending',
      metadata: input.metadata ?? {},
      createdAt: this.nowS(),
    };
    this.runs.set(id, run);
    this.save();
    return run;
  }

  getRun(id: string): RunRecord | undefined {
    return this.runs.get(id);
  }

  listRuns(): RunRecord[] {
    return [...this.runs.values()];
  }

  setRunStatus(run: RunRecord, patch: Partial<Pick<RunRecord, 'status' | 'startedAt' | 'finishedAt' | 'exitCode'>>): void {
    Object.assign(run, patch);
    this.save();
  }

  /** Oldest pending, unclaimed (or lease-expired) run for an agent; null if none. */
  claimRun(agentId: string, leaseSeconds: number): RunRecord | null {
    const now = this.nowS();
    const candidates = [...this.runs.values()]
      .filter((r) => r.status === 'pending' && (r.claimedBy === undefined || (r.claimExpiresAt ?? 0) < now))
      .sort((a, b) => a.createdAt - b.createdAt);
    const run = candidates[0];
    if (!run) return null;
    run.claimedBy = agentId;
    run.claimExpiresAt = now + leaseSeconds;
    this.save();
    return run;
  }

  // ---- commands ------------------------------------------------------------------------------

  enqueueCommand(runId: string, command: string, args = '{}'): CommandRecord {
    if (!this.runs.has(runId)) throw new VncError(ErrorCode.Config, `unknown run ${runId}`);
    const limit = this.opts.maxPendingCommandsPerRun ?? 100;
    if (this.pendingCommands(runId).length >= limit) {
      throw new VncError(ErrorCode.TooLarge, `run ${runId} already has ${limit} pending commands`);
    }
    const cmd: CommandRecord = {
      id: newId(),
      runId,
      command,
      arguments: args,
      status: 'pending',
      createdAt: this.nowS(),
    };
    this.commands.set(cmd.id, cmd);
    this.save();
    return cmd;
  }

  /** Pending commands of a run in creation order (Map keeps insertion order). */
  pendingCommands(runId: string): CommandRecord[] {
    return [...this.commands.values()].filter((c) => c.runId === runId && c.status === 'pending');
  }

  getCommand(id: string): CommandRecord | undefined {
    return this.commands.get(id);
  }

  /** Mark completed; false if no such command for that run. */
  ackCommand(runId: string, id: string, result: string | null, error: string | null): CommandRecord | undefined {
    const cmd = this.commands.get(id);
    if (!cmd || cmd.runId !== runId) return undefined;
    cmd.status = 'completed';
    cmd.ackedAt = this.nowS();
    cmd.result = result || null;
    cmd.error = error || null;
    this.save();
    return cmd;
  }

  // ---- events --------------------------------------------------------------------------------

  addEvent(runId: string, type: string, data: string, sequence: number): EventRecord {
    const ev: EventRecord = { id: this.nextEventId++, runId, type, data, sequence, timestamp: this.nowS() };
    let list = this.events.get(runId);
    if (!list) this.events.set(runId, (list = []));
    list.push(ev);
    const max = this.opts.maxEventsPerRun ?? 1000;
    if (list.length > max) list.splice(0, list.length - max);
    return ev;
  }

  listEvents(runId: string): EventRecord[] {
    return [...(this.events.get(runId) ?? [])];
  }

  // ---- persistence ---------------------------------------------------------------------------

  private nowS(): number {
    return Math.floor(this.now() / 1000);
  }

  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new VncError(ErrorCode.Config, `cannot read state file ${file}`, { cause: err });
    }
    let state: PersistedState;
    try {
      state = JSON.parse(text) as PersistedState;
    } catch (err) {
      throw new VncError(ErrorCode.Config, `state file ${file} is not valid JSON`, { cause: err });
    }
    if (state.version !== 1) throw new VncError(ErrorCode.Config, `state file ${file} has an unknown version`);
    for (const c of state.clients ?? []) this.clients.set(c.id, c);
    for (const r of state.runs ?? []) this.runs.set(r.id, r);
    for (const c of state.commands ?? []) this.commands.set(c.id, c);
    this.nextEventId = state.nextEventId ?? 1;
  }

  private save(): void {
    const file = this.opts.stateFile;
    if (!file) return;
    const state: PersistedState = {
      version: 1,
      clients: [...this.clients.values()],
      runs: [...this.runs.values()],
      // Completed commands are history; keep the file small.
      commands: [...this.commands.values()].filter((c) => c.status === 'pending'),
      nextEventId: this.nextEventId,
    };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, file);
  }
}
