/**
 * A VNC server under measurement. Every server is driven from the outside through the same
 * benchmark client, on the same Xvfb and scene, one at a time (so they never compete for the
 * two cores), and stopped before the next one starts.
 */
import type { ResourceScope } from '../lib/processes.js';

/** What starting a server needs. */
export interface TargetContext {
  readonly display: string;
  /** DISPLAY and XAUTHORITY for child processes. */
  readonly env: NodeJS.ProcessEnv;
  /** Cookie file for servers that take it as an option (x11vnc `-auth`). */
  readonly xauthority: string;
  /** Owns spawned processes; a target's own `stop` is called first, the scope is the net. */
  readonly scope: ResourceScope;
  /** Frame rate for servers that let us choose (ours). */
  readonly framerate: number;
}

/** A running server. */
export interface RunningTarget {
  readonly host: string;
  readonly port: number;
  /** Version and settings that matter for the figures. */
  readonly details: string;
  /** Stops the server; bounded, idempotent. */
  stop(): Promise<void>;
}

export interface TargetFactory {
  /** Short name used in tables and metric records. */
  readonly id: string;
  /** Null when it can run here, else why not (e.g. "not installed"). */
  unavailableReason(): string | null;
  start(ctx: TargetContext): Promise<RunningTarget>;
}
