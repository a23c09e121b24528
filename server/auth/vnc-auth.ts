/**
 * VNC Authentication, security type 2 (rfbproto "VNC Authentication"): the server sends a random
 * 16-byte challenge, the client returns it DES-encrypted (ECB, two independent 8-byte blocks)
 * with a key made from the password.
 *
 * Key: the password bytes truncated or zero-padded to 8, each byte's bits mirrored, because
 * VNC's DES treats the lowest bit of each key byte as the first one, the reverse of standard
 * DES (rfbproto: "the key may require adjustment"). Password bytes are the UTF-8 encoding of
 * the string, which is what TigerVNC, libvncserver and asyncvnc send for ASCII and what
 * UTF-8-locale native viewers send otherwise. noVNC takes the low byte of each UTF-16 unit, so
 * only ASCII passwords are portable to every client.
 *
 * DES is done with the `des.js` package (pure JS) because Node's OpenSSL 3 build no longer
 * offers single DES without the legacy provider.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import desjs from 'des.js';

/** Length of the challenge and of the response. */
export const VNC_AUTH_CHALLENGE_BYTES = 16;

/** The slice of the des.js API used here (the package ships no types). */
interface DesCipher {
  update(data: ArrayLike<number>): number[];
  final(): number[];
}
interface DesModule {
  DES: { create(opts: { type: 'encrypt' | 'decrypt'; key: ArrayLike<number>; padding?: boolean }): DesCipher };
}
const des = desjs as DesModule;

function mirrorBits(b: number): number {
  let r = 0;
  for (let i = 0; i < 8; i++) if (b & (1 << i)) r |= 1 << (7 - i);
  return r;
}

/** The 8-byte DES key for `password` (truncated/zero-padded, bits of each byte mirrored). */
export function vncAuthKey(password: string): Buffer {
  const pw = Buffer.from(password, 'utf8');
  const key = Buffer.alloc(8);
  for (let i = 0; i < 8 && i < pw.length; i++) key[i] = mirrorBits(pw[i]!);
  return key;
}

/** What a client with `password` answers to `challenge` (16 bytes): DES-ECB of the challenge. */
export function vncAuthResponse(challenge: Uint8Array, password: string): Buffer {
  if (challenge.length !== VNC_AUTH_CHALLENGE_BYTES) {
    throw new RangeError(`VNC auth challenge must be ${VNC_AUTH_CHALLENGE_BYTES} bytes`);
  }
  const cipher = des.DES.create({ type: 'encrypt', key: vncAuthKey(password), padding: false });
  const out = cipher.update(challenge).concat(cipher.final());
  return Buffer.from(out);
}

/**
 * True when `response` is the right answer to `challenge` for `password`. The comparison is
 * constant-time so response timing tells an attacker nothing about how many bytes matched.
 */
export function vncAuthResponseMatches(challenge: Uint8Array, response: Uint8Array, password: string): boolean {
  if (response.length !== VNC_AUTH_CHALLENGE_BYTES) return false;
  return timingSafeEqual(vncAuthResponse(challenge, password), response);
}

/** A fresh random challenge (crypto-strength: a predictable one would allow replay). */
export function createVncAuthChallenge(): Buffer {
  return randomBytes(VNC_AUTH_CHALLENGE_BYTES);
}
