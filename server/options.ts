/**
 * The RFB server's options: one typed object, validated and defaulted once in
 * `resolveServerOptions`. Defaults and ranges are documented next to each field.
 */
import { ErrorCode, VncError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';

export interface ServerOptions {
  /** VNC-auth password (first 8 bytes used). Absent: security type None. */
  password?: string;
  /** A second password that gives a view-only session. */
  viewOnlyPassword?: string;
  /** Ignore all input from every client. Default false. */
  viewOnly: boolean;
  /** Polls per second while a client waits. Default 30, 1–240. */
  framerate: number;
  /** Largest ClientCutText accepted, bytes. Default 1 MiB. */
  maxCutTextBytes: number;
  /** Longest SetEncodings list accepted. Default 1024. */
  maxEncodings: number;
  /** Time allowed from connect to ClientInit. Default 10 s. */
  handshakeTimeoutMs: number;
  /** Delay before a failed authentication is answered. Default 1 s (grows per address, see auth throttle). */
  authFailureDelayMs: number;
  /** Look for the effect of input this soon after it. Default 8 ms. */
  inputDelayMs: number;
  /** Desktop name override (else the desktop's own). */
  desktopName?: string;
  /** Stop encoding for a client while this many bytes are still queued to it. Default 256 KiB. */
  maxQueuedBytes: number;
  logger: Logger;
}

export type ServerOptionsInput = Partial<ServerOptions>;

function checkRange(name: string, v: number, min: number, max: number): number {
  if (!Number.isFinite(v) || v < min || v > max) {
    throw new VncError(ErrorCode.Config, `${name} must be between ${min} and ${max} (got ${v})`);
  }
  return v;
}

export function resolveServerOptions(input: ServerOptionsInput = {}): ServerOptions {
  const o: ServerOptions = {
    viewOnly: input.viewOnly ?? false,
    framerate: checkRange('framerate', input.framerate ?? 30, 1, 240),
    maxCutTextBytes: checkRange('maxCutTextBytes', input.maxCutTextBytes ?? 1024 * 1024, 0, 256 * 1024 * 1024),
    maxEncodings: checkRange('maxEncodings', input.maxEncodings ?? 1024, 1, 65535),
    handshakeTimeoutMs: checkRange('handshakeTimeoutMs', input.handshakeTimeoutMs ?? 10_000, 100, 600_000),
    authFailureDelayMs: checkRange('authFailureDelayMs', input.authFailureDelayMs ?? 1000, 0, 60_000),
    inputDelayMs: checkRange('inputDelayMs', input.inputDelayMs ?? 8, 0, 1000),
    maxQueuedBytes: checkRange('maxQueuedBytes', input.maxQueuedBytes ?? 256 * 1024, 1024, 1 << 30),
    logger: input.logger ?? silentLogger,
  };
  if (input.password !== undefined) o.password = input.password;
  if (input.viewOnlyPassword !== undefined) o.viewOnlyPassword = input.viewOnlyPassword;
  if (input.desktopName !== undefined) o.desktopName = input.desktopName;
  if (o.password === '' ) throw new VncError(ErrorCode.Config, 'password must not be empty');
  if (o.viewOnlyPassword !== undefined && o.password === undefined) {
    throw new VncError(ErrorCode.Config, 'a view-only password needs a full-access password too');
  }
  return Object.freeze(o);
}
