import { describe, expect, it } from 'vitest';
import { parseGatewayArgs } from '../../gateway/reference/cli.js';

describe('parseGatewayArgs', () => {
  it('defaults to 127.0.0.1:3100 with the original 100/min limit and reads secrets from env', () => {
    const o = parseGatewayArgs([], { HMAC_SECRET: 's'.repeat(32), GATEWAY_ADMIN_TOKEN: 'adm' });
    expect(o).toMatchObject({ host: '127.0.0.1', port: 3100, rateLimitPerMinute: 100, demo: false, hmacSecret: 's'.repeat(32), adminToken: 'adm' });
  });

  it('takes flags over env and understands --demo', () => {
    const o = parseGatewayArgs(['--port', '0', '--host=0.0.0.0', '--rate-limit', '0', '--state-file', '/tmp/x.json', '--demo'], { GATEWAY_PORT: '9' });
    expect(o).toMatchObject({ host: '0.0.0.0', port: 0, rateLimitPerMinute: 0, stateFile: '/tmp/x.json', demo: true, demoAgentId: 'demo-agent' });
    expect(o.hmacSecret).toBeUndefined();
  });

  it.each([
    [['--port', '70000'], /--port/],
    [['--rate-limit', '-1'], /--rate-limit/],
    [['--tls-cert', '/nope'], /go together/],
    [['--tls-cert', '/nope', '--tls-key', '/nope'], /cannot read TLS/],
    [['--bogus'], /unknown option/],
    [['stray'], /unexpected argument/],
    [['--host'], /needs a value/],
  ])('rejects %j', (argv, msg) => {
    expect(() => parseGatewayArgs(argv, {})).toThrow(msg);
  });
});
