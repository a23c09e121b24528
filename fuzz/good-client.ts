/**
 * The "is the server still fine" probe of the server fuzzer: a minimal RFB 3.8 client (security
 * None, Raw only) that asks for one full frame and returns the pixels. Kept apart from the test
 * helpers so the fuzzer builds with the production tsconfig. Every read has a deadline.
 */
import net from 'node:net';

class Reader {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended: Error | null = null;

  constructor(socket: net.Socket) {
    socket.on('data', (c: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = new Error('connection closed');
      this.wake?.();
    });
    socket.on('error', (e) => {
      this.ended = e;
      this.wake?.();
    });
  }

  async read(n: number, deadline: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw this.ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/**
 * Connects, completes the handshake, requests a full frame in the server's native 32-bpp format
 * and returns it as BGRX rows (width × height × 4 bytes). Throws on any deviation or timeout.
 */
export async function fetchFullFrame(port: number, timeoutMs: number): Promise<{ width: number; height: number; pixels: Buffer }> {
  const deadline = Date.now() + timeoutMs;
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const r = new Reader(socket);
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
    const width = init.readUInt16BE(0);
    const height = init.readUInt16BE(2);
    if (init[4] !== 32) throw new Error(`unexpected server bpp ${init[4]}`);
    await r.read(init.readUInt32BE(20), deadline);
    const req = Buffer.alloc(18);
    req.writeUInt8(2, 0);
    req.writeUInt16BE(1, 2); // SetEncodings [Raw]
    req.writeUInt8(3, 8); // FramebufferUpdateRequest, full
    req.writeUInt16BE(width, 14);
    req.writeUInt16BE(height, 16);
    socket.write(req);
    const pixels = Buffer.alloc(width * height * 4);
    const head = await r.read(4, deadline);
    if (head[0] !== 0) throw new Error(`expected FramebufferUpdate, got message type ${head[0]}`);
    let area = 0;
    for (let i = head.readUInt16BE(2); i > 0; i--) {
      const rh = await r.read(12, deadline);
      const x = rh.readUInt16BE(0), y = rh.readUInt16BE(2), w = rh.readUInt16BE(4), h = rh.readUInt16BE(6);
      if (rh.readInt32BE(8) !== 0) throw new Error(`expected Raw, got encoding ${rh.readInt32BE(8)}`);
      if (x + w > width || y + h > height) throw new Error(`rectangle ${w}x${h}+${x}+${y} outside ${width}x${height}`);
      const body = await r.read(w * h * 4, deadline);
      for (let row = 0; row < h; row++) body.copy(pixels, ((y + row) * width + x) * 4, row * w * 4, (row + 1) * w * 4);
      area += w * h;
    }
    if (area < width * height) throw new Error(`full update covered ${area} of ${width * height} pixels`);
    return { width, height, pixels };
  } finally {
    socket.destroy();
  }
}
