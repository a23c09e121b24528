/**
 * Gets the TLS key and certificate `--tls*` asked for: reads the given files, or loads the
 * self-signed pair kept in the state directory, generating it (with `selfsigned`) at the first
 * start or when the kept one has expired. Errors are VNC_ERR_CONFIG and name the file, never
 * its contents.
 *
 * The generated certificate: ECDSA P-256 (fast to generate and to handshake, accepted by
 * GnuTLS/TigerVNC, OpenSSL and browsers), SHA-256 signature, CN = host name, SAN = host name,
 * localhost, 127.0.0.1 and ::1, valid 5 years. It is its own trust anchor: users verify it by
 * its fingerprint or pass it to the viewer as CA (TigerVNC `-X509CA cert.pem`).
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { ErrorCode, VncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { TlsCredentials } from '../server/tls.js';
import type { TlsSource } from './options.js';

/** Largest key or certificate file read; real ones are a few KiB. */
const MAX_PEM_BYTES = 1024 * 1024;
const VALID_YEARS = 5;
export const GENERATED_CERT_FILE = 'cert.pem';
export const GENERATED_KEY_FILE = 'key.pem';

export interface LoadedTls {
  readonly credentials: TlsCredentials;
  readonly certFile: string;
  readonly keyFile: string;
  /** True when this start generated the pair. */
  readonly generated: boolean;
}

function readPem(file: string, what: string): Buffer {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new VncError(ErrorCode.Config, `${what} ${file} is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof VncError) throw err;
    throw new VncError(ErrorCode.Config, `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (size > MAX_PEM_BYTES) throw new VncError(ErrorCode.Config, `${what} ${file} is larger than ${MAX_PEM_BYTES} bytes`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new VncError(ErrorCode.Config, `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** Loads or generates the key and certificate described by `source`. */
export async function loadTls(source: TlsSource, log: Logger, now: Date = new Date()): Promise<LoadedTls> {
  if (source.kind === 'files') {
    return {
      credentials: { cert: readPem(source.certFile, 'TLS certificate'), key: readPem(source.keyFile, 'TLS key') },
      certFile: source.certFile,
      keyFile: source.keyFile,
      generated: false,
    };
  }
  const certFile = join(source.dir, GENERATED_CERT_FILE);
  const keyFile = join(source.dir, GENERATED_KEY_FILE);
  const kept = loadKept(certFile, keyFile, log, now);
  if (kept) return { credentials: kept, certFile, keyFile, generated: false };
  const credentials = await generateSelfSigned(hostname(), now);
  try {
    mkdirSync(source.dir, { recursive: true, mode: 0o700 });
    // Key first and each file through a rename, so a crash never leaves a half-written file
    // that the next start would trip over.
    writeAtomically(keyFile, credentials.key, 0o600);
    writeAtomically(certFile, credentials.cert, 0o644);
  } catch (err) {
    throw new VncError(ErrorCode.Config, `cannot store the generated TLS certificate in ${source.dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  log.info('generated a self-signed TLS certificate', { certFile });
  return { credentials, certFile, keyFile, generated: true };
}

/** The kept pair, or null when there is none yet or it has expired (then it is replaced). */
function loadKept(certFile: string, keyFile: string, log: Logger, now: Date): TlsCredentials | null {
  let haveCert = true;
  try {
    statSync(certFile);
  } catch {
    haveCert = false;
  }
  if (!haveCert) return null;
  const cert = readPem(certFile, 'TLS certificate');
  const key = readPem(keyFile, 'TLS key');
  let validTo: Date;
  try {
    validTo = new Date(new X509Certificate(cert).validTo);
  } catch (err) {
    throw new VncError(ErrorCode.Config, `${certFile} is not a certificate; delete it to get a new one`, { cause: err });
  }
  if (validTo.getTime() <= now.getTime()) {
    log.warn('the generated TLS certificate has expired; generating a new one (its fingerprint changes)', { certFile });
    return null;
  }
  const mode = statSync(keyFile).mode & 0o777;
  if (mode & 0o077) log.warn('the TLS key file is readable by other users; chmod 600 it', { keyFile, mode: mode.toString(8) });
  return { cert, key };
}

function writeAtomically(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode, flag: 'w' });
  chmodSync(tmp, mode); // in case the file existed with wider permissions
  renameSync(tmp, file);
}

/** A fresh self-signed pair for `host` (PEM). */
export async function generateSelfSigned(host: string, now: Date = new Date()): Promise<{ key: string; cert: string }> {
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + VALID_YEARS);
  // CN and the DNS SAN must be a valid host name; a container's random one is fine.
  const dnsNames = [...new Set([host, 'localhost'].filter((h) => /^[A-Za-z0-9.-]{1,253}$/.test(h)))];
  const pems = await generate([{ name: 'commonName', value: dnsNames[0] ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000), // tolerate a client clock slightly behind
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...dnsNames.map((value) => ({ type: 2 as const, value })), { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
