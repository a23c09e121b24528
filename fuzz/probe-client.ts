/**
 * A minimal RFB 3.8 client (security None, Raw pixels in the server's native 32-bpp format) for
 * the fuzzer's "is the server still fine" probe and the soak and slow-client tests. Kept apart
 * from the test helpers so it builds with the production tsconfig. Every read has a deadline.
 */
import net from 'node:net';

class Reader {
  private chunks: Buffer[] = [];
  private length = 0;
  private wake: (() => void) | null = null;
  private ended: Error | null = null;

  constructor(socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.length += c.length;
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended ??= new Error('connection closed');
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.ended = e;
      this.wake?.();
    });
  }

  async read(n: number, deadline: number): Promise<Buffer> {
    while (this.length < n) {
      if (this.ended) throw this.ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes (have ${this.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }
}

export interface ProbeUpdate {
  readonly rects: number;
  /** Pixels covered by the update's rectangles. */
  readonly area: number;
}

export class ProbeClient {
  width = 0;
  height = 0;
  /** BGRX framebuffer as the client sees it. */
  pixels: Buffer = Buffer.alloc(0);

  private constructor(
    readonly socket: net.Socket,
    private readonly reader: Reader,
    private readonly timeoutMs: number,
  ) {}

  /** Connects and completes the handshake (None, shared), then selects Raw. */
  static async connect(port: number, timeoutMs: number): Promise<ProbeClient> {
    const deadline = Date.now() + timeoutMs;
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const r = new Reader(socket);
    const c = new ProbeClient(socket, r, timeoutMs);
    try {
      const banner = (await r.read(12, deadline)).toString('latin1');
      if (banner !== 'RFB 003.008\n') throw new Error(`bad banner ${JSON.stringify(banner)}`);
      socket.write('RFB 003.008\n');
      const n = (await r.read(1, deadline))[0]!;
      const types = [...(await r.read(n, deadline))];
      if (!types.includes(1)) throw new Error(`security None not offered (${types.join(',')})`);
      socket.write(Buffer.from([1]));
      if ((await r.read(4, deadline)).readUInt32BE(0) !== 0) throw new Error('security result failed');
      socket.write(Buffer.from([1]));
      const init = await r.read(24, deadline);
      c.width = init.readUInt16BE(0);
      c.height = init.readUInt16BE(2);
      if (init[4] !== 32) throw new Error(`unexpected server bpp ${init[4]}`);
      await r.read(init.readUInt32BE(20), deadline);
      c.pixels = Buffer.alloc(c.width * c.height * 4);
      const enc = Buffer.alloc(8);
      enc[0] = 2;
      enc.writeUInt16BE(1, 2); // SetEncodings [Raw]
      socket.write(enc);
      return c;
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  requestUpdate(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    this.socket.write(b);
  }

  /** Reads server messages until one whole FramebufferUpdate is in (Bell/fence skipped). */
  async readUpdate(timeoutMs = this.timeoutMs): Promise<ProbeUpdate> {
    const deadline = Date.now() + timeoutMs;
    const r = this.reader;
    for (;;) {
      const type = (await r.read(1, deadline))[0]!;
      if (type === 2) continue; // Bell
      if (type === 3) {
        const h = await r.read(7, deadline);
        await r.read(h.readUInt32BE(3), deadline);
        continue;
      }
      if (type === 150) continue; // EndOfContinuousUpdates
      if (type !== 0) throw new Error(`unexpected server message type ${type}`);
      const head = await r.read(3, deadline);
      let area = 0;
      const count = head.readUInt16BE(1);
      for (let i = 0; i < count; i++) {
        const rh = await r.read(12, deadline);
        const x = rh.readUInt16BE(0), y = rh.readUInt16BE(2), w = rh.readUInt16BE(4), h = rh.readUInt16BE(6);
        const enc = rh.readInt32BE(8);
        if (enc !== 0) throw new Error(`expected Raw, got encoding ${enc}`);
        if (x + w > this.width || y + h > this.height) throw new Error(`rectangle ${w}x${h}+${x}+${y} outside ${this.width}x${this.height}`);
        const body = await r.read(w * h * 4, deadline);
        for (let row = 0; row < h; row++) body.copy(this.pixels, ((y + row) * this.width + x) * 4, row * w * 4, (row + 1) * w * 4);
        area += w * h;
      }
      return { rects: count, area };
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects, asks for one full frame and returns the client's framebuffer (BGRX). */
export async function fetchFullFrame(port: number, timeoutMs: number): Promise<{ width: number; height: number; pixels: Buffer }> {
  const c = await ProbeClient.connect(port, timeoutMs);
  try {
    c.requestUpdate(false);
    const u = await c.readUpdate();
    if (u.area < c.width * c.height) throw new Error(`full update covered ${u.area} of ${c.width * c.height} pixels`);
    return { width: c.width, height: c.height, pixels: c.pixels };
  } finally {
    c.close();
  }
}
