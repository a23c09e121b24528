/**
 * The TLS command-line options (--tls, --tls-cert/--tls-key, --tls-dir, --require-tls,
 * --vnc-user): parsing, defaults, contradictions, and that --help documents them.
 */
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText } from '../../cli/help.js';
import { defaultTlsDir, parseOptions, UsageError, type ServerCliOptions } from '../../cli/options.js';

function server(argv: string[], env: Record<string, string> = {}): ServerCliOptions {
  const o = parseOptions(argv, env);
  if (o.mode !== 'server') throw new Error(`expected server mode, got ${o.mode}`);
  return o;
}
function usageError(argv: string[], env: Record<string, string> = {}): UsageError {
  try {
    parseOptions(argv, env);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`no usage error for ${JSON.stringify(argv)}`);
}

describe('TLS options', () => {
  it('are off by default', () => {
    const o = server([]);
    expect(o.tls).toBeUndefined();
    expect(o.requireTls).toBe(false);
    expect(o.vncUser).toBeUndefined();
  });

  it('--tls keeps a generated certificate in the XDG state dir, else ~/.local/state', () => {
    expect(server(['--tls'], { XDG_STATE_HOME: '/var/st' }).tls).toEqual({ kind: 'generated', dir: '/var/st/vnc-runner/tls' });
    expect(server(['--tls'], { HOME: '/home/u' }).tls).toEqual({ kind: 'generated', dir: '/home/u/.local/state/vnc-runner/tls' });
    // A relative XDG_STATE_HOME is invalid per the spec and ignored.
    expect(defaultTlsDir({ XDG_STATE_HOME: 'rel', HOME: '/h' })).toBe('/h/.local/state/vnc-runner/tls');
    expect(server(['--tls-dir', 'certs']).tls).toEqual({ kind: 'generated', dir: resolve('certs') });
  });

  it('--tls-cert/--tls-key take files (resolved to absolute paths) and imply TLS', () => {
    expect(server(['--tls-cert', 'c.pem', '--tls-key', '/k.pem']).tls).toEqual({ kind: 'files', certFile: resolve('c.pem'), keyFile: '/k.pem' });
    expect(usageError(['--tls-cert', 'c.pem']).message).toMatch(/--tls-cert and --tls-key go together/);
    expect(usageError(['--tls-key', 'k.pem']).message).toMatch(/go together/);
    expect(usageError(['--tls-cert', 'c', '--tls-key', 'k', '--tls-dir', 'd']).message).toMatch(/--tls-dir/);
    expect(usageError(['--tls-dir=']).message).toMatch(/must not be empty/);
  });

  it('--require-tls implies --tls', () => {
    const o = server(['--require-tls'], { HOME: '/h' });
    expect(o.requireTls).toBe(true);
    expect(o.tls).toEqual({ kind: 'generated', dir: join('/h', '.local/state/vnc-runner/tls') });
  });

  it('--vnc-user needs TLS and a password', () => {
    expect(server(['--tls', '--vnc-user', 'alice'], { VNC_PASSWORD: 'pw', HOME: '/h' }).vncUser).toBe('alice');
    expect(usageError(['--vnc-user', 'alice'], { VNC_PASSWORD: 'pw' }).message).toMatch(/needs TLS/);
    expect(usageError(['--tls', '--vnc-user', 'alice'], { HOME: '/h' }).message).toMatch(/and a password/);
    expect(usageError(['--tls', '--vnc-user', 'a\nb'], { VNC_PASSWORD: 'pw', HOME: '/h' }).message).toMatch(/control characters/);
  });

  it('warns about a non-loopback listener with a password but without TLS; the loopback rule still holds', () => {
    const clear = server(['--listen', '0.0.0.0:5900'], { VNC_PASSWORD: 'pw' });
    expect(clear.warnings.join('\n')).toMatch(/--listen 0.0.0.0:5900 is reachable from other machines without TLS/);
    const tls = server(['--listen', '0.0.0.0:5900', '--tls'], { VNC_PASSWORD: 'pw', HOME: '/h' });
    expect(tls.warnings.join('\n')).not.toMatch(/without TLS/);
    // TLS is no substitute for a password: still refused without one.
    expect(usageError(['--listen', '0.0.0.0:5900', '--require-tls'], { HOME: '/h' }).message).toMatch(/no password is set/);
  });

  it('belong to the direct server, not the gateway runner', () => {
    const runnerArgs = ['--run-id', 'r1', '--gateway-url', 'https://g.example', '--capability-token', 't'];
    for (const flag of ['--tls', '--require-tls']) {
      expect(usageError([...runnerArgs, flag]).message).toMatch(/direct-server option/);
    }
  });

  it('--help documents each of them', () => {
    const text = helpText();
    for (const f of ['--tls ', '--tls-cert FILE', '--tls-key FILE', '--tls-dir DIR', '--require-tls', '--vnc-user NAME']) expect(text).toContain(f);
    expect(text).toMatch(/X509Vnc/);
    expect(text).toMatch(/TLSNone\/TLSVnc\/TLSPlain\) are not offered/);
  });
});
