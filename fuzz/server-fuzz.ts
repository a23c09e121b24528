/**
 * Part (b) of the fuzzer: a real VncServer with a SyntheticDesktop on a loopback TCP port. Each
 * generated input is sent by a fresh "bad" client in random splits. The in-process target
 * predicts what the server must do with those bytes, and the run checks that it did:
 * - predicted error → the server closes that client and logs exactly the predicted reason;
 * - predicted clean stream → a poison byte (unknown type 0x99) is appended and the server must
 *   close with "unknown client message type 153", which proves it parsed the stream in step
 *   with the model (no desynchronisation, no hang);
 * - predicted incomplete message → the client hangs up; the server must log the close.
 * After every bad client a fresh good client connects and must receive a full, exact frame.
 */
import net from 'node:net';
import { createLogger } from '../core/log.js';
import { VncServer } from '../server/vnc-server.js';
import { listenTcp } from '../server/listeners/tcp-listener.js';
import type { Session } from '../server/session.js';
import { resolveClientMessageOptions } from '../server/protocol/client-messages.js';
import { SyntheticDesktop } from '../test/helpers/synthetic-desktop.js';
import { fetchFullFrame } from './probe-client.js';
import { InputGenerator, inputSeed } from './inputs.js';
import { randomSplit, Rng } from './random.js';
import { runProtocolTarget, TargetCrash } from './protocol-target.js';
import type { Finding } from './protocol-fuzz.js';

export interface ServerFuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  readonly firstIndex?: number;
  /** Largest generated input. Default 1 KiB. */
  readonly maxInputBytes?: number;
  /** Deadline for each expected close and each good client. Default 5 s. */
  readonly timeoutMs?: number;
  readonly maxFindings?: number;
  readonly onProgress?: (done: number, findings: number) => void;
  readonly progressEvery?: number;
}

export interface ServerFuzzReport {
  readonly inputs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  readonly findings: readonly Finding[];
  /** Bad clients the server closed with the predicted, logged reason. */
  readonly closedWithReason: number;
  /** Bad clients whose stream was clean and got the poison byte. */
  readonly poisoned: number;
  /** Bad clients that stopped mid-message and hung up themselves. */
  readonly hungUp: number;
  /** Good clients that received a full, exact frame (one after every bad client). */
  readonly goodFrames: number;
  readonly rssStart: number;
  readonly peakRss: number;
}

/** A 3.8 None handshake, prepended to inputs that start after ClientInit. */
const NONE_HANDSHAKE = Buffer.concat([Buffer.from('RFB 003.008\n', 'latin1'), Buffer.from([1, 1])]);
const POISON = Buffer.from([0x99]);
const POISON_REASON = 'VNC_ERR_PROTOCOL: unknown client message type 153';

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Runs the server fuzzer; findings are in the report, infrastructure failures throw. */
export async function runServerFuzz(o: ServerFuzzOptions): Promise<ServerFuzzReport> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const maxFindings = o.maxFindings ?? 20;
  const maxCutTextBytes = 64 * 1024;
  const clientOptions = resolveClientMessageOptions({ maxCutTextBytes });
  const lines: string[] = [];
  const desktop = new SyntheticDesktop(64, 48);
  const server = new VncServer(desktop, {
    logger: createLogger({ level: 'debug', write: (l) => void lines.push(l) }),
    maxCutTextBytes,
    authFailureDelayMs: 0,
    handshakeTimeoutMs: 10_000,
  });
  await server.ensureDesktop();
  let last: Session | null = null;
  const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => void (last = server.handleConnection(s, i)) });
  const port = listener.address.port;
  const gen = new InputGenerator({
    maxInputBytes: o.maxInputBytes ?? 1024,
    bounds: [maxCutTextBytes, clientOptions.maxEncodings, clientOptions.maxScreens, 64],
    securities: ['none'],
    handshakeShare: 0.4,
  });
  const expectedFrame = Buffer.from(desktop.framebuffer.data.subarray(0, 64 * 48 * 4));
  const findings: Finding[] = [];
  let closedWithReason = 0;
  let poisoned = 0;
  let hungUp = 0;
  let goodFrames = 0;
  const rssStart = process.memoryUsage.rss();
  let peakRss = rssStart;
  const first = o.firstIndex ?? 0;
  const t0 = performance.now();
  try {
    for (let i = first; i < first + o.inputs && findings.length < maxFindings; i++) {
      const input = gen.generate(o.seed, i);
      let bytes = input.mode.kind === 'messages' ? Buffer.concat([NONE_HANDSHAKE, input.bytes]) : input.bytes;
      const finding = (detail: string) =>
        findings.push({ kind: 'server', seed: o.seed, index: i, mode: `server/${input.mode.kind}`, hex: input.bytes.toString('hex'), detail });
      let model;
      try {
        model = runProtocolTarget([bytes], { kind: 'handshake', security: 'none' }, clientOptions);
      } catch (e) {
        if (!(e instanceof TargetCrash)) throw e;
        finding(`in-process target crashed: ${e.message}`);
        continue;
      }
      let expected: string | null = null;
      if (model.error) {
        expected = model.phase === 'failed'
          ? `handshake failed code=${JSON.stringify(model.error.code)} reason=${JSON.stringify(model.error.message)}`
          : `reason=${JSON.stringify(`${model.error.code}: ${model.error.message}`)}`;
      } else if (model.phase === 'normal' && model.leftover === 0) {
        bytes = Buffer.concat([bytes, POISON]);
        expected = `reason=${JSON.stringify(POISON_REASON)}`;
      }

      lines.length = 0;
      last = null;
      const sock = net.connect(port, '127.0.0.1');
      sock.on('error', () => {});
      sock.resume(); // read (and drop) whatever the server sends, so 'close' can fire
      const closed = new Promise<void>((r) => sock.once('close', () => r()));
      await withDeadline(new Promise<void>((r) => sock.once('connect', () => r())), timeoutMs, 'the bad client to connect');
      const rng = new Rng(inputSeed(o.seed ^ 0xbad, i));
      for (const c of randomSplit(bytes, rng, rng.pick([1, 5, 64, 4096]))) sock.write(c);
      if (expected !== null) {
        try {
          await withDeadline(closed, timeoutMs, 'the server to close the bad client');
        } catch (e) {
          finding(`${(e as Error).message}; expected ${expected}; log:\n${lines.join('\n')}`);
          sock.destroy();
          await closed;
        }
        await waitUntil(() => server.sessionCount === 0, timeoutMs, 'the session to be released');
        const id = (last as Session | null)?.id;
        if (!lines.some((l) => l.includes(`[client ${id} `) && l.includes(expected!))) {
          finding(`server did not log the expected reason ${expected}; log:\n${lines.join('\n')}`);
        } else if (expected.includes(POISON_REASON)) poisoned++;
        else closedWithReason++;
      } else {
        sock.end();
        await withDeadline(closed, timeoutMs, 'the bad client to hang up');
        await waitUntil(() => server.sessionCount === 0, timeoutMs, 'the session to be released');
        const id = (last as Session | null)?.id;
        if (!lines.some((l) => l.includes(`[client ${id} `) && / closed reason=/.test(l))) {
          finding(`server did not log closing the client; log:\n${lines.join('\n')}`);
        } else hungUp++;
      }
      desktop.input.length = 0;

      try {
        const frame = await fetchFullFrame(port, timeoutMs);
        if (!frame.pixels.equals(expectedFrame)) finding('good client after this input got a wrong frame');
        else goodFrames++;
      } catch (e) {
        finding(`good client after this input failed: ${(e as Error).message}; log:\n${lines.join('\n')}`);
      }
      await waitUntil(() => server.sessionCount === 0, timeoutMs, 'the good session to be released');
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      if ((i - first + 1) % (o.progressEvery ?? 500) === 0) o.onProgress?.(i - first + 1, findings.length);
    }
  } finally {
    await server.close();
    await listener.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { inputs: o.inputs, seconds, inputsPerSecond: o.inputs / Math.max(seconds, 1e-9), findings, closedWithReason, poisoned, hungUp, goodFrames, rssStart, peakRss };
}
