import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenizeArgv, UsageError } from '../../cli/argv.js';
import { helpText } from '../../cli/help.js';
import {
  type CliOptions,
  parseOptions,
  type RunnerCliOptions,
  type ServerCliOptions,
} from '../../cli/options.js';
import { Secret } from '../../cli/secrets.js';
import { createLogger } from '../../core/log.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-options-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function server(argv: string[], env: Record<string, string> = {}): ServerCliOptions {
  const o = parseOptions(argv, env);
  if (o.mode !== 'server') throw new Error(`expected server mode, got ${o.mode}`);
  return o;
}

function runner(argv: string[], env: Record<string, string> = {}): RunnerCliOptions {
  const o = parseOptions(argv, env);
  if (o.mode !== 'runner') throw new Error(`expected runner mode, got ${o.mode}`);
  return o;
}

function usageError(argv: string[], env: Record<string, string> = {}): UsageError {
  try {
    parseOptions(argv, env);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    expect((err as UsageError).code).toBe('VNC_ERR_CONFIG');
    return err as UsageError;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(argv)}`);
}

const RUNNER_ARGS = [
  '--run-id', 'AbCdEf123456',
  '--capability-token', '0'.repeat(64),
  '--gateway-url', 'https://localhost:3100/',
  '--width', '1920', '--height', '1080', '--framerate', '30',
  '--display-mode', 'screen',
  '--agent-id', 'host-1',
  '--agent-label', 'Jane Doe@host-1',
];

describe('tokenizer', () => {
  const spec = { a: 'value', s: 'switch', help: 'switch' } as const;
  it('accepts --flag value, --flag=value, switches and -h', () => {
    const p = tokenizeArgv(['--a', 'x y@z', '--s', '-h'], spec);
    expect(p.flags.get('a')).toBe('x y@z');
    expect(p.flags.get('s')).toBe(true);
    expect(p.flags.get('help')).toBe(true);
    expect(tokenizeArgv(['--a=b=c'], spec).flags.get('a')).toBe('b=c');
    expect(tokenizeArgv(['--a=--s'], spec).flags.get('a')).toBe('--s');
    expect(tokenizeArgv(['--a', '-x'], spec).flags.get('a')).toBe('-x');
    expect(tokenizeArgv(['--a='], spec).flags.get('a')).toBe('');
  });
  it('collects positionals and everything after --', () => {
    expect(tokenizeArgv(['p1', '--', '--a', 'x'], spec).positionals).toEqual(['p1', '--a', 'x']);
  });
  it.each([
    [['--nope'], /unknown option --nope/],
    [['-x'], /unknown option -x/],
    [['--s=1'], /does not take a value/],
    [['--a'], /needs a value/],
    [['--a', '--s'], /needs a value, but the next argument is the option --s/],
    [['--a', '1', '--a=2'], /more than once/],
    [['--constructor'], /unknown option/],
  ])('rejects %j', (argv, message) => {
    expect(() => tokenizeArgv(argv, spec)).toThrow(message);
  });
});

describe('parseOptions: modes', () => {
  it('defaults to the direct server with documented defaults', () => {
    const o = server([]);
    expect(o.listen).toEqual({ host: '127.0.0.1', port: 5900 });
    expect(o.http).toEqual({ host: '127.0.0.1', port: 6080 });
    expect(o.ws).toBeUndefined();
    expect(o.password).toBeUndefined();
    expect(o).toMatchObject({ width: 1920, height: 1080, framerate: 30, viewOnly: false, maxCutTextBytes: 1048576, logLevel: 'info', insecureNoAuth: false });
    expect(o.display).toEqual({ kind: 'private' });
    expect(o.allowOrigins).toEqual([]);
    expect(o.warnings).toEqual([]);
  });
  it('help and version', () => {
    expect(parseOptions(['--help'], {})).toEqual({ mode: 'help' });
    expect(parseOptions(['-h'], {})).toEqual({ mode: 'help' });
    expect(parseOptions(['--listen', '1', '--version'], {})).toEqual({ mode: 'version' });
  });
  it('passes the gateway subcommand argv through untouched', () => {
    const o = parseOptions(['gateway', '--port', '3100', '--whatever=x'], {});
    expect(o).toEqual({ mode: 'gateway', argv: ['--port', '3100', '--whatever=x'] });
    expect(Object.isFrozen(o)).toBe(true);
  });
  it('rejects positionals and unknown flags with exit code 2', () => {
    expect(usageError(['foo']).message).toMatch(/unexpected argument "foo"/);
    expect(usageError(['--lisen', '1']).message).toMatch(/unknown option --lisen/);
  });
  it('returns a deeply frozen object', () => {
    const o = server(['--ws-port', '5901']);
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.listen)).toBe(true);
    expect(Object.isFrozen(o.ws)).toBe(true);
    expect(Object.isFrozen(o.warnings)).toBe(true);
    expect(() => ((o as { viewOnly: boolean }).viewOnly = true)).toThrow(TypeError);
  });
});

describe('parseOptions: direct server flags', () => {
  it('parses every flag', () => {
    const o = server([
      '--listen', '127.0.0.2:5999', '--ws-port=5901', '--http-port', 'localhost:6081', '--view-only',
      '--framerate', '60', '--width', '800', '--height', '600', '--run', "xterm -title 'a b'",
      '--max-cut-text', '4096', '--log-level', 'debug', '--allow-origin', 'http://example.test:8080, https://a.test',
    ]);
    expect(o.listen).toEqual({ host: '127.0.0.2', port: 5999 });
    expect(o.ws).toEqual({ host: '127.0.0.1', port: 5901 });
    expect(o.http).toEqual({ host: 'localhost', port: 6081 });
    expect(o).toMatchObject({ viewOnly: true, framerate: 60, width: 800, height: 600, run: "xterm -title 'a b'", maxCutTextBytes: 4096, logLevel: 'debug' });
    expect(o.display).toEqual({ kind: 'private' });
    expect(o.allowOrigins).toEqual(['http://example.test:8080', 'https://a.test']);
  });
  it('parses IPv6 listen addresses and --no-http', () => {
    const o = server(['--listen', '[::1]:5900', '--no-http']);
    expect(o.listen).toEqual({ host: '::1', port: 5900 });
    expect(o.http).toBeUndefined();
  });
  it('--allow-origin accepts *', () => {
    expect(server(['--allow-origin', '*']).allowOrigins).toBe('*');
    expect(usageError(['--allow-origin', 'http://a.test/path']).message).toMatch(/not an origin/);
  });
  it.each([
    [['--framerate', '0'], /--framerate must be a whole number from 1 to 240/],
    [['--framerate', '241'], /--framerate/],
    [['--framerate', '2.5'], /--framerate/],
    [['--width', '15'], /--width/],
    [['--height', 'x'], /--height/],
    [['--max-cut-text', '-1'], /--max-cut-text/],
    [['--max-cut-text', String(512 * 1024 * 1024)], /--max-cut-text/],
    [['--log-level', 'loud'], /--log-level must be one of/],
    [['--listen', '70000'], /port must be a number/],
    [['--listen', '::1:5900'], /IPv6 address in brackets/],
    [['--listen', '[nothost]:5900'], /not an IPv6 address/],
    [['--listen', ':5900'], /missing host/],
    [['--listen', 'bad_host!:5900'], /not an IP address or host name/],
    [['--http-port', '6080', '--no-http'], /contradict/],
    [['--listen', '5900', '--ws-port', '5900'], /both use port 5900/],
    [['--ws-port', '6080'], /both use port 6080/],
    [['--display', 'nonsense'], /--display must look like/],
    [['--display', ':1', '--run', 'xterm'], /cannot be combined with --display/],
    [['--run', ''], /--run must not be empty/],
    [['--agent-id', 'x'], /belongs to the gateway runner/],
    [['--insecure'], /belongs to the gateway runner/],
  ])('rejects %j', (argv, message) => {
    expect(usageError(argv).message).toMatch(message);
  });
});

describe('parseOptions: display choice', () => {
  it('explicit --display wins, DISPLAY is a fallback, --run forces a private Xvfb', () => {
    expect(server(['--display', ':7'], { DISPLAY: ':0' }).display).toEqual({ kind: 'explicit', name: ':7' });
    expect(server(['--display', 'host:7.0']).display).toEqual({ kind: 'explicit', name: 'host:7.0' });
    expect(server([], { DISPLAY: ':0' }).display).toEqual({ kind: 'env', name: ':0' });
    expect(server(['--run', 'xterm'], { DISPLAY: ':0' }).display).toEqual({ kind: 'private' });
    expect(server([], { DISPLAY: '' }).display).toEqual({ kind: 'private' });
  });
  it('a malformed DISPLAY is ignored with a warning', () => {
    const o = server([], { DISPLAY: 'garbage' });
    expect(o.display).toEqual({ kind: 'private' });
    expect(o.warnings.join('\n')).toMatch(/ignoring DISPLAY/);
  });
  it('warns that --width is ignored with --display', () => {
    expect(server(['--display', ':3', '--width', '800']).warnings.join('\n')).toMatch(/size the private Xvfb only/);
  });
});

describe('parseOptions: the loopback rule', () => {
  it.each([
    [['--listen', '0.0.0.0:5900'], /--listen 0.0.0.0:5900 is reachable from other machines/],
    [['--listen', '[::]:5900'], /--listen \[::\]:5900/],
    [['--listen', 'myhost.example:5900'], /--listen myhost.example:5900/],
    [['--ws-port', '10.0.0.5:5901'], /--ws-port 10.0.0.5:5901/],
    [['--http-port', '0.0.0.0:6080'], /--http-port 0.0.0.0:6080/],
  ])('refuses %j without a password', (argv, message) => {
    const err = usageError(argv);
    expect(err.message).toMatch(message);
    expect(err.message).toMatch(/--password-file|VNC_PASSWORD|--insecure-no-auth/);
  });
  it('accepts loopback addresses without a password', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) {
      expect(server(['--listen', `${host}:5900`]).password).toBeUndefined();
    }
  });
  it('accepts a non-loopback address with a password or --insecure-no-auth', () => {
    expect(server(['--listen', '0.0.0.0:5900'], { VNC_PASSWORD: 'pw' }).password?.reveal()).toBe('pw');
    const o = server(['--listen', '0.0.0.0:5900', '--insecure-no-auth']);
    expect(o.insecureNoAuth).toBe(true);
    expect(o.password).toBeUndefined();
  });
});

describe('parseOptions: passwords', () => {
  it('reads VNC_PASSWORD and warns about more than 8 bytes', () => {
    expect(server([], { VNC_PASSWORD: 'abc' }).password?.reveal()).toBe('abc');
    expect(server([], { VNC_PASSWORD: '123456789' }).warnings.join('\n')).toMatch(/first 8 bytes/);
  });
  it('reads the first line of a plain-text password file, preferring it over VNC_PASSWORD', () => {
    const f = join(dir, 'plain.txt');
    writeFileSync(f, 'pass word@1\nsecond line\n');
    const o = server(['--password-file', f], { VNC_PASSWORD: 'env' });
    expect(o.password?.reveal()).toBe('pass word@1');
    expect(o.warnings.join('\n')).toMatch(/using --password-file/);
  });
  it('decodes a file made by the real `vncpasswd -f`, including a view-only password', () => {
    const f = join(dir, 'passwd.bin');
    writeFileSync(f, execFileSync('vncpasswd', ['-f'], { input: 's3cr3t\n' }));
    const o = server(['--password-file', f]);
    expect(o.password?.reveal()).toBe('s3cr3t');
    expect(o.viewOnlyPassword).toBeUndefined();

    const f2 = join(dir, 'passwd2.bin');
    writeFileSync(f2, execFileSync('vncpasswd', ['-f'], { input: 'fullpw\nviewpw\n' }));
    const o2 = server(['--password-file', f2]);
    expect(o2.password?.reveal()).toBe('fullpw');
    expect(o2.viewOnlyPassword?.reveal()).toBe('viewpw');
  });
  it('reports unreadable or empty password files without their contents', () => {
    expect(usageError(['--password-file', join(dir, 'missing')]).message).toMatch(/cannot read password file .*ENOENT/);
    expect(usageError(['--password-file', dir]).message).toMatch(/not a regular file/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\nsecret-on-line-2\n');
    const err = usageError(['--password-file', empty]);
    expect(err.message).toMatch(/is empty/);
    expect(err.message).not.toMatch(/secret-on-line-2/);
  });
});

describe('parseOptions: gateway runner (delegates to gateway/runner-options parseRunnerArgs)', () => {
  const SECRETS = { HMAC_SECRET: 'h'.repeat(32), AI_RUNNER_TOKEN: 'client-tok' };
  it('parses the exact orchestrator command line (gateway-protocol §8.4)', () => {
    const o = runner([...RUNNER_ARGS, '--insecure'], SECRETS);
    expect(o.runner).toMatchObject({
      runId: 'AbCdEf123456',
      capabilityToken: '0'.repeat(64),
      gatewayUrl: 'https://localhost:3100',
      width: 1920,
      height: 1080,
      framerate: 30,
      displayMode: 'screen',
      agentId: 'host-1',
      agentLabel: 'Jane Doe@host-1',
      insecure: true,
      hmacSecret: 'h'.repeat(32),
      clientToken: 'client-tok',
    });
    // The size and frame-rate hints also size the private Xvfb and pace the server.
    expect(o).toMatchObject({ width: 1920, height: 1080, framerate: 30, display: { kind: 'private' } });
    expect(Object.isFrozen(o.runner)).toBe(true);
  });
  it('parses the shared flags from what the runner parser leaves over, in any order', () => {
    const o = runner(['--log-level', 'debug', ...RUNNER_ARGS, '--run', "xterm -e sh -c 'cat > /tmp/x'", '--view-only', '--max-cut-text=4096'], SECRETS);
    expect(o).toMatchObject({ logLevel: 'debug', run: "xterm -e sh -c 'cat > /tmp/x'", viewOnly: true, maxCutTextBytes: 4096 });
    // A caller flag's value that looks like a runner flag stays the caller's.
    expect(runner([...RUNNER_ARGS, '--run=--insecure'], SECRETS).runner.insecure).toBe(false);
    expect(runner([...RUNNER_ARGS, '--display', ':7'], SECRETS).display).toEqual({ kind: 'explicit', name: ':7' });
  });
  it('takes the capability token from VNC_CAPABILITY_TOKEN and secrets from the environment', () => {
    const argv = RUNNER_ARGS.filter((_, i) => i !== 2 && i !== 3);
    const o = runner(argv, { VNC_CAPABILITY_TOKEN: 'tok', HMAC_SECRET: 'x'.repeat(32), CLIENT_TOKEN: 'ct' });
    expect(o.runner.capabilityToken).toBe('tok');
    expect(o.runner.hmacSecret).toBe('x'.repeat(32));
    expect(o.runner.clientToken).toBe('ct');
    expect(runner(argv, { VNC_CAPABILITY_TOKEN: 'tok', HMAC_SECRET: 'x'.repeat(32), AI_RUNNER_TOKEN: 'ai', CLIENT_TOKEN: 'ct' }).runner.clientToken).toBe('ai');
  });
  it('has defaults for the optional runner flags', () => {
    const o = runner(['--run-id', 'r1', '--gateway-url', 'http://gw:3100', '--capability-token', 't'], SECRETS);
    expect(o.runner.displayMode).toBe('screen');
    expect(o.runner.agentId.length).toBeGreaterThan(0);
    expect(o.runner.agentLabel).toMatch(/^ai-runner@/);
    expect(o.runner.insecure).toBe(false);
    expect(o).toMatchObject({ width: 1920, height: 1080, framerate: 30 });
  });
  it('rounds a fractional frame-rate hint for the frame clock', () => {
    expect(runner([...RUNNER_ARGS.slice(0, 10), '--framerate', '2.5'], SECRETS)).toMatchObject({ framerate: 3, runner: { framerate: 2.5 } });
  });
  it('accepts window mode with a title', () => {
    const o = runner([...RUNNER_ARGS.slice(0, 12), '--display-mode', 'window', '--window-title', 'My App — 1'], SECRETS);
    expect(o.runner).toMatchObject({ displayMode: 'window', windowTitle: 'My App — 1' });
    expect(runner([...RUNNER_ARGS, '--window-title', 'x'], SECRETS).warnings.join('\n')).toMatch(/only with --display-mode window/);
  });
  it.each([
    [['--run-id', 'r1'], /--gateway-url is required/],
    [['--gateway-url', 'https://gw'], /--run-id is required/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw'], /capability token is required/],
    [['--run-id', 'r/1', '--gateway-url', 'https://gw', '--capability-token', 't'], /--run-id must be/],
    [['--run-id', 'r1', '--gateway-url', 'ftp://gw', '--capability-token', 't'], /http:\/\/ or https:\/\//],
    [['--run-id', 'r1', '--gateway-url', 'https://u:p@gw', '--capability-token', 't'], /credentials/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw/?a=1', '--capability-token', 't'], /query/],
    [['--run-id', 'r1', '--gateway-url', 'nota url', '--capability-token', 't'], /not a valid URL/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 'a b'], /printable ASCII/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--display-mode', 'tab'], /screen or window/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--agent-label', 'x'.repeat(101)], /longer than 100/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--agent-label', 'a\nb'], /control characters/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--width', '15'], /--width must be between 16/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--framerate', 'fast'], /--framerate/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--listen', '5900'], /direct-server option/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', '--password-file', 'f'], /direct-server option/],
    [['--run-id', 'r1', '--run-id', 'r2', '--gateway-url', 'https://gw'], /more than once/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--agent-label', '--insecure'], /needs a value/],
    [['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't', 'extra'], /unexpected argument "extra"/],
  ])('rejects %j with exit code 2', (argv, message) => {
    expect(usageError(argv, SECRETS).message).toMatch(message);
  });
  it('refuses to start without the HMAC secret or the client token (exit code 2)', () => {
    const argv = ['--run-id', 'r1', '--gateway-url', 'https://gw', '--capability-token', 't'];
    expect(usageError(argv, { AI_RUNNER_TOKEN: 'c' }).message).toMatch(/HMAC_SECRET must be set/);
    expect(usageError(argv, { AI_RUNNER_TOKEN: 'c', HMAC_SECRET: 'short' }).message).toMatch(/at least 32/);
    expect(usageError(argv, { HMAC_SECRET: 'h'.repeat(32) }).message).toMatch(/AI_RUNNER_TOKEN/);
  });
});

describe('secrets never leak', () => {
  const PASSWORD = 'pw-SENTINEL-1';
  const TOKEN = 'tok-SENTINEL-2';
  const HMAC = 'hmac-SENTINEL-3-'.padEnd(40, 'x');
  const CLIENT = 'client-SENTINEL-4';
  const all: [string, CliOptions][] = [
    ['server', parseOptions([], { VNC_PASSWORD: PASSWORD })],
    ['runner', parseOptions(RUNNER_ARGS.map((a) => (a === '0'.repeat(64) ? TOKEN : a)), { HMAC_SECRET: HMAC, AI_RUNNER_TOKEN: CLIENT, VNC_PASSWORD: PASSWORD })],
    ['runner (token from env)', parseOptions(RUNNER_ARGS.filter((a) => a !== '--capability-token' && a !== '0'.repeat(64)), { VNC_CAPABILITY_TOKEN: TOKEN, HMAC_SECRET: HMAC, CLIENT_TOKEN: CLIENT })],
  ];
  it.each(all)('%s options hide every secret from JSON, inspect, String and the logger', (_name, o) => {
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l), level: 'debug' }).info('options', { options: o, ...o });
    const renderings = [JSON.stringify(o), inspect(o, { depth: 10, showHidden: true }), String(o), `${JSON.stringify(Object.entries(o))}`, lines.join('\n')];
    for (const text of renderings) {
      for (const s of [PASSWORD, TOKEN, HMAC, CLIENT]) expect(text).not.toContain(s);
    }
    expect(JSON.stringify(o)).toContain('[redacted]');
    if (o.mode === 'runner') {
      // The rendering is the useful description, not an empty shell.
      expect(JSON.stringify(o)).toContain('AbCdEf123456');
      expect(inspect(o, { depth: 10 })).toContain('Jane Doe@host-1');
      const r = o.runner;
      for (const text of [JSON.stringify(r), String(r), `${r}`, inspect(r, { showHidden: true, depth: 10 }), inspect({ r }, { depth: 10 })]) {
        for (const s of [TOKEN, HMAC, CLIENT]) expect(text).not.toContain(s);
      }
    }
  });
  it('Secret prints [redacted] in every form but reveals on request', () => {
    const s = new Secret('hunter2');
    expect(`${s}`).toBe('[redacted]');
    expect(String(s)).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect(s)).toBe('Secret([redacted])');
    expect(Object.keys(s)).toEqual([]);
    expect({ ...s }).toEqual({});
    expect(s.reveal()).toBe('hunter2');
    expect(s.length).toBe(7);
  });
});

describe('help', () => {
  it('documents every flag the parser accepts, the env vars and has examples', () => {
    const text = helpText();
    const flags = [
      'listen', 'ws-port', 'http-port', 'no-http', 'password-file', 'insecure-no-auth', 'allow-origin', 'display', 'width', 'height',
      'run', 'framerate', 'view-only', 'max-cut-text', 'run-id', 'gateway-url', 'capability-token', 'display-mode', 'window-title',
      'agent-id', 'agent-label', 'insecure', 'log-level', 'help', 'version',
    ];
    for (const f of flags) {
      expect(text).toContain(`--${f}`);
      // every documented flag is really accepted (no usage error about an unknown option)
      try {
        parseOptions([`--${f}=x`], {});
      } catch (err) {
        expect((err as Error).message).not.toMatch(/unknown option/);
      }
    }
    for (const env of ['VNC_PASSWORD', 'VNC_CAPABILITY_TOKEN', 'DISPLAY', 'HMAC_SECRET', 'AI_RUNNER_TOKEN']) expect(text).toContain(env);
    expect(text).toMatch(/Examples:/);
    expect(text).toContain('scripts/install-deps.sh --runtime');
  });
});
