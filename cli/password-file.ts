/**
 * Reads a VNC password file in either of the two formats users already have:
 *
 * - plain text: the password is the first line (x11vnc `-passwdfile`, TigerVNC's plain option);
 * - the 8-byte obfuscated form written by `vncpasswd -f` (TigerVNC, TightVNC, RealVNC): the
 *   password NUL-padded to 8 bytes and DES-encrypted with a fixed key that every VNC
 *   implementation shares. With a second (view-only) password `vncpasswd -f` writes 16 bytes.
 *
 * The obfuscation is not security (the key is public); it only keeps the password off screens.
 * The format is detected from the bytes: a file of exactly 8 or 16 bytes that is not text is the
 * obfuscated form. A random 8-byte DES block is all printable ASCII with probability
 * (95/256)^8 ≈ 0.035 %, and for that case a second signal is used: an obfuscated password shorter
 * than 8 characters decrypts to text followed by NUL padding, which plain text never does.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErrorCode, VncError } from '../core/errors.js';
import { Secret } from './secrets.js';

/**
 * The fixed VNC obfuscation key {23,82,107,6,35,78,88,7} with the bits of each byte reversed.
 * VNC's d3des reverses key bits internally; standard DES (des.js) does not, so the reversal is
 * applied here once.
 */
const VNC_OBFUSCATION_KEY = [0xe8, 0x4a, 0xd6, 0x60, 0xc4, 0x72, 0x1a, 0xe0];

/** A password file is a few bytes; anything larger is a wrong path (a binary, a log). */
const MAX_PASSWORD_FILE_BYTES = 64 * 1024;

/** The part of des.js this module uses (the package ships no types). */
interface DesCipher {
  update(data: number[]): number[];
  final(): number[];
}
interface DesModule {
  DES: { create(options: { type: 'encrypt' | 'decrypt'; key: number[]; padding?: boolean }): DesCipher };
}

export type PasswordFileFormat = 'plain' | 'vncpasswd';

export interface PasswordFileContents {
  readonly format: PasswordFileFormat;
  readonly password: Secret;
  /** Only the 16-byte `vncpasswd -f` form carries one. */
  readonly viewOnlyPassword?: Secret;
}

function desBlock(type: 'encrypt' | 'decrypt', block: Uint8Array): Buffer {
  const des = createRequire(import.meta.url)('des.js') as DesModule;
  const cipher = des.DES.create({ type, key: VNC_OBFUSCATION_KEY, padding: false });
  return Buffer.from([...cipher.update([...block]), ...cipher.final()]);
}

/** Decode bytes as UTF-8 when they are valid UTF-8, else Latin-1 (byte = code point). */
function bytesToString(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

/** True when the bytes read as text: valid UTF-8 without control characters other than tab/CR/LF. */
function looksLikeText(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
}

/** The password inside one decrypted 8-byte block, or undefined when it is not NUL-padded text. */
function unpadBlock(block: Buffer): Buffer | undefined {
  const nul = block.indexOf(0);
  const body = nul === -1 ? block : block.subarray(0, nul);
  if (nul !== -1 && block.subarray(nul).some((b) => b !== 0)) return undefined;
  return body;
}

/** Encode a password the way `vncpasswd -f` does (first 8 bytes, NUL-padded, DES). For tests and tools. */
export function obfuscateVncPassword(password: string): Buffer {
  const block = Buffer.alloc(8);
  Buffer.from(password, 'utf8').copy(block, 0, 0, 8);
  return desBlock('encrypt', block);
}

/** Decode one or two obfuscated 8-byte blocks; throws if a block is not a password. */
export function deobfuscateVncPassword(bytes: Uint8Array): string[] {
  if (bytes.length !== 8 && bytes.length !== 16) {
    throw new VncError(ErrorCode.Config, `an obfuscated VNC password is 8 or 16 bytes, not ${bytes.length}`);
  }
  const out: string[] = [];
  for (let off = 0; off < bytes.length; off += 8) {
    const body = unpadBlock(desBlock('decrypt', bytes.subarray(off, off + 8)));
    if (body === undefined) throw new VncError(ErrorCode.Config, 'the obfuscated VNC password is corrupt');
    out.push(bytesToString(body));
  }
  return out;
}

/** Decide the format of a password file's bytes and extract the password(s). Pure; `source` names the file in errors. */
export function parsePasswordFile(bytes: Uint8Array, source: string): PasswordFileContents {
  const sizeFits = bytes.length === 8 || bytes.length === 16;
  let obfuscated = sizeFits && !looksLikeText(bytes);
  if (sizeFits && !obfuscated && !bytes.includes(0x0a)) {
    // All-printable DES output: accept it as obfuscated only if it decrypts to padded text.
    const first = desBlock('decrypt', bytes.subarray(0, 8));
    const body = unpadBlock(first);
    obfuscated = body !== undefined && body.length > 0 && body.length < 8 && looksLikeText(body);
  }
  if (obfuscated) {
    let passwords: string[];
    try {
      passwords = deobfuscateVncPassword(bytes);
    } catch (err) {
      throw new VncError(ErrorCode.Config, `${source}: not a vncpasswd file (${(err as Error).message})`, { cause: err });
    }
    if (passwords[0] === '') throw new VncError(ErrorCode.Config, `${source}: the password in the vncpasswd file is empty`);
    const viewOnly = passwords[1];
    return viewOnly === undefined || viewOnly === ''
      ? { format: 'vncpasswd', password: new Secret(passwords[0]!) }
      : { format: 'vncpasswd', password: new Secret(passwords[0]!), viewOnlyPassword: new Secret(viewOnly) };
  }
  if (!looksLikeText(bytes)) {
    throw new VncError(ErrorCode.Config, `${source}: neither a text password file nor an 8-byte vncpasswd file`);
  }
  const firstLine = Buffer.from(bytes).toString('utf8').split('\n', 1)[0]!.replace(/\r$/, '');
  if (firstLine === '') throw new VncError(ErrorCode.Config, `${source}: the first line (the password) is empty`);
  return { format: 'plain', password: new Secret(firstLine) };
}

/**
 * Read and parse a password file (synchronously: it runs once, at start-up, while options are
 * parsed); errors are VncError(Config) naming the file but never its contents.
 */
export function readPasswordFile(path: string): PasswordFileContents {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new VncError(ErrorCode.Config, `password file ${path} is not a regular file`);
    if (st.size > MAX_PASSWORD_FILE_BYTES) {
      throw new VncError(ErrorCode.Config, `password file ${path} is ${st.size} bytes; a password file is at most ${MAX_PASSWORD_FILE_BYTES}`);
    }
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof VncError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new VncError(ErrorCode.Config, `cannot read password file ${path}: ${code}`, { cause: err });
  }
  return parsePasswordFile(bytes, `password file ${path}`);
}
