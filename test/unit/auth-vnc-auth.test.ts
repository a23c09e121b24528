import { describe, expect, it } from 'vitest';
import {
  createVncAuthChallenge,
  VNC_AUTH_CHALLENGE_BYTES,
  vncAuthKey,
  vncAuthResponse,
  vncAuthResponseMatches,
} from '../../server/auth/vnc-auth.js';

/**
 * Known answers computed independently of this code base, on the command line:
 *   key:      python3 -c "…bits of each byte of password[:8].ljust(8, b'\0') reversed…"
 *   response: echo -n $CHALLENGE | xxd -r -p |
 *             openssl enc -des-ecb -K $KEY -nopad -provider legacy -provider default | xxd -p
 * (OpenSSL 3.0.19 with its legacy provider.)
 */
const VECTORS = [
  { pw: 'password', key: '0e86ceceeef64e26', ch: '000102030405060708090a0b0c0d0e0f', resp: 'b866924125c8eebb9debc1db61c538e2' },
  { pw: 'password', key: '0e86ceceeef64e26', ch: 'd3b07384d113edec49eaa6238ad5ff00', resp: '33d413e893bcac35c885de64de4f8a38' },
  { pw: 'ab', key: '8646000000000000', ch: '000102030405060708090a0b0c0d0e0f', resp: 'fe01155de95da3e28adf6cc730f06f08' },
  { pw: 'ab', key: '8646000000000000', ch: 'd3b07384d113edec49eaa6238ad5ff00', resp: '901ffbf10a513902813ece3555db2df5' },
  // Longer than 8 bytes: truncated to "verylong".
  { pw: 'verylongpassword', key: '6ea64e9e36f676e6', ch: '000102030405060708090a0b0c0d0e0f', resp: '510e4600a803c96fe8bf0cdbbc82e99d' },
  { pw: 'verylongpassword', key: '6ea64e9e36f676e6', ch: 'd3b07384d113edec49eaa6238ad5ff00', resp: '728fb4adb32297ced99ad79eaaec9a33' },
];

describe('VNC authentication', () => {
  it.each(VECTORS)('key and response for $pw / $ch match openssl', ({ pw, key, ch, resp }) => {
    expect(vncAuthKey(pw).toString('hex')).toBe(key);
    expect(vncAuthResponse(Buffer.from(ch, 'hex'), pw).toString('hex')).toBe(resp);
    expect(vncAuthResponseMatches(Buffer.from(ch, 'hex'), Buffer.from(resp, 'hex'), pw)).toBe(true);
  });

  it('truncates at 8 bytes: any suffix gives the same response', () => {
    const ch = Buffer.from(VECTORS[4]!.ch, 'hex');
    expect(vncAuthResponse(ch, 'verylongXYZ').equals(vncAuthResponse(ch, 'verylong'))).toBe(true);
  });

  it('rejects a wrong password, a one-bit change, and a wrong-length response', () => {
    const ch = Buffer.from(VECTORS[0]!.ch, 'hex');
    const good = Buffer.from(VECTORS[0]!.resp, 'hex');
    expect(vncAuthResponseMatches(ch, good, 'passwore')).toBe(false);
    const flipped = Buffer.from(good);
    flipped[15]! ^= 1;
    expect(vncAuthResponseMatches(ch, flipped, 'password')).toBe(false);
    expect(vncAuthResponseMatches(ch, good.subarray(0, 15), 'password')).toBe(false);
    expect(vncAuthResponseMatches(ch, Buffer.concat([good, Buffer.from([0])]), 'password')).toBe(false);
  });

  it('encodes the password as UTF-8 before truncating', () => {
    // "é" is c3 a9 in UTF-8; mirrored: c3 → c3, a9 → 95.
    expect(vncAuthKey('é').toString('hex')).toBe('c395000000000000');
  });

  it('makes random 16-byte challenges', () => {
    const a = createVncAuthChallenge();
    const b = createVncAuthChallenge();
    expect(a.length).toBe(VNC_AUTH_CHALLENGE_BYTES);
    expect(a.equals(b)).toBe(false);
  });

  it('refuses a challenge of the wrong size', () => {
    expect(() => vncAuthResponse(Buffer.alloc(8), 'x')).toThrow(RangeError);
  });
});
