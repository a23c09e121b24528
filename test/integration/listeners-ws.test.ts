/**
 * The WebSocket listener with a real `ws` client over loopback TCP: byte-stream semantics across
 * arbitrary message splits, backpressure in both directions, limits, origin/host checks, close.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConnectionInfo } from '../../server/listeners/tcp-listener.js';
import { listenWebSocket, type WebSocketListener, type WebSocketListenerOptions } from '../../server/listeners/ws-listener.js';

const opened: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((l) => l.close()));
});

interface Accepted {
  stream: Duplex;
  info: ConnectionInfo;
}

async function start(opts: Partial<WebSocketListenerOptions> = {}) {
  const accepted: Accepted[] = [];
  const waiters: ((a: Accepted) => void)[] = [];
  const listener: WebSocketListener = await listenWebSocket({
    host: '127.0.0.1',
    port: 0,
    pingIntervalMs: 0,
    ...opts,
    onConnection: (stream, info) => {
      const a = { stream, info };
      const w = waiters.shift();
      if (w) w(a);
      else accepted.push(a);
    },
  });
  opened.push(listener);
  const next = (): Promise<Accepted> =>
    accepted.length > 0 ? Promise.resolve(accepted.shift()!) : withTimeout(new Promise((r) => waiters.push(r)), 'accept');
  return { listener, next, url: `ws://127.0.0.1:${listener.address.port}/websockify` };
}

function withTimeout<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);
}

function connect(url: string, protocols?: string[], headers?: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { headers, perMessageDeflate: false });
  return withTimeout(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    }),
    'connect',
  );
}

/** Read exactly n bytes from a Duplex. */
function readExactly(stream: Duplex, n: number): Promise<Buffer> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      const onData = (c: Buffer): void => {
        chunks.push(c);
        got += c.length;
        if (got >= n) {
          stream.off('data', onData);
          stream.pause();
          const all = Buffer.concat(chunks);
          if (all.length > n) stream.unshift(all.subarray(n));
          resolve(all.subarray(0, n));
        }
      };
      stream.on('data', onData);
      stream.once('error', reject);
    }),
    `read ${n} bytes`,
  );
}

function collectClient(ws: WebSocket, n: number): Promise<Buffer> {
  return withTimeout(
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let got = 0;
      const onMessage = (data: Buffer): void => {
        chunks.push(data);
        got += data.length;
        if (got >= n) {
          ws.off('message', onMessage);
          resolve(Buffer.concat(chunks));
        }
      };
      ws.on('message', onMessage);
    }),
    `client receives ${n} bytes`,
  );
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return withTimeout(new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() }))), 'close');
}

describe('WebSocket listener', () => {
  it('carries a byte stream in both directions across arbitrary message splits', async () => {
    const { next, url } = await start();
    const client = await connect(url, ['binary']);
    expect(client.protocol).toBe('binary');
    const { stream, info } = await next();
    expect(info).toEqual({ remoteAddress: '127.0.0.1', transport: 'ws' });

    // client → server: one RFB-like message split into 1-byte, 3-byte and larger messages
    const up = randomBytes(5000);
    const splits = [1, 3, 7, 1000, 2000, 1989];
    let off = 0;
    for (const len of splits) {
      client.send(up.subarray(off, off + len), { binary: true });
      off += len;
    }
    expect(await readExactly(stream, up.length)).toEqual(up);

    // server → client: writes of odd sizes arrive in order, as binary messages
    const down = randomBytes(100_000);
    const received = collectClient(client, down.length);
    for (let i = 0; i < down.length; i += 777) stream.write(down.subarray(i, i + 777));
    expect(await received).toEqual(down);

    // the session ending the stream closes the WebSocket
    const c = closed(client);
    const streamClosed = withTimeout(new Promise((r) => stream.once('close', r)), 'stream close');
    stream.end();
    expect((await c).code).toBe(1000);
    await streamClosed;
  });

  it('ends and closes the stream when the browser goes away, after delivering what it sent', async () => {
    const { next, url } = await start();
    const client = await connect(url, ['binary']);
    const { stream } = await next();
    stream.pause();
    client.send(Buffer.from('last words'));
    client.close();
    await new Promise((r) => setTimeout(r, 100));
    const chunks: Buffer[] = [];
    const ended = new Promise((r) => stream.once('end', r));
    const closedP = new Promise((r) => stream.once('close', r));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.resume();
    await withTimeout(Promise.all([ended, closedP]), 'end and close');
    expect(Buffer.concat(chunks).toString()).toBe('last words');
    // writing after the peer left fails instead of buffering forever
    expect(stream.destroyed || stream.writableEnded).toBe(true);
  });

  it('coalesces corked writes into one WebSocket message', async () => {
    const { next, url } = await start();
    const client = await connect(url, ['binary']);
    const { stream } = await next();
    const messages: Buffer[] = [];
    client.on('message', (d: Buffer) => messages.push(d));
    stream.cork();
    stream.write(Buffer.from('ab'));
    stream.write(Buffer.from('cd'));
    stream.uncork();
    await withTimeout((async () => { while (messages.length === 0) await new Promise((r) => setTimeout(r, 10)); })(), 'message');
    expect(messages.map((m) => m.toString())).toEqual(['abcd']);
    client.close();
  });

  it('answers no subprotocol when none is offered', async () => {
    const { next, url } = await start();
    const client = await connect(url);
    expect(client.protocol).toBe('');
    await next();
    client.close();
  });

  it('applies backpressure from a slow browser to the session', async () => {
    const { next, url } = await start();
    const client = await connect(url, ['binary']);
    const { stream } = await next();
    const tcp = (client as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.pause(); // the browser stops reading

    // Write like a session does (stop on false, continue on drain) until drain stops coming:
    // the kernel buffers fill up, then the session is held back.
    const chunk = Buffer.alloc(64 * 1024, 7);
    const limit = 256 * 1024 * 1024;
    let written = 0;
    let stalled = false;
    while (written < limit) {
      written += chunk.length;
      if (stream.write(chunk)) continue;
      const drained = await Promise.race([
        new Promise<boolean>((r) => stream.once('drain', () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
      ]);
      if (!drained) {
        stalled = true;
        break;
      }
    }
    expect(stalled).toBe(true);
    expect(written).toBeLessThan(limit);

    const received = collectClient(client, written);
    tcp.resume();
    await withTimeout(new Promise((r) => stream.once('drain', r)), 'drain after the client reads again');
    const all = await received;
    expect(all.length).toBe(written);
    expect(all.every((b) => b === 7)).toBe(true);
    client.close();
  });

  it('applies backpressure from a slow session to the browser', async () => {
    const { next, url } = await start({ maxPayload: 1 << 20 });
    const client = await connect(url, ['binary']);
    const { stream } = await next();
    stream.pause(); // the session does not read

    const total = 32 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 9);
    for (let sent = 0; sent < total; sent += chunk.length) client.send(chunk);
    await new Promise((r) => setTimeout(r, 500));
    // The server holds at most its stream buffer plus a message or so; the rest waits on the
    // client side (bufferedAmount) because the server stopped reading its socket.
    expect(stream.readableLength).toBeLessThan(4 * 1024 * 1024);
    expect(client.bufferedAmount).toBeGreaterThan(8 * 1024 * 1024);

    let got = 0;
    stream.on('data', (c: Buffer) => (got += c.length));
    stream.resume();
    await withTimeout(
      (async () => {
        while (got < total) await new Promise((r) => setTimeout(r, 20));
      })(),
      'all bytes after resume',
      20_000,
    );
    expect(got).toBe(total);
    client.close();
  });

  it('closes a client that exceeds maxPayload or sends text', async () => {
    const { next, url } = await start({ maxPayload: 1024 });
    const big = await connect(url, ['binary']);
    await next();
    const c1 = closed(big);
    big.send(Buffer.alloc(2048));
    expect((await c1).code).toBe(1009);

    const texty = await connect(url, ['binary']);
    const { stream } = await next();
    let data = 0;
    stream.on('data', (d: Buffer) => (data += d.length));
    const c2 = closed(texty);
    texty.send('RFB 003.008\n');
    expect((await c2).code).toBe(1003);
    expect(data).toBe(0);
  });

  it('checks Origin and Host', async () => {
    const { next, url, listener } = await start({ allowedOrigins: ['http://localhost:6080'] });
    const port = listener.address.port;
    await expect(connect(url, ['binary'], { Origin: 'https://evil.example' })).rejects.toThrow(/HTTP 403/);
    // DNS rebinding: the origin matches the Host header, but the host name is not loopback
    await expect(connect(url, ['binary'], { Origin: `http://evil.example:${port}`, Host: `evil.example:${port}` })).rejects.toThrow(/HTTP 403/);
    for (const origin of [`http://127.0.0.1:${port}`, 'http://localhost:6080']) {
      const ok = await connect(url, ['binary'], { Origin: origin });
      await next();
      ok.close();
    }
  });

  it('limits the number of clients and closes everyone on close()', async () => {
    const { next, url, listener } = await start({ maxClients: 2 });
    const a = await connect(url, ['binary']);
    const b = await connect(url, ['binary']);
    await next();
    await next();
    await expect(connect(url, ['binary'])).rejects.toThrow(/HTTP 503/);
    const ca = closed(a);
    const cb = closed(b);
    await listener.close();
    expect((await ca).code).toBe(1001);
    expect((await cb).code).toBe(1001);
    await expect(connect(url, ['binary'])).rejects.toThrow(/ECONNREFUSED/);
  });

  it('drops a peer that stops answering pings', async () => {
    const { next, url } = await start({ pingIntervalMs: 100 });
    const client = await connect(url, ['binary']);
    const { stream } = await next();
    // a live client answers pings automatically and stays connected
    await new Promise((r) => setTimeout(r, 350));
    expect(client.readyState).toBe(WebSocket.OPEN);
    // a frozen one (socket not read) does not
    (client as unknown as { _socket: import('node:net').Socket })._socket.pause();
    stream.resume(); // a session always reads; it sees 'end' and then 'close'
    await withTimeout(new Promise((r) => stream.once('close', r)), 'stream close after missed pings', 5000);
  });
});
