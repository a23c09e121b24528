/**
 * Writes an Xauthority file holding one MIT-MAGIC-COOKIE-1 entry, so a private Xvfb accepts only
 * processes that can read the file (mode 0600 inside a 0700 directory).
 *
 * File format (libXau `XauWriteAuth`): per entry, `family` u16 big-endian, then four counted
 * strings (u16 big-endian length + bytes): address, display number, auth name, auth data.
 *
 * The entry uses FamilyWild with an empty address and an empty display number. The X server
 * loads every entry of its `-auth` file whatever the address/number (os/auth.c), and clients
 * (libXau, the `x11` npm package) treat FamilyWild + empty number as matching any display. That
 * is what lets the file be written *before* Xvfb picks its display number with `-displayfd`.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';
const FAMILY_WILD = 0xffff;

function counted(bytes: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** Serialise one FamilyWild entry for `cookie` (16 bytes for MIT-MAGIC-COOKIE-1). */
export function encodeWildXauthEntry(cookie: Buffer): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  return Buffer.concat([
    family,
    counted(Buffer.alloc(0)),
    counted(Buffer.alloc(0)),
    counted(Buffer.from(MIT_MAGIC_COOKIE, 'latin1')),
    counted(cookie),
  ]);
}

/** Create `path` (must not exist) with a fresh random cookie; returns the cookie. */
export async function writeRandomXauthority(path: string): Promise<Buffer> {
  const cookie = randomBytes(16);
  await writeFile(path, encodeWildXauthEntry(cookie), { mode: 0o600, flag: 'wx' });
  return cookie;
}
