import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/errors.js';
import { silentLogger } from '../../core/log.js';
import { GENERATED_CERT_FILE, GENERATED_KEY_FILE, generateSelfSigned, loadTls } from '../../cli/tls-setup.js';
import { resolveServerTls } from '../../server/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'vencrypt-tls-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('generated TLS certificate', () => {
  it('is ECDSA P-256 / SHA-256 with the host name, localhost and loopback IPs, not a CA', async () => {
    const { key, cert } = await generateSelfSigned('myhost.example');
    const x = new X509Certificate(cert);
    expect(x.subject).toBe('CN=myhost.example');
    expect(x.subjectAltName).toBe('DNS:myhost.example, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(x.ca).toBe(false);
    expect(x.publicKey.asymmetricKeyType).toBe('ec');
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(new Date(x.validTo).getTime() - Date.now()).toBeGreaterThan(4 * 365 * 86400_000);
    // resolveServerTls accepts the pair and reports the same fingerprint.
    expect(resolveServerTls({ key, cert }).fingerprint256).toBe(x.fingerprint256);
  });

  it('is generated once into the state dir (key 0600) and reused on the next start', async () => {
    const stateDir = join(dir, 'state', 'vnc-runner', 'tls');
    const first = await loadTls({ kind: 'generated', dir: stateDir }, silentLogger);
    expect(first.generated).toBe(true);
    expect(statSync(join(stateDir, GENERATED_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const second = await loadTls({ kind: 'generated', dir: stateDir }, silentLogger);
    expect(second.generated).toBe(false);
    expect(String(second.credentials.cert)).toBe(String(first.credentials.cert));
    expect(readFileSync(join(stateDir, GENERATED_CERT_FILE), 'utf8')).toBe(String(first.credentials.cert));
  });

  it('replaces an expired generated certificate', async () => {
    const stateDir = join(dir, 'expired');
    const first = await loadTls({ kind: 'generated', dir: stateDir }, silentLogger);
    const later = new Date(Date.now() + 6 * 365 * 86400_000);
    const again = await loadTls({ kind: 'generated', dir: stateDir }, silentLogger, later);
    expect(again.generated).toBe(true);
    expect(String(again.credentials.cert)).not.toBe(String(first.credentials.cert));
  });

  it('reads given files and reports problems without contents', async () => {
    const { key, cert } = await generateSelfSigned('h');
    writeFileSync(join(dir, 'c.pem'), cert);
    writeFileSync(join(dir, 'k.pem'), key);
    const loaded = await loadTls({ kind: 'files', certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem') }, silentLogger);
    expect(resolveServerTls(loaded.credentials).subject).toBe('CN=h');
    await expect(loadTls({ kind: 'files', certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'k.pem') }, silentLogger)).rejects.toMatchObject({
      code: ErrorCode.Config,
      message: expect.stringMatching(/cannot read TLS certificate .*nope\.pem: ENOENT/),
    });
  });

  it('resolveServerTls refuses garbage and a key that does not match', async () => {
    const a = await generateSelfSigned('a');
    const b = await generateSelfSigned('b');
    expect(() => resolveServerTls({ key: a.key, cert: 'not a cert' })).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
    expect(() => resolveServerTls({ key: 'not a key', cert: a.cert })).toThrow(/not an unencrypted PEM or DER private key/);
    expect(() => resolveServerTls({ key: b.key, cert: a.cert })).toThrow(/does not belong/);
  });
});
