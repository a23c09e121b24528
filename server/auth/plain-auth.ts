/**
 * The credential check behind VeNCrypt's Plain subtypes (X509Plain): a user name and password
 * sent inside TLS. This server has no user database; it checks against the configured VNC
 * passwords, in full (no 8-byte truncation, unlike VNC authentication), and, when one is
 * configured, a single user name. Without a configured user name any name is accepted: the
 * password is the secret, as with VNC authentication.
 *
 * Comparisons hash both sides with SHA-256 and compare the digests in constant time, so neither
 * the timing nor an early length mismatch tells an attacker how close a guess was.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface PlainAuthConfig {
  /** Full-access password. */
  readonly password?: string;
  /** View-only password. */
  readonly viewOnlyPassword?: string;
  /** Required user name; absent: any. */
  readonly username?: string;
}

/** The outcome: which access the credentials grant, or none. */
export type PlainAuthResult = 'full' | 'view-only' | 'denied';

function digest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

function sameSecret(expected: string | undefined, given: Uint8Array): boolean {
  // Hash even when nothing is configured, so every check costs the same.
  const ok = timingSafeEqual(digest(Buffer.from(expected ?? '', 'utf8')), digest(given));
  return expected !== undefined && ok;
}

/**
 * Checks received Plain credentials (raw bytes, compared as UTF-8). The user name and both
 * password comparisons always run, so the time taken does not reveal which part was wrong.
 */
export function checkPlainCredentials(config: PlainAuthConfig, username: Uint8Array, password: Uint8Array): PlainAuthResult {
  const userOk = config.username === undefined ? true : sameSecret(config.username, username);
  const full = sameSecret(config.password, password);
  const view = sameSecret(config.viewOnlyPassword, password);
  if (!userOk) return 'denied';
  if (full) return 'full';
  return view ? 'view-only' : 'denied';
}
