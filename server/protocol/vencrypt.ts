/**
 * VeNCrypt, security type 19 (rfbproto "VeNCrypt", version 0.2): the wire pieces the server
 * side of the handshake needs, with no I/O and no state. The state machine that strings them
 * together lives in handshake.ts.
 *
 *   S: version 0.2           C: version (must be 0.2)
 *   S: ack 0 + subtype list  C: chosen subtype (U32)
 *   S: ack 1 (TLS subtypes)  ── TLS handshake ──  then, inside TLS:
 *   None → SecurityResult;  Vnc → VNC authentication;  Plain → user name + password
 *
 * Only the X509 subtypes are implemented (TLS with the server's certificate). The TLS* subtypes
 * need anonymous Diffie-Hellman, which OpenSSL allows only at security level 0 with TLS 1.2 CBC
 * ciphers and which gives no protection against a man in the middle; the plain `Plain` subtype
 * (256) sends the password in the clear ("should be never used", rfbproto). Neither is offered.
 */
import { ErrorCode, VncError } from '../../core/errors.js';
import type { ByteQueue } from './byte-queue.js';

/** The only VeNCrypt version this server speaks (0.1 is legacy and unspecified). */
export const VENCRYPT_VERSION = Object.freeze({ major: 0, minor: 2 });

/** VeNCrypt subtypes (rfbproto "VeNCrypt" table). */
export const VeNCryptSubtype = {
  Plain: 256,
  TLSNone: 257,
  TLSVnc: 258,
  TLSPlain: 259,
  X509None: 260,
  X509Vnc: 261,
  X509Plain: 262,
} as const;
export type VeNCryptSubtypeValue = (typeof VeNCryptSubtype)[keyof typeof VeNCryptSubtype];

/** The subtypes this server can serve, and what follows their TLS handshake. */
export type VeNCryptAuth = 'none' | 'vnc' | 'plain';
const IMPLEMENTED: ReadonlyMap<number, VeNCryptAuth> = new Map<number, VeNCryptAuth>([
  [VeNCryptSubtype.X509None, 'none'],
  [VeNCryptSubtype.X509Vnc, 'vnc'],
  [VeNCryptSubtype.X509Plain, 'plain'],
]);

/** What authentication follows the TLS handshake for `subtype`, or undefined if not implemented. */
export function vencryptAuthOf(subtype: number): VeNCryptAuth | undefined {
  return IMPLEMENTED.get(subtype);
}

/** Name of a subtype as TigerVNC's `-SecurityTypes` spells it, for logs. */
export function vencryptSubtypeName(subtype: number): string {
  for (const [name, value] of Object.entries(VeNCryptSubtype)) if (value === subtype) return name;
  return `subtype ${subtype}`;
}

/**
 * The subtypes to offer, most preferred first: with a password X509Vnc (works with every
 * password, including 8-byte `vncpasswd` files) then X509Plain; without one, X509None only.
 * Never X509None next to a password: it would let a client skip authentication.
 */
export function defaultVeNCryptSubtypes(hasPassword: boolean): VeNCryptSubtypeValue[] {
  return hasPassword ? [VeNCryptSubtype.X509Vnc, VeNCryptSubtype.X509Plain] : [VeNCryptSubtype.X509None];
}

/** The server's version message. */
export function encodeVeNCryptVersion(): Buffer {
  return Buffer.from([VENCRYPT_VERSION.major, VENCRYPT_VERSION.minor]);
}

/** Ack 0 ("version accepted") followed by the subtype list (U8 count, U32 each). */
export function encodeVeNCryptSubtypes(subtypes: readonly number[]): Buffer {
  if (subtypes.length === 0 || subtypes.length > 255) throw new RangeError('VeNCrypt offers 1..255 subtypes');
  const b = Buffer.alloc(2 + 4 * subtypes.length);
  b[0] = 0;
  b[1] = subtypes.length;
  subtypes.forEach((t, i) => b.writeUInt32BE(t, 2 + 4 * i));
  return b;
}

/** The version-refused ack (TigerVNC sends 0xFF, rfbproto only says "non-zero"). */
export const VENCRYPT_VERSION_REFUSED = Object.freeze([0xff]) as readonly number[];
/** Subtype ack: 1 = go ahead with TLS, anything else = failure (rfbproto). */
export const VENCRYPT_TLS_ACK_OK = 1;
export const VENCRYPT_TLS_ACK_FAILED = 0;

/**
 * Longest Plain user name and password accepted, bytes (TigerVNC's SSecurityPlain uses the same
 * bound). Checked from the lengths alone, before the body is waited for.
 */
export const MAX_PLAIN_FIELD_BYTES = 1024;

/** Plain credentials as received (raw bytes; rfbproto recommends, but does not require, UTF-8). */
export interface PlainCredentials {
  readonly username: Buffer;
  readonly password: Buffer;
}

/**
 * Reads the Plain subtype's message (U32 user length, U32 password length, user, password) if
 * it is complete; otherwise consumes nothing and returns null. Throws VNC_ERR_TOO_LARGE for a
 * length above {@link MAX_PLAIN_FIELD_BYTES}, without consuming anything.
 */
export function readPlainCredentials(queue: ByteQueue): PlainCredentials | null {
  if (!queue.has(8)) return null;
  queue.mark();
  const userLength = queue.readU32();
  const passwordLength = queue.readU32();
  if (userLength > MAX_PLAIN_FIELD_BYTES || passwordLength > MAX_PLAIN_FIELD_BYTES) {
    queue.rewind();
    throw new VncError(
      ErrorCode.TooLarge,
      `Plain credentials too long (${userLength} + ${passwordLength} bytes, at most ${MAX_PLAIN_FIELD_BYTES} each)`,
    );
  }
  if (!queue.has(userLength + passwordLength)) {
    queue.rewind();
    return null;
  }
  const username = queue.readBytes(userLength);
  const password = queue.readBytes(passwordLength);
  queue.commit();
  return { username, password };
}
