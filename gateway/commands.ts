/**
 * Gateway commands: parsing the poll response and deciding what a runner does with each one
 * (gateway-protocol.md §4). Pure; the runner owns the side effects.
 */
import { ErrorCode, VncError } from '../core/errors.js';

export const START_VNC_STREAM = '__START_VNC_STREAM__';
export const STOP = '__STOP__';

/** Ack error for anything that is not ours; acked so the gateway stops re-delivering it. */
export const UNSUPPORTED_COMMAND_ERROR = 'VNC runner does not execute commands';

/** Bounds on what one poll may hand us; a poll is a short JSON array in practice. */
export const MAX_COMMANDS_PER_POLL = 256;
export const MAX_COMMAND_ID_LENGTH = 256;
export const MAX_COMMAND_LENGTH = 64 * 1024;

/** One pending command as the gateway lists it. */
export interface GatewayCommand {
  id: string;
  command: string;
  /** Only newer gateways send it; kept for logging, never interpreted. */
  arguments?: string;
}

export type CommandKind = 'start' | 'stop' | 'unknown';

export function classifyCommand(command: string): CommandKind {
  if (command === START_VNC_STREAM) return 'start';
  if (command === STOP) return 'stop';
  return 'unknown';
}

/**
 * Accept a bare array (the gateway's format) or `{commands: [...]}` (what the Python client also
 * tolerated). Entries without a usable id are dropped: without an id we could not ack them.
 */
export function parseCommandList(body: unknown): GatewayCommand[] {
  let list: unknown = body;
  if (body === undefined || body === null) return [];
  if (!Array.isArray(list) && typeof list === 'object' && list !== null && 'commands' in list) {
    list = (list as { commands: unknown }).commands;
  }
  if (!Array.isArray(list)) {
    throw new VncError(ErrorCode.Gateway, 'command poll returned neither an array nor {commands: [...]}');
  }
  const out: GatewayCommand[] = [];
  for (const item of list.slice(0, MAX_COMMANDS_PER_POLL)) {
    if (typeof item !== 'object' || item === null) continue;
    const { id, command, arguments: args } = item as Record<string, unknown>;
    if (typeof id !== 'string' || id === '' || id.length > MAX_COMMAND_ID_LENGTH) continue;
    if (typeof command !== 'string' || command.length > MAX_COMMAND_LENGTH) continue;
    const cmd: GatewayCommand = { id, command };
    if (typeof args === 'string') cmd.arguments = args.slice(0, MAX_COMMAND_LENGTH);
    out.push(cmd);
  }
  return out;
}

/**
 * Remembers which command ids are being handled or were acked. The gateway re-lists a command
 * until its ack lands, so without this an ack in flight would run the command twice. Bounded:
 * the oldest ids are forgotten first (by then the gateway has long stopped listing them).
 */
export class CommandLedger {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 1024) {}

  /** True if the id was new and is now claimed by the caller. */
  claim(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return true;
  }

  /** Forget an id whose ack failed so the next poll handles (and acks) it again. */
  release(id: string): void {
    this.ids.delete(id);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}
