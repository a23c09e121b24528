import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { describeRunnerOptions, parsePollInterval, parseRunnerArgs } from '../../gateway/runner-options.js';

const SECRET = 'x'.repeat(32);
const baseEnv = { HMAC_SECRET: SECRET, AI_RUNNER_TOKEN: 'client-tok' };
const baseArgs = ['--run-id', 'R1', '--capability-token', 'cap', '--gateway-url', 'https://gw.example:3100'];

describe('parseRunnerArgs', () => {
  it('parses the orchestrator command line from the spec', () => {
    const { options, rest } = parseRunnerArgs(
      [...baseArgs, '--width', '1920', '--height', '1080', '--framerate', '30', '--display-mode', 'window',
        '--agent-id', 'host-1', '--agent-label', 'ai-runner@my host', '--insecure'],
      baseEnv,
    );
    expect(rest).toEqual([]);
    expect(options).toMatchObject({
      runId: 'R1',
      capabilityToken: 'cap',
      gatewayUrl: 'https://gw.example:3100',
      width: 1920,
      height: 1080,
      framerate: 30,
      displayMode: 'window',
      agentId: 'host-1',
      agentLabel: 'ai-runner@my host',
      insecure: true,
      hmacSecret: SECRET,
      clientToken: 'client-tok',
      pollIntervalMs: 2000,
      heartbeatIntervalMs: 30_000,
    });
  });

  it('accepts --flag=value and leaves unknown arguments to the caller', () => {
    const { options, rest } = parseRunnerArgs(['--run-id=R2', '--capability-token=c', '--gateway-url=http://h', '--encodings', 'tight', 'extra'], baseEnv);
    expect(options.runId).toBe('R2');
    expect(rest).toEqual(['--encodings', 'tight', 'extra']);
  });

  it('takes the capability token from the environment and the client token from CLIENT_TOKEN', () => {
    const { options } = parseRunnerArgs(['--run-id', 'R', '--gateway-url', 'http://h'], {
      HMAC_SECRET: SECRET,
      CLIENT_TOKEN: 'ct',
      VNC_CAPABILITY_TOKEN: 'from-env',
    });
    expect(options.capabilityToken).toBe('from-env');
    expect(options.clientToken).toBe('ct');
    expect(options.displayMode).toBe('screen');
    expect(options.agentId.length).toBeGreaterThan(0);
  });

  it('prefers AI_RUNNER_TOKEN over CLIENT_TOKEN', () => {
    const { options } = parseRunnerArgs(baseArgs, { ...baseEnv, CLIENT_TOKEN: 'other' });
    expect(options.clientToken).toBe('client-tok');
  });

  it.each([
    [['--gateway-url', 'http://h', '--capability-token', 'c'], baseEnv, /--run-id/],
    [['--run-id', 'R', '--gateway-url', 'http://h'], baseEnv, /capability token/],
    [['--run-id', 'R', '--capability-token', 'c'], baseEnv, /--gateway-url/],
    [[...baseArgs.slice(0, 4), '--gateway-url', 'ftp://h'], baseEnv, /http/],
    [baseArgs, { AI_RUNNER_TOKEN: 't', HMAC_SECRET: 'short' }, /HMAC_SECRET/],
    [baseArgs, { HMAC_SECRET: SECRET }, /AI_RUNNER_TOKEN/],
    [[...baseArgs, '--width', 'wide'], baseEnv, /--width/],
    [[...baseArgs, '--display-mode', 'tv'], baseEnv, /display-mode/],
    [[...baseArgs, '--run-id'], baseEnv, /needs a value/],
  ])('rejects bad input %#', (argv, env, msg) => {
    expect(() => parseRunnerArgs(argv as string[], env as NodeJS.ProcessEnv)).toThrow(msg);
  });

  it('never puts a secret into error messages or the loggable description', () => {
    const { options } = parseRunnerArgs(baseArgs, baseEnv);
    const text = JSON.stringify(describeRunnerOptions(options));
    expect(text).not.toContain('cap');
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('client-tok');
    try {
      parseRunnerArgs([...baseArgs, '--width', 'x'], baseEnv);
    } catch (e) {
      expect(String(e)).not.toContain(SECRET);
    }
  });
});

describe('parseRunnerArgs: the one parser of the orchestrator contract', () => {
  it('takes --agent-label values with spaces and @ verbatim, in both forms', () => {
    expect(parseRunnerArgs([...baseArgs, '--agent-label', 'Jane Doe@host 1'], baseEnv).options.agentLabel).toBe('Jane Doe@host 1');
    expect(parseRunnerArgs([...baseArgs, '--agent-label=Jane Doe@host=1'], baseEnv).options.agentLabel).toBe('Jane Doe@host=1');
  });

  it('parses --window-title and normalises the gateway URL', () => {
    const { options } = parseRunnerArgs(
      ['--run-id', 'R', '--capability-token', 'c', '--gateway-url', 'https://gw.example:3100/', '--display-mode', 'window', '--window-title', 'My App — 1'],
      baseEnv,
    );
    expect(options).toMatchObject({ gatewayUrl: 'https://gw.example:3100', displayMode: 'window', windowTitle: 'My App — 1' });
  });

  it('keeps the values of the caller\'s flags with them, even when they look like ours', () => {
    const { options, rest } = parseRunnerArgs([...baseArgs, '--run', '--insecure', '--log-level=debug', '--view-only'], baseEnv, {
      callerValueFlags: ['run', 'log-level'],
    });
    expect(options.insecure).toBe(false);
    expect(rest).toEqual(['--run', '--insecure', '--log-level=debug', '--view-only']);
  });

  it.each([
    [[...baseArgs, '--run-id', 'R2'], /--run-id was given more than once/],
    [[...baseArgs, '--insecure', '--insecure'], /--insecure was given more than once/],
    [['--run-id', 'a/b', '--capability-token', 'c', '--gateway-url', 'http://h'], /--run-id must be/],
    [['--run-id', 'R', '--capability-token', 'c d', '--gateway-url', 'http://h'], /printable ASCII/],
    [['--run-id', 'R', '--capability-token', 'c', '--gateway-url', 'http://h/?x=1'], /query or fragment/],
    [[...baseArgs, '--agent-id', 'a\tb'], /control characters/],
    [[...baseArgs, '--window-title', 'x'.repeat(1025)], /longer than 1024/],
    [[...baseArgs, '--framerate', '0'], /--framerate/],
  ])('rejects %j', (argv, msg) => {
    expect(() => parseRunnerArgs(argv, baseEnv)).toThrow(msg);
  });

  it('prints as its description in JSON, String, inspect and the logger: secrets never show', () => {
    const env = { HMAC_SECRET: 'HMAC-SENTINEL-'.padEnd(40, 'x'), AI_RUNNER_TOKEN: 'CLIENT-SENTINEL' };
    const { options } = parseRunnerArgs(['--run-id', 'R9', '--capability-token', 'CAP-SENTINEL', '--gateway-url', 'http://h', '--agent-label', 'Jane Doe@h'], env);
    const lines: string[] = [];
    createLogger({ write: (l) => lines.push(l), level: 'debug' }).info('options', { options, nested: { options } as unknown as string });
    const renderings = [
      JSON.stringify(options),
      JSON.stringify({ options }),
      String(options),
      `${options}`,
      inspect(options, { showHidden: true, depth: 10 }),
      inspect({ options }, { depth: 10 }),
      JSON.stringify(describeRunnerOptions(options)),
      lines.join('\n'),
    ];
    for (const text of renderings) {
      for (const secret of ['CAP-SENTINEL', 'HMAC-SENTINEL', 'CLIENT-SENTINEL']) expect(text).not.toContain(secret);
    }
    expect(JSON.stringify(options)).toContain('Jane Doe@h');
    expect(JSON.stringify(options)).toContain('[redacted]');
    expect(String(options)).toContain('R9');
    // The values are still there for the code that signs with them.
    expect(options.capabilityToken).toBe('CAP-SENTINEL');
    expect(Object.keys(options)).not.toContain('toJSON');
  });
});

describe('parsePollInterval', () => {
  it('defaults to 2 s and accepts fractional seconds', () => {
    expect(parsePollInterval(undefined)).toBe(2000);
    expect(parsePollInterval('2.5')).toBe(2500);
    expect(parsePollInterval('0.01')).toBe(100);
    expect(parsePollInterval('100000')).toBe(300_000);
  });

  it('rejects non-numbers instead of crashing later (P14)', () => {
    expect(() => parsePollInterval('abc')).toThrow(/VNC_COMMAND_POLL_INTERVAL/);
    expect(() => parsePollInterval('0')).toThrow();
    expect(() => parsePollInterval('-1')).toThrow();
  });
});
