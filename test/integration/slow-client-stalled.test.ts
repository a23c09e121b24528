/**
 * Slow and stalled clients against a real server on loopback (SyntheticDesktop whose screen
 * changes continuously):
 * - a client that stops reading but keeps asking for full frames costs bounded memory (its
 *   socket's writableLength stays under maxQueuedBytes + one update) and does not slow down a
 *   normal client;
 * - a client that asks for clipboard data and never reads the answers is dropped with a reason
 *   instead of making the server queue megabytes;
 * - a slow reader (10 KiB/s, through a throttling proxy) gets fewer updates, each of them fresh.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { createLogger } from '../../core/log.js';
import { VncServer } from '../../server/vnc-server.js';
import type { Session } from '../../server/session.js';
import type { ServerOptionsInput } from '../../server/options.js';
import { listenTcp } from '../../server/listeners/tcp-listener.js';
import { clipboardRequestPayload } from '../../server/protocol/extended-clipboard.js';
import { ClipboardFormat } from '../../server/protocol/constants.js';
import { SyntheticDesktop } from '../helpers/synthetic-desktop.js';
import { ProbeClient } from '../../fuzz/probe-client.js';
import { formatMiB, getGc, MiB, settledMemory } from '../../fuzz/memory.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = getGc();

interface Rig {
  server: VncServer;
  desktop: SyntheticDesktop;
  port: number;
  /** Sessions and their streams, in connection order. */
  conns: Array<{ session: Session; stream: Duplex }>;
  lines: string[];
  /** Counter painted into the whole screen, and when each value was painted. */
  frame: () => number;
  paintedAt: Map<number, number>;
}

/** A server whose whole screen is repainted with colour = frame counter every `paintMs`. */
async function rig(width: number, height: number, paintMs: number, opts: ServerOptionsInput = {}): Promise<Rig> {
  const desktop = new SyntheticDesktop(width, height);
  const lines: string[] = [];
  const server = new VncServer(desktop, { framerate: 30, logger: createLogger({ level: 'info', write: (l) => void lines.push(l) }), ...opts });
  await server.ensureDesktop();
  const conns: Rig['conns'] = [];
  const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => void conns.push({ session: server.handleConnection(s, i), stream: s }) });
  let frame = 0;
  const paintedAt = new Map<number, number>();
  const painter = setInterval(() => {
    frame++;
    paintedAt.set(frame, performance.now());
    if (paintedAt.size > 10_000) paintedAt.delete(frame - 10_000);
    desktop.paint({ x: 0, y: 0, w: width, h: height }, () => frame & 0xffffff);
  }, paintMs);
  cleanup.push(() => listener.close(), () => server.close(), () => clearInterval(painter));
  return { server, desktop, port: listener.address.port, conns, lines, frame: () => frame, paintedAt };
}

/** Incremental updates a request-after-receive client gets in `ms`. */
async function measureRate(port: number, ms: number): Promise<number> {
  const c = await ProbeClient.connect(port, 5000);
  try {
    c.requestUpdate(false);
    await c.readUpdate();
    const end = Date.now() + ms;
    let n = 0;
    while (Date.now() < end) {
      c.requestUpdate(true);
      await c.readUpdate();
      n++;
    }
    return n / (ms / 1000);
  } finally {
    c.close();
  }
}

describe('slow and stalled clients', () => {
  it('a stalled client costs bounded memory and does not slow a normal client down', async () => {
    const W = 320, H = 240;
    const maxQueuedBytes = 64 * 1024;
    const r = await rig(W, H, 10, { maxQueuedBytes });
    const baseline = await measureRate(r.port, 3000);

    const before = settledMemory(gc);
    const stalled = await ProbeClient.connect(r.port, 5000);
    cleanup.push(() => stalled.close());
    const stalledStream = r.conns[r.conns.length - 1]!.stream;
    stalled.socket.pause(); // never reads again
    let maxWritable = 0;
    const spam = setInterval(() => stalled.requestUpdate(false), 20); // keeps asking for full frames
    const sampler = setInterval(() => (maxWritable = Math.max(maxWritable, stalledStream.writableLength)), 5);
    cleanup.push(() => clearInterval(spam), () => clearInterval(sampler));
    await sleep(1500); // let the kernel buffers fill up
    const withStalled = await measureRate(r.port, 3000);
    clearInterval(spam);
    clearInterval(sampler);
    const after = settledMemory(gc);

    const oneUpdate = 4 + 12 + W * H * 4;
    console.log(`stalled client: max writableLength ${maxWritable} (bound ${maxQueuedBytes} + one update ${oneUpdate}); normal client ${baseline.toFixed(1)} updates/s alone, ${withStalled.toFixed(1)} with the stalled client; RSS ${formatMiB(before.rss)} → ${formatMiB(after.rss)}`);
    expect(stalledStream.destroyed).toBe(false); // still connected: stalling alone is not an offence
    expect(maxWritable).toBeGreaterThan(maxQueuedBytes); // the test really congested the socket
    expect(maxWritable).toBeLessThanOrEqual(maxQueuedBytes + oneUpdate + 1024);
    expect(baseline).toBeGreaterThan(10);
    expect(withStalled).toBeGreaterThan(baseline * 0.7);
    expect(after.rss - before.rss).toBeLessThan(32 * MiB);
  }, 30_000);

  it('a client that requests clipboard data and never reads the replies is dropped with a reason', async () => {
    const r = await rig(64, 48, 50, { maxQueuedBytes: 64 * 1024, maxCutTextBytes: 64 * 1024 });
    const c = await ProbeClient.connect(r.port, 5000);
    cleanup.push(() => c.close());
    const session = r.conns[r.conns.length - 1]!.session;
    c.socket.pause();
    // 60 KB of incompressible clipboard text on the server side.
    let seed = 1;
    const text = Array.from({ length: 60_000 }, () => String.fromCharCode(33 + ((seed = (seed * 1103515245 + 12345) >>> 0) % 90))).join('');
    r.desktop.events!.clipboard(text);
    const payload = clipboardRequestPayload(ClipboardFormat.Text);
    const msg = Buffer.alloc(8 + payload.length);
    msg[0] = 6;
    msg.writeInt32BE(-payload.length, 4);
    payload.copy(msg, 8);
    // 2,000 requests of 12 bytes each ask for ~120 MB of replies.
    const closed = new Promise<void>((res) => c.socket.once('close', () => res()));
    for (let i = 0; i < 2000 && !c.socket.destroyed; i++) {
      c.socket.write(msg);
      if (i % 50 === 0) await sleep(1);
    }
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(10_000).then(() => 'still open')]);
    console.log(`clipboard-request flood: ${outcome}; ${session.bytesSent} bytes written to the client in all`);
    expect(outcome).toBe('closed');
    expect(r.lines.some((l) => /VNC_ERR_TOO_LARGE: client does not read the replies to its requests/.test(l))).toBe(true);
    // What the kernel buffers took plus the reply limit, not the 120 MB asked for.
    expect(session.bytesSent).toBeLessThan(16 * 1024 * 1024);
  }, 30_000);

  it('a slow reader (10 KiB/s) gets fewer updates, each of them fresh', async () => {
    const W = 64, H = 48; // a full frame is 12 KiB: about one update per 1.2 s at 10 KiB/s
    const r = await rig(W, H, 20);
    const proxy = await throttlingProxy(r.port, 10 * 1024);
    cleanup.push(() => proxy.close());

    const slow = await ProbeClient.connect(proxy.port, 10_000);
    cleanup.push(() => slow.close());
    const slowSession = r.conns[r.conns.length - 1]!.session;
    const durationMs = 8000;
    const normalRate = measureRate(r.port, durationMs);
    const ages: number[] = [];
    const counters: number[] = [];
    const end = Date.now() + durationMs;
    slow.requestUpdate(false);
    await slow.readUpdate(10_000);
    while (Date.now() < end) {
      slow.requestUpdate(true);
      await slow.readUpdate(10_000);
      const counter = slow.pixels.readUInt32LE(0) & 0xffffff;
      counters.push(counter);
      ages.push(performance.now() - (r.paintedAt.get(counter) ?? 0));
    }
    const normal = await normalRate;
    const slowRate = counters.length / (durationMs / 1000);
    console.log(`slow reader: ${slowRate.toFixed(2)} updates/s vs normal ${normal.toFixed(1)}; frames skipped between updates ${counters.slice(1).map((c, i) => c - counters[i]!).join(',')}; age at arrival (ms) ${ages.map((a) => a.toFixed(0)).join(',')}; server sent ${slowSession.updatesSent}`);
    expect(counters.length).toBeGreaterThanOrEqual(3);
    expect(slowRate).toBeLessThan(normal / 5);
    // Fresh: every update was generated from the newest screen when it was sent, so its age is
    // about one update's transfer time (≈1.2 s), not a growing backlog of old frames.
    for (const a of ages) expect(a).toBeLessThan(3000);
    for (let i = 1; i < counters.length; i++) expect(counters[i]! - counters[i - 1]!).toBeGreaterThan(10);
    // The server holds no queue of frames for it: at most the one in flight beyond what arrived.
    expect(slowSession.updatesSent - (counters.length + 1)).toBeLessThanOrEqual(1);
  }, 30_000);
});

/**
 * A TCP proxy that passes client → server bytes at once and server → client bytes at
 * `bytesPerSecond` (in 100 ms slices). It stops reading from the server while it holds more
 * than 16 KiB, so the server sees a genuinely slow reader (TCP backpressure).
 */
async function throttlingProxy(targetPort: number, bytesPerSecond: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    for (const s of [client, upstream]) s.on('error', () => {});
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('data', (c: Buffer) => upstream.write(c));
    let held: Buffer[] = [];
    let heldBytes = 0;
    upstream.on('data', (c: Buffer) => {
      held.push(c);
      heldBytes += c.length;
      if (heldBytes > 16 * 1024) upstream.pause();
    });
    const slice = Math.max(1, Math.round(bytesPerSecond / 10));
    const t = setInterval(() => {
      if (heldBytes === 0) return;
      const all = Buffer.concat(held);
      const out = all.subarray(0, slice);
      const rest = all.subarray(out.length);
      held = rest.length ? [rest] : [];
      heldBytes = rest.length;
      client.write(out);
      if (heldBytes <= 16 * 1024) upstream.resume();
    }, 100);
    timers.add(t);
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((res) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
