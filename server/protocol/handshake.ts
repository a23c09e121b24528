/**
 * The server side of the RFB handshake (rfbproto "Protocol Messages" → "Handshaking Messages"
 * and "ClientInit"), as an explicit state machine with no I/O: `start()` gives the first bytes
 * to send, each `receive(queue)` consumes what it can and says what to send and whether the
 * handshake is pending, done or failed. Bytes the client pipelines after ClientInit stay in the
 * queue for the message decoder.
 *
 *   version → security-choice (3.7/3.8) → vnc-auth (type 2) → client-init → done
 *   VeNCrypt (type 19, vencrypt.ts): security-choice → vencrypt-version → vencrypt-subtype
 *     → tls (the session runs the TLS handshake) → client-init | vnc-auth | plain-auth
 *
 * The TLS layer itself is not here either: a `starttls` step tells the session to wrap its
 * stream in TLS; once that handshake is done the session calls `tlsEstablished()` and goes on
 * feeding `receive()` with the decrypted bytes.
 *
 * Policy that is *not* here, by design: the handshake deadline and the delay before a failed
 * authentication is answered (the session owns timers; a failure step says `delayReply`), and
 * ServerInit (the session builds it with `encodeServerInit` once the desktop has a size).
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import { checkPlainCredentials } from '../auth/plain-auth.js';
import { createVncAuthChallenge, VNC_AUTH_CHALLENGE_BYTES, vncAuthResponseMatches } from '../auth/vnc-auth.js';
import type { ByteQueue } from './byte-queue.js';
import { RFB_VERSION_3_8, SecurityResult, SecurityType, type SecurityTypeValue } from './constants.js';
import {
  encodeVeNCryptSubtypes,
  encodeVeNCryptVersion,
  readPlainCredentials,
  VENCRYPT_TLS_ACK_FAILED,
  VENCRYPT_TLS_ACK_OK,
  VENCRYPT_VERSION,
  VENCRYPT_VERSION_REFUSED,
  vencryptAuthOf,
  vencryptSubtypeName,
  type VeNCryptSubtypeValue,
} from './vencrypt.js';

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
   * choose, gets the first of None/VncAuth, or is refused when only VeNCrypt is offered).
   * None, VncAuth and VeNCrypt are implemented; VeNCrypt needs `vencryptSubtypes`. Default:
   * `defaultSecurityTypes(password, viewOnlyPassword)`.
   */
  readonly securityTypes?: readonly SecurityTypeValue[];
  /**
   * VeNCrypt subtypes to offer, most preferred first; required when `securityTypes` includes
   * VeNCrypt, and only the X509 ones are implemented. Offering them promises that the session
   * can answer a `starttls` step (it has a certificate).
   */
  readonly vencryptSubtypes?: readonly VeNCryptSubtypeValue[];
  /** The user name X509Plain requires; absent: any user name, the password decides. */
  readonly plainUsername?: string;
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
  /** Set only for VeNCrypt: the subtype used (the session runs over TLS). */
  readonly vencryptSubtype?: VeNCryptSubtypeValue;
}

/** A short name of the security used, for logs ("none", "vnc-auth", "VeNCrypt X509Vnc"). */
export function describeSecurity(result: HandshakeResult): string {
  if (result.vencryptSubtype !== undefined) return `VeNCrypt ${vencryptSubtypeName(result.vencryptSubtype)}`;
  return result.securityType === SecurityType.None ? 'none' : 'vnc-auth';
}

/** Did the client prove it knows a password (as opposed to None / X509None)? */
export function isAuthenticated(result: HandshakeResult): boolean {
  if (result.vencryptSubtype !== undefined) return vencryptAuthOf(result.vencryptSubtype) !== 'none';
  return result.securityType === SecurityType.VncAuth;
}

/**
 * One `receive()` outcome. `send` holds everything to write, in order (possibly empty).
 * - pending: write `send`, wait for more bytes, call `receive` again.
 * - done: write `send`, then ServerInit; the queue now holds only normal client messages.
 * - failed: if `delayReply` (wrong password), wait the configured auth-failure delay first so
 *   password guessing is slow; then write `send` and close. `error` is the reason to log.
 * - starttls: write `send` (in the clear), then start a server-side TLS handshake on the same
 *   connection. Bytes still in the queue arrived after the subtype choice: they are the start of
 *   the client's TLS handshake and belong to the TLS layer, not to `receive`. Once TLS is up,
 *   call `tlsEstablished()`, write what it returns through TLS, and feed `receive` with the
 *   decrypted bytes from then on.
 */
export type HandshakeStep =
  | { readonly status: 'pending'; readonly send: Buffer }
  | { readonly status: 'starttls'; readonly send: Buffer }
  | { readonly status: 'done'; readonly send: Buffer; readonly result: HandshakeResult }
  | { readonly status: 'failed'; readonly send: Buffer; readonly error: VncError; readonly delayReply: boolean };

export type HandshakeStateName =
  | 'start'
  | 'version'
  | 'security-choice'
  | 'vencrypt-version'
  | 'vencrypt-subtype'
  | 'tls'
  | 'vnc-auth'
  | 'plain-auth'
  | 'client-init'
  | 'done'
  | 'failed';

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

/** What every state after the version exchange knows. */
interface Agreed {
  version: RfbVersion;
  clientVersion: string;
}
/** Set once VeNCrypt picked a subtype. */
interface Via {
  vencryptSubtype?: VeNCryptSubtypeValue;
}

type State =
  | { name: 'start' }
  | { name: 'version' }
  | ({ name: 'security-choice' } & Agreed)
  | ({ name: 'vencrypt-version' } & Agreed)
  | ({ name: 'vencrypt-subtype' } & Agreed)
  | ({ name: 'tls'; vencryptSubtype: VeNCryptSubtypeValue } & Agreed)
  | ({ name: 'vnc-auth'; challenge: Buffer } & Agreed & Via)
  | ({ name: 'plain-auth'; vencryptSubtype: VeNCryptSubtypeValue } & Agreed)
  | ({ name: 'client-init'; securityType: SecurityTypeValue; viewOnly: boolean } & Agreed & Via)
  | { name: 'done' }
  | { name: 'failed' };

/** A handler's answer: consumed something (true), needs more bytes (false), or TLS must start. */
type Progress = boolean | 'starttls';

/** Thrown inside a state handler; `receive` turns it into a failed step with the bytes so far. */
class Failure {
  constructor(readonly error: VncError, readonly reply: Buffer, readonly delayReply: boolean) {}
}

export class ServerHandshake {
  private state: State = { name: 'start' };
  private readonly types: readonly SecurityTypeValue[];
  private readonly subtypes: readonly VeNCryptSubtypeValue[];
  private readonly opts: HandshakeOptions;

  /** Throws VNC_ERR_CONFIG for empty passwords or unimplemented security types. */
  constructor(options: HandshakeOptions = {}) {
    if (options.password === '' || options.viewOnlyPassword === '') {
      throw new VncError(ErrorCode.Config, 'an empty VNC password would accept anyone; leave it unset instead');
    }
    const hasPassword = options.password !== undefined || options.viewOnlyPassword !== undefined;
    const types = options.securityTypes ?? defaultSecurityTypes(options.password, options.viewOnlyPassword);
    for (const t of types) {
      if (t !== SecurityType.None && t !== SecurityType.VncAuth && t !== SecurityType.VeNCrypt) {
        throw new VncError(ErrorCode.Config, `security type ${t} is not implemented (only None, VNC auth and VeNCrypt)`);
      }
    }
    if (types.includes(SecurityType.VncAuth) && !hasPassword) {
      throw new VncError(ErrorCode.Config, 'VNC authentication offered without a password');
    }
    if (new Set(types).size !== types.length) {
      throw new VncError(ErrorCode.Config, 'security types listed twice');
    }
    const subtypes = types.includes(SecurityType.VeNCrypt) ? (options.vencryptSubtypes ?? []) : [];
    if (types.includes(SecurityType.VeNCrypt)) {
      if (subtypes.length === 0) {
        throw new VncError(ErrorCode.Config, 'VeNCrypt offered without subtypes (the session must be able to start TLS)');
      }
      for (const st of subtypes) {
        const auth = vencryptAuthOf(st);
        if (auth === undefined) {
          throw new VncError(ErrorCode.Config, `VeNCrypt ${vencryptSubtypeName(st)} is not implemented (only X509None, X509Vnc, X509Plain)`);
        }
        if (auth !== 'none' && !hasPassword) {
          throw new VncError(ErrorCode.Config, `VeNCrypt ${vencryptSubtypeName(st)} offered without a password`);
        }
      }
      if (new Set(subtypes).size !== subtypes.length) {
        throw new VncError(ErrorCode.Config, 'VeNCrypt subtypes listed twice');
      }
    }
    this.types = Object.freeze([...types]);
    this.subtypes = Object.freeze([...subtypes]);
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
   * a done or failed step. While TLS is being set up (after a starttls step, before
   * `tlsEstablished()`) it consumes nothing and returns pending.
   */
  receive(queue: ByteQueue): HandshakeStep {
    const out: Buffer[] = [];
    try {
      for (;;) {
        const s = this.state;
        let progressed: Progress;
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
          case 'vencrypt-version':
            progressed = this.onVeNCryptVersion(s, queue, out);
            break;
          case 'vencrypt-subtype':
            progressed = this.onVeNCryptSubtype(s, queue, out);
            break;
          case 'tls':
            progressed = false;
            break;
          case 'vnc-auth':
            progressed = this.onVncAuthResponse(s, queue, out);
            break;
          case 'plain-auth':
            progressed = this.onPlainCredentials(s, queue, out);
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
              ...(s.vencryptSubtype !== undefined ? { vencryptSubtype: s.vencryptSubtype } : {}),
            };
            return { status: 'done', send: Buffer.concat(out), result };
          }
        }
        if (progressed === 'starttls') return { status: 'starttls', send: Buffer.concat(out) };
        if (!progressed) return { status: 'pending', send: Buffer.concat(out) };
      }
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      this.state = { name: 'failed' };
      out.push(e.reply);
      return { status: 'failed', send: Buffer.concat(out), error: e.error, delayReply: e.delayReply };
    }
  }

  /**
   * The TLS handshake a starttls step asked for has completed. Returns the bytes to send over
   * TLS next (the VNC-auth challenge, SecurityResult for X509None, or nothing for X509Plain);
   * after that, `receive` goes on with the decrypted stream.
   */
  tlsEstablished(): Buffer {
    const s = this.state;
    if (s.name !== 'tls') throw new Error(`ServerHandshake.tlsEstablished() in state ${s.name}`);
    const { version, clientVersion, vencryptSubtype } = s;
    const auth = vencryptAuthOf(vencryptSubtype);
    if (auth === 'vnc') return this.beginVncAuth({ version, clientVersion, vencryptSubtype });
    if (auth === 'plain') {
      this.state = { name: 'plain-auth', version, clientVersion, vencryptSubtype };
      return Buffer.alloc(0);
    }
    // X509None: "authentication is successful and both sides continue with SecurityResult", in
    // every RFB version (as TigerVNC does: only plain None skips it before 3.8).
    this.state = { name: 'client-init', version, clientVersion, securityType: SecurityType.VeNCrypt, viewOnly: false, vencryptSubtype };
    return u32(SecurityResult.Ok);
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
    // 3.3 clients cannot take part in VeNCrypt (the server picks the type, and the type must be
    // one the client knows without negotiation): they get the first of the others.
    const type3 = this.types.find((t) => t !== SecurityType.VeNCrypt);
    const refuse =
      this.opts.refuseReason ??
      (this.types.length === 0
        ? 'no security types are enabled'
        : version === '3.3' && type3 === undefined
          ? 'this server requires TLS (VeNCrypt), which RFB 3.3 clients cannot use'
          : undefined);
    if (refuse !== undefined) {
      const reply = version === '3.3'
        ? Buffer.concat([u32(SecurityType.Invalid), reasonString(refuse)])
        : Buffer.concat([Buffer.from([0]), reasonString(refuse)]);
      throw new Failure(new VncError(ErrorCode.Auth, `connection refused: ${refuse}`), reply, false);
    }
    if (version === '3.3') {
      // 3.3: the server decides and sends the type as a U32 (rfbproto "Security", version 3.3).
      out.push(u32(type3!));
      this.beginSecurity(type3!, version, clientVersion, out);
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
      out.push(this.beginVncAuth({ version, clientVersion }));
      return;
    }
    if (type === SecurityType.VeNCrypt) {
      out.push(encodeVeNCryptVersion());
      this.state = { name: 'vencrypt-version', version, clientVersion };
      return;
    }
    // None: SecurityResult only from 3.8 on (rfbproto "None"); 3.3/3.7 go straight to ClientInit.
    if (version === '3.8') out.push(u32(SecurityResult.Ok));
    this.state = { name: 'client-init', version, clientVersion, securityType: type, viewOnly: false };
  }

  /** Sends the challenge; `via` says whether this runs inside VeNCrypt. */
  private beginVncAuth(via: Agreed & Via): Buffer {
    const challenge = (this.opts.challenge ?? createVncAuthChallenge)();
    if (challenge.length !== VNC_AUTH_CHALLENGE_BYTES) throw new Error('VNC auth challenge must be 16 bytes');
    this.state = { name: 'vnc-auth', ...via, challenge };
    return challenge;
  }

  private onVeNCryptVersion(s: Extract<State, { name: 'vencrypt-version' }>, queue: ByteQueue, out: Buffer[]): boolean {
    if (!queue.has(2)) return false;
    const major = queue.readU8();
    const minor = queue.readU8();
    if (major !== VENCRYPT_VERSION.major || minor !== VENCRYPT_VERSION.minor) {
      // The client answers with the highest version it supports up to ours; anything but 0.2
      // (0.1 is legacy and unspecified) ends here, with the "not OK" ack.
      throw new Failure(
        new VncError(ErrorCode.Protocol, `unsupported VeNCrypt version ${major}.${minor} (only 0.2)`),
        Buffer.from(VENCRYPT_VERSION_REFUSED),
        false,
      );
    }
    out.push(encodeVeNCryptSubtypes(this.subtypes));
    this.state = { name: 'vencrypt-subtype', version: s.version, clientVersion: s.clientVersion };
    return true;
  }

  private onVeNCryptSubtype(s: Extract<State, { name: 'vencrypt-subtype' }>, queue: ByteQueue, out: Buffer[]): Progress {
    if (!queue.has(4)) return false;
    const choice = queue.readU32();
    const chosen = this.subtypes.find((t) => t === choice);
    if (chosen === undefined) {
      // rfbproto: a non-one ack is a failure and the connection closes. No reason string
      // exists at this point of the protocol.
      throw new Failure(
        new VncError(ErrorCode.Auth, `VeNCrypt ${vencryptSubtypeName(choice)} was not offered`),
        Buffer.from([VENCRYPT_TLS_ACK_FAILED]),
        false,
      );
    }
    // Every implemented subtype is a TLS one: ack, then TLS.
    out.push(Buffer.from([VENCRYPT_TLS_ACK_OK]));
    this.state = { name: 'tls', version: s.version, clientVersion: s.clientVersion, vencryptSubtype: chosen };
    return 'starttls';
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
      securityType: s.vencryptSubtype !== undefined ? SecurityType.VeNCrypt : SecurityType.VncAuth,
      viewOnly: !full,
      ...(s.vencryptSubtype !== undefined ? { vencryptSubtype: s.vencryptSubtype } : {}),
    };
    return true;
  }

  private onPlainCredentials(s: Extract<State, { name: 'plain-auth' }>, queue: ByteQueue, out: Buffer[]): boolean {
    let creds;
    try {
      creds = readPlainCredentials(queue);
    } catch (e) {
      if (e instanceof VncError) throw this.securityFailure(s.version, e.message, false, e.code);
      throw e;
    }
    if (creds === null) return false;
    const grant = checkPlainCredentials(
      {
        ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
        ...(this.opts.viewOnlyPassword !== undefined ? { viewOnlyPassword: this.opts.viewOnlyPassword } : {}),
        ...(this.opts.plainUsername !== undefined ? { username: this.opts.plainUsername } : {}),
      },
      creds.username,
      creds.password,
    );
    // One message for a wrong user and a wrong password alike: it must not confirm user names.
    if (grant === 'denied') throw this.securityFailure(s.version, 'authentication failed', true);
    out.push(u32(SecurityResult.Ok));
    this.state = {
      name: 'client-init',
      version: s.version,
      clientVersion: s.clientVersion,
      securityType: SecurityType.VeNCrypt,
      viewOnly: grant === 'view-only',
      vencryptSubtype: s.vencryptSubtype,
    };
    return true;
  }

  /** SecurityResult "failed"; the reason string exists only from 3.8 on (rfbproto "SecurityResult"). */
  private securityFailure(
    version: RfbVersion,
    reason: string,
    delayReply: boolean,
    code: VncError['code'] = ErrorCode.Auth,
  ): Failure {
    const reply = version === '3.8'
      ? Buffer.concat([u32(SecurityResult.Failed), reasonString(reason)])
      : u32(SecurityResult.Failed);
    return new Failure(new VncError(code, reason), reply, delayReply);
  }
}
