/**
 * The encoders lend their output from a per-session pool, and the session gives it back when
 * the transport says it is done with the bytes. This checks the one thing that must never
 * happen: an update's bytes changing while the transport still holds them. The transport here
 * forwards each write to the client at once but holds the completion callbacks, as a slow
 * socket or a WebSocket tunnel under back-pressure would; meanwhile the server encodes the next
 * update (same size, so the pool would hand it the same memory if it had been given back).
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { VncServer } from '../../server/vnc-server.js';
import { listenTcp, type TcpListener } from '../../server/listeners/tcp-listener.js';
import { SyntheticDesktop } from '../helpers/synthetic-desktop.js';
import { RfbClient } from '../helpers/rfb-client.js';

/** Passes bytes through to `socket`; while `holding`, keeps the write callbacks and copies of the bytes. */
class HoldingDuplex extends Duplex {
  holding = false;
  readonly held: { chunk: Buffer; copy: Buffer }[] = [];
  private readonly callbacks: (() => void)[] = [];

  constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (d: Buffer) => this.push(d));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (e) => this.destroy(e));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this._writev([{ chunk }], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    for (const { chunk } of chunks) {
      this.socket.write(Buffer.from(chunk));
      if (this.holding) this.held.push({ chunk, copy: Buffer.from(chunk) });
    }
    if (this.holding) this.callbacks.push(() => cb());
    else cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  /** Completes the held writes; the next ones pass straight through. */
  release(): void {
    this.holding = false;
    for (const f of this.callbacks.splice(0)) f();
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f();
});

/** Noise that changes with `seed`: no solid areas, no repeated tiles. */
const noise = (seed: number) => (x: number, y: number) => Math.imul((x * 7919) ^ (y * 104729) ^ (seed * 15485863), 0x9e3779b1) >>> 8;

const waitFor = async (cond: () => boolean, what: string, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('pooled update buffers', () => {
  for (const [name, encoding] of [['Raw', 0], ['Zlib, whose output zlib hands over in pieces that are joined', 6]] as const) {
    it(`are not reused while the transport still holds them (${name})`, async () => {
      // 256×128 at 32 bpp: 128 KiB per update, well above the pool's minimum.
      const desktop = new SyntheticDesktop(256, 128);
      const server = new VncServer(desktop, { authFailureDelayMs: 0 });
      await server.ensureDesktop();
      let link: HoldingDuplex | null = null;
      const listener: TcpListener = await listenTcp({
        host: '127.0.0.1',
        port: 0,
        onConnection: (s, i) => {
          link = new HoldingDuplex(s);
          server.handleConnection(link, i);
        },
      });
      cleanups.push(() => listener.close(), () => server.close());
      const c = new RfbClient({ port: listener.address.port, timeoutMs: 3000 });
      cleanups.push(() => c.close());
      await c.connect();
      c.setEncodings([encoding]);
      c.requestUpdate(false);
      await c.readUpdate();
      const l = link as HoldingDuplex | null;
      if (!l) throw new Error('no connection');

      // Update A reaches the client, but its writes stay incomplete.
      l.holding = true;
      const full = { x: 0, y: 0, w: 256, h: 128 };
      desktop.paint(full, noise(1));
      c.requestUpdate(true);
      await c.readUpdate();
      const heldA = l.held.length;
      expect(heldA).toBeGreaterThan(0);
      // The stream counts the held bytes as pending; B's come on top.
      const pendingA = l.writableLength;
      expect(pendingA).toBeGreaterThan(64 * 1024);

      // Update B is encoded while A is held (it waits in the stream's buffer).
      desktop.paint(full, noise(2));
      c.requestUpdate(true);
      await waitFor(() => l.writableLength > pendingA + 64 * 1024, 'the next update to be encoded');
      for (const [i, h] of l.held.slice(0, heldA).entries()) {
        expect(h.chunk.equals(h.copy), `held chunk ${i} of ${heldA} changed while held`).toBe(true);
      }

      // Once released, B arrives intact and the client shows the screen.
      l.release();
      await c.readUpdate();
      const fb = desktop.framebuffer;
      expect(c.fb.equals(Buffer.from(fb.data.subarray(0, fb.width * fb.height * 4)))).toBe(true);
    });
  }
});
