/**
 * VeNCrypt (security type 19) in the pure handshake: negotiation fed whole, byte by byte and
 * in random splits, on both sides of the STARTTLS point; wrong versions, subtypes that were not
 * offered, Plain credentials, and the security policy that decides what is offered.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../core/errors.js';
import { checkPlainCredentials } from '../../server/auth/plain-auth.js';
import { vncAuthResponse } from '../../server/auth/vnc-auth.js';
import { ByteQueue } from '../../server/protocol/byte-queue.js';
import { SecurityType } from '../../server/protocol/constants.js';
import {
  describeSecurity,
  isAuthenticated,
  ServerHandshake,
  type HandshakeOptions,
  type HandshakeResult,
  type HandshakeStep,
} from '../../server/protocol/handshake.js';
import { MAX_PLAIN_FIELD_BYTES, VeNCryptSubtype, readPlainCredentials } from '../../server/protocol/vencrypt.js';
import { securityOffer } from '../../server/security-offer.js';
import { chunkings, feed } from '../helpers/chunked-feeder.js';

const CHALLENGE = Buffer.from('f0e1d2c3b4a5968778695a4b3c2d1e0f', 'hex');
const V38 = Buffer.from('RFB 003.008\n', 'latin1');
const V37 = Buffer.from('RFB 003.007\n', 'latin1');
const V33 = Buffer.from('RFB 003.003\n', 'latin1');
/** Stand-in for the client's TLS ClientHello that may follow the subtype choice in one segment. */
const EARLY_TLS = Buffer.from('16030100c8010000c40303', 'hex');
const { X509None, X509Vnc, X509Plain, TLSNone } = VeNCryptSubtype;

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};
const cat = (...parts: (Buffer | number[])[]) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const reason = (s: string) => cat(u32(Buffer.byteLength(s)), Buffer.from(s, 'utf8'));
const plain = (user: string, pw: string) => cat(u32(Buffer.byteLength(user)), u32(Buffer.byteLength(pw)), Buffer.from(user), Buffer.from(pw));

const TLS_PASSWORD: HandshakeOptions = {
  password: 'secret',
  securityTypes: [SecurityType.VeNCrypt, SecurityType.VncAuth],
  vencryptSubtypes: [X509Vnc, X509Plain],
};
const TLS_NO_PASSWORD: HandshakeOptions = { securityTypes: [SecurityType.VeNCrypt, SecurityType.None], vencryptSubtypes: [X509None] };

/** The server's bytes up to and including the subtype list, for a 3.8 client. */
const serverUntilList = (types: number[], subtypes: number[]) =>
  cat(V38, [types.length, ...types], [0, 2], [0, subtypes.length], ...subtypes.map(u32));

type Outcome =
  | { status: 'pending' }
  | { status: 'done'; result: HandshakeResult }
  | { status: 'failed'; code: string; delayReply: boolean; message: string };

interface Run {
  /** Everything sent before TLS (in the clear). */
  clear: Buffer;
  /** Everything sent after TLS was established. */
  secure: Buffer;
  starttls: boolean;
  /** Bytes handed to the TLS layer (what was queued after the subtype choice). */
  early: Buffer;
  outcome: Outcome;
  leftover: number;
}

function outcomeOf(step: HandshakeStep | undefined): Outcome {
  if (step?.status === 'done') return { status: 'done', result: step.result };
  if (step?.status === 'failed') return { status: 'failed', code: step.error.code, delayReply: step.delayReply, message: step.error.message };
  return { status: 'pending' };
}

/**
 * Drives a handshake as the session does: `clearChunks` arrive before TLS; on a starttls step
 * the queued bytes go to "the TLS layer" (collected in `early`), then `tlsEstablished()` and the
 * decrypted `secureChunks` go through a fresh queue.
 */
function drive(opts: HandshakeOptions, clearChunks: Buffer[], secureChunks: Buffer[] = []): Run {
  const hs = new ServerHandshake({ challenge: () => Buffer.from(CHALLENGE), ...opts });
  const clear: Buffer[] = [hs.start()];
  const secure: Buffer[] = [];
  const early: Buffer[] = [];
  let q = new ByteQueue();
  let last: HandshakeStep | undefined;
  let starttls = false;
  for (const c of clearChunks) {
    if (starttls) {
      early.push(c); // the raw stream now belongs to TLS
      continue;
    }
    q.push(c);
    if (last && last.status !== 'pending') continue;
    last = hs.receive(q);
    clear.push(last.send);
    if (last.status === 'starttls') {
      starttls = true;
      if (q.available > 0) early.push(q.readBytes(q.available));
    }
  }
  if (starttls) {
    // Data before the TLS layer reports success must not be consumed (receive is a no-op).
    expect(hs.stateName).toBe('tls');
    expect(hs.receive(new ByteQueue()).status).toBe('pending');
    secure.push(hs.tlsEstablished());
    q = new ByteQueue();
    last = undefined;
    for (const c of secureChunks) {
      q.push(c);
      if (last && last.status !== 'pending') continue;
      last = hs.receive(q);
      secure.push(last.send);
    }
  }
  return {
    clear: Buffer.concat(clear),
    secure: Buffer.concat(secure),
    starttls,
    early: Buffer.concat(early),
    outcome: outcomeOf(last),
    leftover: q.available,
  };
}

interface Scenario {
  name: string;
  opts: HandshakeOptions;
  /** Client bytes in the clear (the early TLS bytes are appended by the test). */
  clientClear: Buffer;
  clientSecure: Buffer;
  serverClear: Buffer;
  serverSecure: Buffer;
  outcome: Outcome;
}

const vencryptDone = (subtype: number, viewOnly = false, version = '3.8', shared = true): Outcome => ({
  status: 'done',
  result: {
    version: version as '3.8',
    clientVersion: version === '3.8' ? 'RFB 003.008' : 'RFB 003.007',
    securityType: SecurityType.VeNCrypt,
    shared,
    viewOnly,
    vencryptSubtype: subtype as 260,
  },
});
const authFailed: Outcome = { status: 'failed', code: ErrorCode.Auth, delayReply: true, message: 'authentication failed' };

const SCENARIOS: Scenario[] = [
  {
    name: 'X509None, 3.8',
    opts: TLS_NO_PASSWORD,
    clientClear: cat(V38, [19], [0, 2], u32(X509None)),
    clientSecure: cat([1]),
    serverClear: cat(serverUntilList([19, 1], [X509None]), [1]),
    serverSecure: u32(0),
    outcome: vencryptDone(X509None),
  },
  {
    name: 'X509None, 3.7 (SecurityResult is still sent, as TigerVNC does)',
    opts: TLS_NO_PASSWORD,
    clientClear: cat(V37, [19], [0, 2], u32(X509None)),
    clientSecure: cat([0]),
    serverClear: cat(serverUntilList([19, 1], [X509None]), [1]),
    serverSecure: u32(0),
    outcome: vencryptDone(X509None, false, '3.7', false),
  },
  {
    name: 'X509Vnc, right password',
    opts: TLS_PASSWORD,
    clientClear: cat(V38, [19], [0, 2], u32(X509Vnc)),
    clientSecure: cat(vncAuthResponse(CHALLENGE, 'secret'), [1]),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: cat(CHALLENGE, u32(0)),
    outcome: vencryptDone(X509Vnc),
  },
  {
    name: 'X509Vnc, view-only password',
    opts: { ...TLS_PASSWORD, viewOnlyPassword: 'viewer' },
    clientClear: cat(V38, [19], [0, 2], u32(X509Vnc)),
    clientSecure: cat(vncAuthResponse(CHALLENGE, 'viewer'), [1]),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: cat(CHALLENGE, u32(0)),
    outcome: vencryptDone(X509Vnc, true),
  },
  {
    name: 'X509Vnc, wrong password (delayed failure with reason, inside TLS)',
    opts: TLS_PASSWORD,
    clientClear: cat(V38, [19], [0, 2], u32(X509Vnc)),
    clientSecure: cat(vncAuthResponse(CHALLENGE, 'wrong')),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: cat(CHALLENGE, u32(1), reason('authentication failed')),
    outcome: authFailed,
  },
  {
    name: 'X509Plain, any user name, right password',
    opts: TLS_PASSWORD,
    clientClear: cat(V38, [19], [0, 2], u32(X509Plain)),
    clientSecure: cat(plain('alice', 'secret'), [1]),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: u32(0),
    outcome: vencryptDone(X509Plain),
  },
  {
    name: 'X509Plain, configured user name and a password longer than 8 bytes (checked in full)',
    opts: { ...TLS_PASSWORD, password: 'much-longer-password', plainUsername: 'vnc' },
    clientClear: cat(V38, [19], [0, 2], u32(X509Plain)),
    clientSecure: cat(plain('vnc', 'much-longer-password'), [1]),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: u32(0),
    outcome: vencryptDone(X509Plain),
  },
  {
    name: 'X509Plain, only the first 8 bytes of a long password',
    opts: { ...TLS_PASSWORD, password: 'much-longer-password' },
    clientClear: cat(V38, [19], [0, 2], u32(X509Plain)),
    clientSecure: plain('u', 'much-lon'),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: cat(u32(1), reason('authentication failed')),
    outcome: authFailed,
  },
  {
    name: 'X509Plain, wrong user name (same answer as a wrong password)',
    opts: { ...TLS_PASSWORD, plainUsername: 'vnc' },
    clientClear: cat(V38, [19], [0, 2], u32(X509Plain)),
    clientSecure: plain('root', 'secret'),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: cat(u32(1), reason('authentication failed')),
    outcome: authFailed,
  },
  {
    name: 'X509Plain, view-only password, 3.7 (failure-free path, no reason strings)',
    opts: { ...TLS_PASSWORD, viewOnlyPassword: 'viewer' },
    clientClear: cat(V37, [19], [0, 2], u32(X509Plain)),
    clientSecure: cat(plain('', 'viewer'), [1]),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: u32(0),
    outcome: vencryptDone(X509Plain, true, '3.7'),
  },
  {
    name: 'X509Plain, wrong password, 3.7 (no reason string before 3.8)',
    opts: TLS_PASSWORD,
    clientClear: cat(V37, [19], [0, 2], u32(X509Plain)),
    clientSecure: plain('u', 'nope'),
    serverClear: cat(serverUntilList([19, 2], [X509Vnc, X509Plain]), [1]),
    serverSecure: u32(1),
    outcome: authFailed,
  },
];

describe('VeNCrypt negotiation in every split', () => {
  for (const s of SCENARIOS) {
    it(s.name, () => {
      // The clear part carries early TLS bytes behind the subtype: they must reach the TLS layer untouched.
      const clearStream = cat(s.clientClear, EARLY_TLS);
      const clearSplits = chunkings(clearStream, 10);
      const secureSplits = chunkings(s.clientSecure, 10);
      for (let i = 0; i < clearSplits.length; i++) {
        const a = clearSplits[i]!;
        const b = secureSplits[i % secureSplits.length]!;
        const r = drive(s.opts, a.chunks, b.chunks);
        const label = `${a.label} / ${b.label}`;
        expect(r.starttls, label).toBe(true);
        expect(r.clear.toString('hex'), label).toBe(s.serverClear.toString('hex'));
        expect(r.early.toString('hex'), label).toBe(EARLY_TLS.toString('hex'));
        expect(r.secure.toString('hex'), label).toBe(s.serverSecure.toString('hex'));
        expect(r.outcome, label).toEqual(s.outcome);
        expect(r.leftover, label).toBe(0);
      }
    });
  }

  it('leaves client messages pipelined after ClientInit in the queue', () => {
    const r = drive(TLS_NO_PASSWORD, [cat(V38, [19], [0, 2], u32(X509None))], [cat([1], [3, 0, 0, 0, 0, 0, 0, 4, 0, 3])]);
    expect(r.outcome.status).toBe('done');
    expect(r.leftover).toBe(10);
  });
});

describe('VeNCrypt failures before TLS', () => {
  const failure = (opts: HandshakeOptions, client: Buffer) => {
    const r = drive(opts, chunkings(client, 0)[1]!.chunks); // byte by byte
    const whole = drive(opts, [client]);
    expect(whole.clear.toString('hex')).toBe(r.clear.toString('hex'));
    expect(whole.outcome).toEqual(r.outcome);
    expect(r.starttls).toBe(false);
    return r;
  };

  it.each([
    ['0.1 (legacy)', [0, 1]],
    ['0.0', [0, 0]],
    ['1.0', [1, 0]],
    ['0.3', [0, 3]],
  ])('refuses VeNCrypt version %s with a 0xFF ack and nothing more', (_name, version) => {
    const r = failure(TLS_PASSWORD, cat(V38, [19], version as number[], u32(X509Vnc)));
    expect(r.clear.toString('hex')).toBe(cat(V38, [2, 19, 2], [0, 2], [0xff]).toString('hex'));
    expect(r.outcome).toMatchObject({ status: 'failed', code: ErrorCode.Protocol, delayReply: false });
    expect((r.outcome as { message: string }).message).toMatch(/unsupported VeNCrypt version/);
  });

  it.each([
    ['not offered (X509Plain without a password offer)', TLS_NO_PASSWORD, X509Plain, [X509None]],
    ['anonymous TLSNone (never offered)', TLS_NO_PASSWORD, TLSNone, [X509None]],
    ['the VeNCrypt type itself', TLS_PASSWORD, 19, [X509Vnc, X509Plain]],
    ['garbage', TLS_PASSWORD, 0xffffffff, [X509Vnc, X509Plain]],
  ])('refuses a subtype that was %s with a failure ack', (_name, opts, subtype, offered) => {
    const types = opts.securityTypes!;
    const r = failure(opts, cat(V38, [19], [0, 2], u32(subtype)));
    expect(r.clear.toString('hex')).toBe(cat(serverUntilList([...types], offered), [0]).toString('hex'));
    expect(r.outcome).toMatchObject({ status: 'failed', code: ErrorCode.Auth, delayReply: false });
    expect((r.outcome as { message: string }).message).toMatch(/was not offered/);
  });

  it('refuses oversized Plain lengths as soon as they are known, before waiting for the body', () => {
    const r = drive(TLS_PASSWORD, [cat(V38, [19], [0, 2], u32(X509Plain))], [cat(u32(MAX_PLAIN_FIELD_BYTES + 1), u32(4))]);
    expect(r.outcome).toMatchObject({ status: 'failed', code: ErrorCode.TooLarge, delayReply: false });
    expect(r.secure.subarray(0, 4).toString('hex')).toBe(u32(1).toString('hex'));
    const r2 = drive(TLS_PASSWORD, [cat(V38, [19], [0, 2], u32(X509Plain))], [cat(u32(4), u32(0xffffffff))]);
    expect(r2.outcome).toMatchObject({ status: 'failed', code: ErrorCode.TooLarge });
  });

  it('a 3.3 client gets the first non-VeNCrypt type, or is refused when TLS is required', () => {
    const r = drive(TLS_PASSWORD, [V33, vncAuthResponse(CHALLENGE, 'secret'), Buffer.from([1])]);
    expect(r.clear.toString('hex')).toBe(cat(V38, u32(2), CHALLENGE, u32(0)).toString('hex'));
    expect(r.outcome).toMatchObject({ status: 'done', result: { securityType: SecurityType.VncAuth } });

    const onlyTls: HandshakeOptions = { ...TLS_PASSWORD, securityTypes: [SecurityType.VeNCrypt] };
    const refused = drive(onlyTls, [V33]);
    const why = 'this server requires TLS (VeNCrypt), which RFB 3.3 clients cannot use';
    expect(refused.clear.toString('hex')).toBe(cat(V38, u32(0), reason(why)).toString('hex'));
    expect(refused.outcome).toMatchObject({ status: 'failed', code: ErrorCode.Auth });
  });

  it('a 3.8 client may still choose the unencrypted type offered after VeNCrypt', () => {
    const r = drive(TLS_PASSWORD, [cat(V38, [2], vncAuthResponse(CHALLENGE, 'secret'), [1])]);
    expect(r.starttls).toBe(false);
    expect(r.outcome).toMatchObject({ status: 'done', result: { securityType: SecurityType.VncAuth } });
    expect((r.outcome as { result: HandshakeResult }).result.vencryptSubtype).toBeUndefined();
  });

  it('tlsEstablished() outside the TLS state is a programming error', () => {
    const hs = new ServerHandshake(TLS_PASSWORD);
    hs.start();
    expect(() => hs.tlsEstablished()).toThrow(/tlsEstablished/);
  });
});

describe('VeNCrypt configuration', () => {
  it('rejects VeNCrypt without subtypes, unimplemented subtypes and password subtypes without a password', () => {
    const bad: HandshakeOptions[] = [
      { securityTypes: [SecurityType.VeNCrypt] },
      { securityTypes: [SecurityType.VeNCrypt], vencryptSubtypes: [] },
      { securityTypes: [SecurityType.VeNCrypt], vencryptSubtypes: [TLSNone] },
      { securityTypes: [SecurityType.VeNCrypt], vencryptSubtypes: [VeNCryptSubtype.Plain] },
      { securityTypes: [SecurityType.VeNCrypt], vencryptSubtypes: [X509Vnc] },
      { password: 'p', securityTypes: [SecurityType.VeNCrypt], vencryptSubtypes: [X509Vnc, X509Vnc] },
    ];
    for (const o of bad) expect(() => new ServerHandshake(o)).toThrow(expect.objectContaining({ code: ErrorCode.Config }));
  });

  it('describes and classifies the security used', () => {
    const base = { version: '3.8', clientVersion: 'RFB 003.008', shared: true, viewOnly: false } as const;
    expect(describeSecurity({ ...base, securityType: 1 })).toBe('none');
    expect(describeSecurity({ ...base, securityType: 2 })).toBe('vnc-auth');
    expect(describeSecurity({ ...base, securityType: 19, vencryptSubtype: X509Vnc })).toBe('VeNCrypt X509Vnc');
    expect(isAuthenticated({ ...base, securityType: 1 })).toBe(false);
    expect(isAuthenticated({ ...base, securityType: 2 })).toBe(true);
    expect(isAuthenticated({ ...base, securityType: 19, vencryptSubtype: X509None })).toBe(false);
    expect(isAuthenticated({ ...base, securityType: 19, vencryptSubtype: X509Plain })).toBe(true);
  });
});

describe('securityOffer (what each connection is offered)', () => {
  const tls = {} as never; // only its presence matters here
  it('offers VeNCrypt first on TCP when TLS is configured, never None next to a password', () => {
    expect(securityOffer({ tls, requireTls: false, password: 'p' }, 'tcp')).toEqual({
      securityTypes: [SecurityType.VeNCrypt, SecurityType.VncAuth],
      vencryptSubtypes: [X509Vnc, X509Plain],
    });
    expect(securityOffer({ tls, requireTls: false }, 'tcp')).toEqual({
      securityTypes: [SecurityType.VeNCrypt, SecurityType.None],
      vencryptSubtypes: [X509None],
    });
    expect(securityOffer({ tls, requireTls: true, password: 'p', plainUsername: 'u' }, 'tcp')).toEqual({
      securityTypes: [SecurityType.VeNCrypt],
      vencryptSubtypes: [X509Vnc, X509Plain],
      plainUsername: 'u',
    });
  });
  it('never offers VeNCrypt over WebSocket or the gateway tunnel, nor without TLS', () => {
    expect(securityOffer({ tls, requireTls: true, password: 'p' }, 'ws')).toEqual({ securityTypes: [SecurityType.VncAuth] });
    expect(securityOffer({ tls, requireTls: false }, 'tunnel')).toEqual({ securityTypes: [SecurityType.None] });
    expect(securityOffer({ requireTls: false, password: 'p' }, 'tcp')).toEqual({ securityTypes: [SecurityType.VncAuth] });
  });
});

describe('Plain credentials', () => {
  it('readPlainCredentials is resumable and consumes nothing until complete', () => {
    const msg = cat(plain('user', 'pässword'), [9, 9]);
    for (const c of chunkings(msg, 20)) {
      const out = feed<{ u: string; p: string }>(c.chunks, (q, emit) => {
        const r = readPlainCredentials(q);
        if (r) emit({ u: r.username.toString('utf8'), p: r.password.toString('utf8') });
        else expect(q.available).toBeLessThan(msg.length - 2 + 1);
      });
      expect(out.error, c.label).toBeUndefined();
      expect(out.items.slice(0, 1), c.label).toEqual([{ u: 'user', p: 'pässword' }]);
      expect(out.leftover, c.label).toBe(2);
    }
  });

  it('readPlainCredentials leaves the queue untouched on an oversized length', () => {
    const q = new ByteQueue();
    q.push(cat(u32(1), u32(MAX_PLAIN_FIELD_BYTES + 1)));
    expect(() => readPlainCredentials(q)).toThrow(expect.objectContaining({ code: ErrorCode.TooLarge }));
    expect(q.available).toBe(8);
  });

  it('checkPlainCredentials: user name only when configured, full and view-only passwords', () => {
    const b = (s: string) => Buffer.from(s, 'utf8');
    expect(checkPlainCredentials({ password: 'pw' }, b('anyone'), b('pw'))).toBe('full');
    expect(checkPlainCredentials({ password: 'pw' }, b(''), b('pw2'))).toBe('denied');
    expect(checkPlainCredentials({ password: 'pw', username: 'me' }, b('me'), b('pw'))).toBe('full');
    expect(checkPlainCredentials({ password: 'pw', username: 'me' }, b('you'), b('pw'))).toBe('denied');
    expect(checkPlainCredentials({ password: 'pw', viewOnlyPassword: 'vo' }, b('x'), b('vo'))).toBe('view-only');
    expect(checkPlainCredentials({ password: 'pw', viewOnlyPassword: 'pw' }, b('x'), b('pw'))).toBe('full');
    expect(checkPlainCredentials({}, b(''), b(''))).toBe('denied');
  });
});
