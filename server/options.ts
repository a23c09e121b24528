/**
 * The RFB server's options: one typed object, validated and defaulted once in
 * `resolveServerOptions`. Defaults and ranges are documented next to each field.
 */
import { ErrorCode, VncError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/log.js';
import { resolveServerTls, type ServerTls, type TlsCredentials } from './tls.js';
import type { AuthThrottleOptions } from './auth-throttle.js';

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
  /**
   * Per-address auth-failure throttle (auth-throttle.ts). `baseDelayMs` defaults to
   * `authFailureDelayMs`; the rest to the throttle's defaults (block after 10 for 60 s).
   */
  authThrottle?: Readonly<Partial<AuthThrottleOptions>>;
  /**
   * TLS identity. When set, TCP clients are offered VeNCrypt (X509 subtypes) first, before the
   * unencrypted types. WebSocket and tunnel connections never get VeNCrypt: their transport
   * (wss, the gateway's https) carries the encryption, and browsers cannot do TLS inside RFB.
   */
  tls?: ServerTls;
  /** TCP clients may only use VeNCrypt (no unencrypted RFB). Needs `tls`. Default false. */
  requireTls: boolean;
  /** The user name VeNCrypt X509Plain requires; absent: any user name, the password decides. */
  plainUsername?: string;
  logger: Logger;
}

/** What callers pass: every field optional; TLS as key + certificate or already resolved. */
export type ServerOptionsInput = Partial<Omit<ServerOptions, 'tls'>> & { tls?: TlsCredentials | ServerTls };

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
    requireTls: input.requireTls ?? false,
    logger: input.logger ?? silentLogger,
  };
  if (input.tls !== undefined) o.tls = 'secureContext' in input.tls ? input.tls : resolveServerTls(input.tls);
  if (o.requireTls && o.tls === undefined) throw new VncError(ErrorCode.Config, 'requireTls needs a TLS key and certificate');
  if (input.plainUsername !== undefined) {
    if (input.plainUsername === '' || Buffer.byteLength(input.plainUsername, 'utf8') > 1024) {
      throw new VncError(ErrorCode.Config, 'plainUsername must be 1 to 1024 bytes');
    }
    o.plainUsername = input.plainUsername;
  }
  if (input.authThrottle !== undefined) o.authThrottle = Object.freeze({ ...input.authThrottle });
  if (input.password !== undefined) o.password = input.password;
  if (input.viewOnlyPassword !== undefined) o.viewOnlyPassword = input.viewOnlyPassword;
  if (input.desktopName !== undefined) o.desktopName = input.desktopName;
  if (o.password === '' ) throw new VncError(ErrorCode.Config, 'password must not be empty');
  if (o.viewOnlyPassword !== undefined && o.password === undefined) {
    throw new VncError(ErrorCode.Config, 'a view-only password needs a full-access password too');
  }
  return Object.freeze(o);
}
