/**
 * The server side of the RFB handshake (rfbproto "Protocol Messages" → "Handshaking Messages"
 * and "ClientInit"), as an explicit state machine with no I/O: `start()` gives the first bytes
 * to send, each `receive(queue)` consumes what it can and says what to send and whether the
 * handshake is pending, done or failed. Bytes the client pipelines after ClientInit stay in the
 * queue for the message decoder.
 *
 *   version → security-choice (3.7/3.8) → vnc-auth (type 2) → client-init → done
 *
 * Policy that is *not* here, by design: the handshake deadline and the delay before a failed
 * authentication is answered (the session owns timers; a failure step says `delayReply`), and
 * ServerInit (the session builds it with `encodeServerInit` once the desktop has a size).
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import { createVncAuthChallenge, VNC_AUTH_CHALLENGE_BYTES, vncAuthResponseMatches } from '../auth/vnc-auth.js';
import type { ByteQueue } from './byte-queue.js';
import { RFB_VERSION_3_8, SecurityResult, SecurityType, type SecurityTypeValue } from './constants.js';

/** The protocol versions this server speaks. */
export type RfbVersion = '3.3' | '3.7' | '3.8';

export interface HandshakeOptions {
  /** Full-access VNC password. With neither password set, security type None is offered. */
  readonly password?: string;
  /**
   * Second password that authenticates a view-only session. When a response matches both
   * (equal passwords), full access wins.
   */
  readonly viewOnlyPassword?: string;
  /**
   * Overrides the offered security types, most preferred first (a 3.3 client, which cannot
   * choose, gets the first). Only None and VncAuth are implemented. Default:
   * `defaultSecurityTypes(password, viewOnlyPassword)`.
   */
  readonly securityTypes?: readonly SecurityTypeValue[];
  /**
   * Refuse the connection right after the version exchange with this reason (e.g. a
   * connection limit): 3.7/3.8 get an empty type list plus the reason, 3.3 gets type 0 plus it.
   */
  readonly refuseReason?: string;
  /** Produces the 16-byte VNC-auth challenge. Default: crypto random. Tests pass a fixed one. */
  readonly challenge?: () => Buffer;
}

/** What the session learns from a successful handshake. */
export interface HandshakeResult {
  /** The version both sides now speak. */
  readonly version: RfbVersion;
  /** The client's ProtocolVersion line without the newline, for logs (e.g. "RFB 003.889"). */
  readonly clientVersion: string;
  readonly securityType: SecurityTypeValue;
  /** ClientInit shared-flag: false asks the server to disconnect every other client. */
  readonly shared: boolean;
  /** The client authenticated with the view-only password: ignore its input. */
  readonly viewOnly: boolean;
}

/**
 * One `receive()` outcome. `send` holds everything to write, in order (possibly empty).
 * - pending: write `send`, wait for more bytes, call `receive` again.
 * - done: write `send`, then ServerInit; the queue now holds only normal client messages.
 * - failed: if `delayReply` (wrong password), wait the configured auth-failure delay first so
 *   password guessing is slow; then write `send` and close. `error` is the reason to log.
 */
export type HandshakeStep =
  | { readonly status: 'pending'; readonly send: Buffer }
  | { readonly status: 'done'; readonly send: Buffer; readonly result: HandshakeResult }
  | { readonly status: 'failed'; readonly send: Buffer; readonly error: VncError; readonly delayReply: boolean };

export type HandshakeStateName = 'start' | 'version' | 'security-choice' | 'vnc-auth' | 'client-init' | 'done' | 'failed';

/** None without passwords, VNC Authentication when any password is set. */
export function defaultSecurityTypes(password?: string, viewOnlyPassword?: string): SecurityTypeValue[] {
  return password !== undefined || viewOnlyPassword !== undefined ? [SecurityType.VncAuth] : [SecurityType.None];
}

const VERSION_LINE_BYTES = 12;
const VERSION_RE = /^RFB (\d{3})\.(\d{3})\n$/;

/**
 * Maps the client's version to the one we speak (rfbproto "ProtocolVersion": only 3.3, 3.7 and
 * 3.8 are published; 3.5 "should be interpreted by all servers as 3.3"). Unofficial minors are
 * mapped the way TigerVNC and noVNC do: ≥ 8 → 3.8 (Apple Remote Desktop answers 3.889), 7 → 3.7,
 * anything lower → 3.3. Returns null for a major other than 3.
 */
function negotiateVersion(major: number, minor: number): RfbVersion | null {
  if (major !== 3) return null;
  if (minor >= 8) return '3.8';
  if (minor === 7) return '3.7';
  return '3.3';
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  return b;
}

/** A length-prefixed reason string (U32 length + bytes). */
function reasonString(reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8');
  return Buffer.concat([u32(text.length), text]);
}

type State =
  | { name: 'start' }
  | { name: 'version' }
  | { name: 'security-choice'; version: RfbVersion; clientVersion: string }
  | { name: 'vnc-auth'; version: RfbVersion; clientVersion: string; challenge: Buffer }
  | { name: 'client-init'; version: RfbVersion; clientVersion: string; securityType: SecurityTypeValue; viewOnly: boolean }
  | { name: 'done' }
  | { name: 'failed' };

/** Thrown inside a state handler; `receive` turns it into a failed step with the bytes so far. */
class Failure {
  constructor(readonly error: VncError, readonly reply: Buffer, readonly delayReply: boolean) {}
}

export class ServerHandshake {
  private state: State = { name: 'start' };
  private readonly types: readonly SecurityTypeValue[];
  private readonly opts: HandshakeOptions;

  /** Throws VNC_ERR_CONFIG for empty passwords or unimplemented security types. */
  constructor(options: HandshakeOptions = {}) {
    if (options.password === '' || options.viewOnlyPassword === '') {
      throw new VncError(ErrorCode.Config, 'an empty VNC password would accept anyone; leave it unset instead');
    }
    const types = options.securityTypes ?? defaultSecurityTypes(options.password, options.viewOnlyPassword);
    for (const t of types) {
      if (t !== SecurityType.None && t !== SecurityType.VncAuth) {
        throw new VncError(ErrorCode.Config, `security type ${t} is not implemented (only None and VNC auth)`);
      }
    }
    if (types.includes(SecurityType.VncAuth) && options.password === undefined && options.viewOnlyPassword === undefined) {
      throw new VncError(ErrorCode.Config, 'VNC authentication offered without a password');
    }
    if (new Set(types).size !== types.length) {
      throw new VncError(ErrorCode.Config, 'security types listed twice');
    }
    this.types = Object.freeze([...types]);
    this.opts = options;
  }

  /** Where the machine is, for logs and timeouts. */
  get stateName(): HandshakeStateName {
    return this.state.name;
  }

  /** The server's ProtocolVersion, to send as soon as the connection opens. Call once. */
  start(): Buffer {
    if (this.state.name !== 'start') throw new Error('ServerHandshake.start() called twice');
    this.state = { name: 'version' };
    return Buffer.from(RFB_VERSION_3_8, 'latin1');
  }

  /**
   * Consumes as much of the handshake from `queue` as is there. Must not be called again after
   * a done or failed step.
   */
  receive(queue: ByteQueue): HandshakeStep {
    const out: Buffer[] = [];
    try {
      for (;;) {
        const s = this.state;
        let progressed: boolean;
        switch (s.name) {
          case 'start':
            throw new Error('ServerHandshake.receive() before start()');
          case 'done':
          case 'failed':
            throw new Error(`ServerHandshake.receive() after the handshake ${s.name === 'done' ? 'finished' : 'failed'}`);
          case 'version':
            progressed = this.onVersion(queue, out);
            break;
          case 'security-choice':
            progressed = this.onSecurityChoice(s, queue, out);
            break;
          case 'vnc-auth':
            progressed = this.onVncAuthResponse(s, queue, out);
            break;
          case 'client-init': {
            if (!queue.has(1)) return { status: 'pending', send: Buffer.concat(out) };
            const shared = queue.readU8() !== 0;
            this.state = { name: 'done' };
            const result: HandshakeResult = {
              version: s.version,
              clientVersion: s.clientVersion,
              securityType: s.securityType,
              shared,
              viewOnly: s.viewOnly,
            };
            return { status: 'done', send: Buffer.concat(out), result };
          }
        }
        if (!progressed) return { status: 'pending', send: Buffer.concat(out) };
      }
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      this.state = { name: 'failed' };
      out.push(e.reply);
      return { status: 'failed', send: Buffer.concat(out), error: e.error, delayReply: e.delayReply };
    }
  }

  private onVersion(queue: ByteQueue, out: Buffer[]): boolean {
    if (!queue.has(VERSION_LINE_BYTES)) return false;
    const line = queue.readBytes(VERSION_LINE_BYTES).toString('latin1');
    const m = VERSION_RE.exec(line);
    if (!m) {
      // Not an RFB client at all (an HTTP request, a port scanner): nothing we could send
      // would be understood, so just close.
      throw new Failure(
        new VncError(ErrorCode.Protocol, `bad ProtocolVersion ${JSON.stringify(line)}`),
        Buffer.alloc(0),
        false,
      );
    }
    const clientVersion = line.slice(0, 11);
    const version = negotiateVersion(Number(m[1]), Number(m[2]));
    if (version === null) {
      // A well-formed version we cannot speak: the 3.7+ failure form (no types + reason) is
      // what the spec offers for "the server cannot support the desired protocol version".
      throw new Failure(
        new VncError(ErrorCode.Protocol, `unsupported protocol version ${clientVersion}`),
        Buffer.concat([Buffer.from([0]), reasonString('unsupported protocol version')]),
        false,
      );
    }
    const refuse = this.opts.refuseReason ?? (this.types.length === 0 ? 'no security types are enabled' : undefined);
    if (refuse !== undefined) {
      const reply = version === '3.3'
        ? Buffer.concat([u32(SecurityType.Invalid), reasonString(refuse)])
        : Buffer.concat([Buffer.from([0]), reasonString(refuse)]);
      throw new Failure(new VncError(ErrorCode.Auth, `connection refused: ${refuse}`), reply, false);
    }
    if (version === '3.3') {
      // 3.3: the server decides and sends the type as a U32 (rfbproto "Security", version 3.3).
      const type = this.types[0]!;
      out.push(u32(type));
      this.beginSecurity(type, version, clientVersion, out);
    } else {
      out.push(Buffer.from([this.types.length, ...this.types]));
      this.state = { name: 'security-choice', version, clientVersion };
    }
    return true;
  }

  private onSecurityChoice(s: Extract<State, { name: 'security-choice' }>, queue: ByteQueue, out: Buffer[]): boolean {
    if (!queue.has(1)) return false;
    const choice = queue.readU8();
    const offered = this.types.find((t) => t === choice);
    if (offered === undefined) {
      // TigerVNC answers this with a failed SecurityResult (+ reason from 3.8 on), as for a bad
      // password; clients show the reason instead of a bare disconnect.
      throw this.securityFailure(s.version, `security type ${choice} was not offered`, false);
    }
    this.beginSecurity(offered, s.version, s.clientVersion, out);
    return true;
  }

  private beginSecurity(type: SecurityTypeValue, version: RfbVersion, clientVersion: string, out: Buffer[]): void {
    if (type === SecurityType.VncAuth) {
      const challenge = (this.opts.challenge ?? createVncAuthChallenge)();
      if (challenge.length !== VNC_AUTH_CHALLENGE_BYTES) throw new Error('VNC auth challenge must be 16 bytes');
      out.push(challenge);
      this.state = { name: 'vnc-auth', version, clientVersion, challenge };
      return;
    }
    // None: SecurityResult only from 3.8 on (rfbproto "None"); 3.3/3.7 go straight to ClientInit.
    if (version === '3.8') out.push(u32(SecurityResult.Ok));
    this.state = { name: 'client-init', version, clientVersion, securityType: type, viewOnly: false };
  }

  private onVncAuthResponse(s: Extract<State, { name: 'vnc-auth' }>, queue: ByteQueue, out: Buffer[]): boolean {
    if (!queue.has(VNC_AUTH_CHALLENGE_BYTES)) return false;
    const response = queue.readBytes(VNC_AUTH_CHALLENGE_BYTES);
    const { password, viewOnlyPassword } = this.opts;
    // Both checks always run, so timing does not reveal which password (if any) matched.
    const full = password !== undefined && vncAuthResponseMatches(s.challenge, response, password);
    const view = viewOnlyPassword !== undefined && vncAuthResponseMatches(s.challenge, response, viewOnlyPassword);
    if (!full && !view) throw this.securityFailure(s.version, 'authentication failed', true);
    // VNC auth is followed by SecurityResult in every version.
    out.push(u32(SecurityResult.Ok));
    this.state = {
      name: 'client-init',
      version: s.version,
      clientVersion: s.clientVersion,
      securityType: SecurityType.VncAuth,
      viewOnly: !full,
    };
    return true;
  }

  /** SecurityResult "failed"; the reason string exists only from 3.8 on (rfbproto "SecurityResult"). */
  private securityFailure(version: RfbVersion, reason: string, delayReply: boolean): Failure {
    const reply = version === '3.8'
      ? Buffer.concat([u32(SecurityResult.Failed), reasonString(reason)])
      : u32(SecurityResult.Failed);
    return new Failure(new VncError(ErrorCode.Auth, reason), reply, delayReply);
  }
}
