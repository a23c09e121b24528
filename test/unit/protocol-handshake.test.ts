import { describe, expect, it } from 'vitest';
import { ErrorCode, VncError } from '../../core/errors.js';
import { vncAuthResponse } from '../../server/auth/vnc-auth.js';
import { ByteQueue } from '../../server/protocol/byte-queue.js';
import { SecurityType } from '../../server/protocol/constants.js';
import { defaultSecurityTypes, ServerHandshake, type HandshakeOptions, type HandshakeStep } from '../../server/protocol/handshake.js';
import { chunkings, seededRandom } from '../helpers/chunked-feeder.js';

const CHALLENGE = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');
const V38 = Buffer.from('RFB 003.008\n', 'latin1');
const v = (s: string) => Buffer.from(`RFB ${s}\n`, 'latin1');
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n, 0); return b; };
const reason = (s: string) => Buffer.concat([u32(s.length), Buffer.from(s, 'latin1')]);
const cat = (...parts: (Buffer | number[])[]) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));

type Outcome =
  | { status: 'pending' }
  | { status: 'done'; result: unknown }
  | { status: 'failed'; code: string; delayReply: boolean; message: string };

/** Runs a whole handshake over the given chunks; returns every byte the server sent and the outcome. */
function run(opts: HandshakeOptions, chunks: Buffer[]) {
  const hs = new ServerHandshake({ challenge: () => Buffer.from(CHALLENGE), ...opts });
  const sent: Buffer[] = [hs.start()];
  const q = new ByteQueue();
  let last: HandshakeStep | undefined;
  for (const c of chunks) {
    q.push(c);
    if (last && last.status !== 'pending') continue;
    last = hs.receive(q);
    sent.push(last.send);
  }
  let outcome: Outcome = { status: 'pending' };
  if (last?.status === 'done') outcome = { status: 'done', result: last.result };
  if (last?.status === 'failed') {
    outcome = { status: 'failed', code: last.error.code, delayReply: last.delayReply, message: last.error.message };
  }
  return { sent: Buffer.concat(sent), outcome, leftover: q.available, state: hs.stateName };
}

interface Scenario {
  name: string;
  opts: HandshakeOptions;
  client: Buffer;
  server: Buffer;
  outcome: Outcome;
  leftover?: number;
}

const resp = (pw: string) => vncAuthResponse(CHALLENGE, pw);
const done = (version: string, securityType: number, shared: boolean, viewOnly = false, clientVersion = `RFB 00${version.replace('.', '.00')}`) => ({
  status: 'done' as const,
  result: { version, clientVersion, securityType, shared, viewOnly },
});
const authFail = (message: string, delayReply: boolean): Outcome => ({ status: 'failed', code: ErrorCode.Auth, delayReply, message });

const SCENARIOS: Scenario[] = [
  { name: '3.8 None shared', opts: {}, client: cat(V38, [1], [1]), server: cat(V38, [1, 1], u32(0)), outcome: done('3.8', 1, true) },
  { name: '3.8 None exclusive', opts: {}, client: cat(V38, [1], [0]), server: cat(V38, [1, 1], u32(0)), outcome: done('3.8', 1, false) },
  { name: '3.7 None (no SecurityResult)', opts: {}, client: cat(v('003.007'), [1], [1]), server: cat(V38, [1, 1]), outcome: done('3.7', 1, true) },
  { name: '3.3 None (server decides, no SecurityResult)', opts: {}, client: cat(v('003.003'), [1]), server: cat(V38, u32(1)), outcome: done('3.3', 1, true) },
  {
    name: '3.8 VNC auth ok',
    opts: { password: 'secret' },
    client: cat(V38, [2], resp('secret'), [1]),
    server: cat(V38, [1, 2], CHALLENGE, u32(0)),
    outcome: done('3.8', 2, true),
  },
  {
    name: '3.7 VNC auth ok',
    opts: { password: 'secret' },
    client: cat(v('003.007'), [2], resp('secret'), [0]),
    server: cat(V38, [1, 2], CHALLENGE, u32(0)),
    outcome: done('3.7', 2, false),
  },
  {
    name: '3.3 VNC auth ok',
    opts: { password: 'secret' },
    client: cat(v('003.003'), resp('secret'), [1]),
    server: cat(V38, u32(2), CHALLENGE, u32(0)),
    outcome: done('3.3', 2, true),
  },
  {
    name: '3.8 wrong password: SecurityResult 1 + reason, delayed',
    opts: { password: 'secret' },
    client: cat(V38, [2], resp('guess')),
    server: cat(V38, [1, 2], CHALLENGE, u32(1), reason('authentication failed')),
    outcome: authFail('authentication failed', true),
  },
  {
    name: '3.7 wrong password: SecurityResult 1, no reason',
    opts: { password: 'secret' },
    client: cat(v('003.007'), [2], resp('guess')),
    server: cat(V38, [1, 2], CHALLENGE, u32(1)),
    outcome: authFail('authentication failed', true),
  },
  {
    name: '3.3 wrong password: SecurityResult 1, no reason',
    opts: { password: 'secret' },
    client: cat(v('003.003'), resp('guess')),
    server: cat(V38, u32(2), CHALLENGE, u32(1)),
    outcome: authFail('authentication failed', true),
  },
  {
    name: 'view-only password gives a view-only session',
    opts: { password: 'secret', viewOnlyPassword: 'lookonly' },
    client: cat(V38, [2], resp('lookonly'), [1]),
    server: cat(V38, [1, 2], CHALLENGE, u32(0)),
    outcome: done('3.8', 2, true, true),
  },
  {
    name: 'full password wins when both are equal',
    opts: { password: 'same', viewOnlyPassword: 'same' },
    client: cat(V38, [2], resp('same'), [1]),
    server: cat(V38, [1, 2], CHALLENGE, u32(0)),
    outcome: done('3.8', 2, true, false),
  },
  {
    name: '3.8 security type not offered',
    opts: {},
    client: cat(V38, [2]),
    server: cat(V38, [1, 1], u32(1), reason('security type 2 was not offered')),
    outcome: authFail('security type 2 was not offered', false),
  },
  {
    name: '3.8 security type 0 (invalid)',
    opts: { password: 'x' },
    client: cat(V38, [0]),
    server: cat(V38, [1, 2], u32(1), reason('security type 0 was not offered')),
    outcome: authFail('security type 0 was not offered', false),
  },
  {
    name: '3.7 security type not offered: no reason string',
    opts: { password: 'x' },
    client: cat(v('003.007'), [1]),
    server: cat(V38, [1, 2], u32(1)),
    outcome: authFail('security type 1 was not offered', false),
  },
  {
    name: 'Apple 3.889 is spoken as 3.8',
    opts: {},
    client: cat(v('003.889'), [1], [1]),
    server: cat(V38, [1, 1], u32(0)),
    outcome: done('3.8', 1, true, false, 'RFB 003.889'),
  },
  {
    name: '3.5 is 3.3 (rfbproto)',
    opts: {},
    client: cat(v('003.005'), [1]),
    server: cat(V38, u32(1)),
    outcome: done('3.3', 1, true, false, 'RFB 003.005'),
  },
  {
    name: 'unofficial 3.9 is 3.8',
    opts: {},
    client: cat(v('003.009'), [1], [1]),
    server: cat(V38, [1, 1], u32(0)),
    outcome: done('3.8', 1, true, false, 'RFB 003.009'),
  },
  {
    name: 'unofficial 3.6 is 3.3',
    opts: {},
    client: cat(v('003.006'), [0]),
    server: cat(V38, u32(1)),
    outcome: done('3.3', 1, false, false, 'RFB 003.006'),
  },
  {
    name: 'major 4: 3.7+-style failure (no types + reason)',
    opts: {},
    client: v('004.001'),
    server: cat(V38, [0], reason('unsupported protocol version')),
    outcome: { status: 'failed', code: ErrorCode.Protocol, delayReply: false, message: 'unsupported protocol version RFB 004.001' },
  },
  {
    name: 'garbage version: protocol error, nothing sent',
    opts: {},
    client: Buffer.from('GET / HTTP/1.1\r\n', 'latin1'),
    server: V38,
    outcome: { status: 'failed', code: ErrorCode.Protocol, delayReply: false, message: 'bad ProtocolVersion "GET / HTTP/1"' },
    leftover: 4,
  },
  {
    name: 'almost a version (letters in the number): protocol error',
    opts: {},
    client: Buffer.from('RFB 003.00a\n', 'latin1'),
    server: V38,
    outcome: { status: 'failed', code: ErrorCode.Protocol, delayReply: false, message: 'bad ProtocolVersion "RFB 003.00a\\n"' },
  },
  {
    name: 'refused 3.8: empty type list + reason',
    opts: { refuseReason: 'too many clients' },
    client: V38,
    server: cat(V38, [0], reason('too many clients')),
    outcome: { status: 'failed', code: ErrorCode.Auth, delayReply: false, message: 'connection refused: too many clients' },
  },
  {
    name: 'refused 3.3: type 0 + reason',
    opts: { refuseReason: 'too many clients' },
    client: v('003.003'),
    server: cat(V38, u32(0), reason('too many clients')),
    outcome: { status: 'failed', code: ErrorCode.Auth, delayReply: false, message: 'connection refused: too many clients' },
  },
  {
    name: 'client pipelines messages after ClientInit: they stay queued',
    opts: {},
    client: cat(V38, [1], [1], [2, 0, 0, 1, 0, 0, 0, 6]),
    server: cat(V38, [1, 1], u32(0)),
    outcome: done('3.8', 1, true),
    leftover: 8,
  },
  {
    name: 'preference order: both offered, 3.3 gets the first',
    opts: { password: 'p', securityTypes: [SecurityType.VncAuth, SecurityType.None] },
    client: cat(v('003.003'), resp('p'), [1]),
    server: cat(V38, u32(2), CHALLENGE, u32(0)),
    outcome: done('3.3', 2, true),
  },
  {
    name: 'both offered, 3.8 client picks None',
    opts: { password: 'p', securityTypes: [SecurityType.VncAuth, SecurityType.None] },
    client: cat(V38, [1], [1]),
    server: cat(V38, [2, 2, 1], u32(0)),
    outcome: done('3.8', 1, true),
  },
];

describe('ServerHandshake', () => {
  it.each(SCENARIOS)('$name', (s) => {
    const whole = run(s.opts, [s.client]);
    expect(whole.outcome).toEqual(s.outcome);
    expect(whole.sent.toString('hex')).toBe(s.server.toString('hex'));
    expect(whole.leftover).toBe(s.leftover ?? 0);
    // Identical results byte by byte and in 2 × 40 random splits.
    for (const { label, chunks } of chunkings(s.client, 40)) {
      const r = run(s.opts, chunks);
      expect(r.outcome, label).toEqual(s.outcome);
      expect(r.sent.toString('hex'), label).toBe(s.server.toString('hex'));
      expect(r.leftover, label).toBe(s.leftover ?? 0);
    }
  });

  it('stays pending (sending only what is due) until the client has said enough', () => {
    const hs = new ServerHandshake({ password: 'secret', challenge: () => Buffer.from(CHALLENGE) });
    hs.start();
    const q = new ByteQueue();
    q.push(V38.subarray(0, 11));
    expect(hs.receive(q)).toEqual({ status: 'pending', send: Buffer.alloc(0) });
    q.push(V38.subarray(11));
    expect(hs.receive(q).send.toString('hex')).toBe('0102');
    expect(hs.stateName).toBe('security-choice');
    q.push(Buffer.from([2]));
    expect(hs.receive(q).send.equals(CHALLENGE)).toBe(true);
    q.push(resp('secret').subarray(0, 15));
    expect(hs.receive(q).send.length).toBe(0);
    expect(hs.stateName).toBe('vnc-auth');
  });

  it('uses a fresh random challenge by default', () => {
    const challenges = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const hs = new ServerHandshake({ password: 'p' });
      hs.start();
      const q = new ByteQueue();
      q.push(cat(V38, [2]));
      const step = hs.receive(q);
      expect(step.send.length).toBe(2 + 16);
      challenges.add(step.send.subarray(2).toString('hex'));
    }
    expect(challenges.size).toBe(3);
  });

  it('is single-use: receive after the end and start twice are programmer errors', () => {
    const hs = new ServerHandshake();
    expect(() => hs.receive(new ByteQueue())).toThrow(/before start/);
    hs.start();
    expect(() => hs.start()).toThrow(/twice/);
    const q = new ByteQueue();
    q.push(cat(V38, [1], [1]));
    expect(hs.receive(q).status).toBe('done');
    expect(() => hs.receive(q)).toThrow(/finished/);
  });

  it('failure steps carry a VncError', () => {
    const r = new ServerHandshake();
    r.start();
    const q = new ByteQueue();
    q.push(Buffer.from('xxxxxxxxxxxx'));
    const step = r.receive(q);
    expect(step.status).toBe('failed');
    if (step.status === 'failed') expect(step.error).toBeInstanceOf(VncError);
  });

  it('rejects bad configurations with VNC_ERR_CONFIG', () => {
    const bad: HandshakeOptions[] = [
      { password: '' },
      { viewOnlyPassword: '' },
      { securityTypes: [SecurityType.VeNCrypt] },
      { securityTypes: [SecurityType.VncAuth] },
      { password: 'x', securityTypes: [SecurityType.None, SecurityType.None] },
    ];
    for (const o of bad) expect(() => new ServerHandshake(o)).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
  });

  it('an empty type list refuses after the version', () => {
    const r = run({ securityTypes: [] }, [V38]);
    expect(r.outcome).toMatchObject({ status: 'failed', code: ErrorCode.Auth });
    expect(r.sent.toString('hex')).toBe(cat(V38, [0], reason('no security types are enabled')).toString('hex'));
  });

  it('defaultSecurityTypes: None without passwords, VNC auth with any', () => {
    expect(defaultSecurityTypes()).toEqual([SecurityType.None]);
    expect(defaultSecurityTypes('a')).toEqual([SecurityType.VncAuth]);
    expect(defaultSecurityTypes(undefined, 'b')).toEqual([SecurityType.VncAuth]);
  });
});

describe('ServerHandshake under random input', () => {
  it('never throws: every stream ends pending, done or failed with a VncError', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = seededRandom(seed);
      const prefix = seed % 3 === 0 ? Buffer.alloc(0) : seed % 3 === 1 ? V38 : v('003.003');
      const soup = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
      const r = run(seed % 2 ? { password: 'pw', viewOnlyPassword: 'vo' } : {}, [Buffer.concat([prefix, soup])]);
      expect(['pending', 'done', 'failed']).toContain(r.outcome.status);
      if (r.outcome.status === 'failed') expect([ErrorCode.Auth, ErrorCode.Protocol]).toContain(r.outcome.code);
    }
  });
});
