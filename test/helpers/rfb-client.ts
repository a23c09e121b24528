/**
 * A small RFB 3.8 client for tests and benchmarks: handshake (None or VNC auth), pixel format,
 * encodings, update requests, input events, and a framebuffer kept in BGRX. Decoding of
 * compressed encodings is delegated to `decodeRect` so independent decoders can be plugged in.
 * Every wait is bounded.
 */
import net from 'node:net';
import { ClientInflate } from '../../bench/lib/rfb-decoders.js';
import { vncAuthResponse as serverVncAuthResponse } from '../../server/auth/vnc-auth.js';

export interface ClientPixelFormat {
  bitsPerPixel: number; depth: number; bigEndian: boolean; trueColour: boolean;
  redMax: number; greenMax: number; blueMax: number; redShift: number; greenShift: number; blueShift: number;
}

export interface RectEvent { x: number; y: number; w: number; h: number; encoding: number }
export interface UpdateEvent { rects: RectEvent[]; receivedAt: number }

/** Reads exactly n bytes from a socket, with a deadline. */
class SocketReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: (() => void) | null = null;
  private ended: Error | null = null;
  constructor(private readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => { this.chunks.push(c); this.length += c.length; this.waiter?.(); });
    socket.on('close', () => { this.ended = new Error('connection closed'); this.waiter?.(); });
    socket.on('error', (e) => { this.ended = e; this.waiter?.(); });
  }
  async read(n: number, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.length < n) {
      if (this.ended) throw this.ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${n} bytes (have ${this.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => { this.waiter = null; resolve(); }, left);
        this.waiter = () => { clearTimeout(t); this.waiter = null; resolve(); };
      });
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return Buffer.from(out);
  }
  get buffered(): number { return this.length; }
}

/**
 * VNC-auth response. Node's OpenSSL 3 has no DES without the legacy provider, so this uses the
 * server's implementation, which is itself checked against openssl-computed vectors in
 * test/unit/auth-vnc-auth.test.ts.
 */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  return Buffer.from(serverVncAuthResponse(challenge, password));
}

export interface RfbClientOptions {
  host?: string;
  port: number;
  password?: string;
  shared?: boolean;
  timeoutMs?: number;
}

export class RfbClient {
  socket!: net.Socket;
  private reader!: SocketReader;
  width = 0;
  height = 0;
  name = '';
  serverFormat!: ClientPixelFormat;
  /** BGRX framebuffer, updated by `readUpdate`. */
  fb = Buffer.alloc(0);
  private inflate: ClientInflate | null = null;
  bells = 0;
  cutTexts: string[] = [];
  /** Names received in DesktopName pseudo-rectangles, in order. */
  desktopNames: string[] = [];
  timings: { connected: number; serverInit: number } = { connected: 0, serverInit: 0 };
  readonly timeoutMs: number;

  constructor(private readonly opts: RfbClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async connect(): Promise<this> {
    const t0 = performance.now();
    this.socket = net.connect({ host: this.opts.host ?? '127.0.0.1', port: this.opts.port });
    this.socket.setNoDelay(true);
    this.reader = new SocketReader(this.socket);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('connect timeout')), this.timeoutMs);
      this.socket.once('connect', () => { clearTimeout(t); resolve(); });
      this.socket.once('error', (e) => { clearTimeout(t); reject(e); });
    });
    this.timings.connected = performance.now() - t0;
    const version = (await this.read(12)).toString('latin1');
    if (!version.startsWith('RFB 003.')) throw new Error(`bad banner ${JSON.stringify(version)}`);
    this.socket.write('RFB 003.008\n');
    const n = (await this.read(1))[0]!;
    if (n === 0) throw new Error(`server refused: ${await this.readReason()}`);
    const types = [...(await this.read(n))];
    if (this.opts.password !== undefined) {
      if (!types.includes(2)) throw new Error(`server does not offer VNC auth: ${types}`);
      this.socket.write(Buffer.from([2]));
      const challenge = await this.read(16);
      this.socket.write(vncAuthResponse(this.opts.password, challenge));
    } else {
      if (!types.includes(1)) throw new Error(`server does not offer None: ${types}`);
      this.socket.write(Buffer.from([1]));
    }
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`auth failed: ${await this.readReason()}`);
    this.socket.write(Buffer.from([this.opts.shared === false ? 0 : 1]));
    const init = await this.read(24);
    this.width = init.readUInt16BE(0);
    this.height = init.readUInt16BE(2);
    this.serverFormat = parseFormat(init, 4);
    this.name = (await this.read(init.readUInt32BE(20))).toString('utf8');
    this.timings.serverInit = performance.now() - t0;
    this.fb = Buffer.alloc(this.width * this.height * 4);
    return this;
  }

  private async readReason(): Promise<string> {
    const len = (await this.read(4)).readUInt32BE(0);
    return (await this.read(len)).toString('latin1');
  }

  read(n: number, timeoutMs = this.timeoutMs): Promise<Buffer> {
    return this.reader.read(n, timeoutMs);
  }

  setEncodings(encodings: number[]): void {
    const b = Buffer.alloc(4 + 4 * encodings.length);
    b[0] = 2;
    b.writeUInt16BE(encodings.length, 2);
    encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
    this.socket.write(b);
  }

  setPixelFormat(pf: ClientPixelFormat): void {
    const b = Buffer.alloc(20);
    b[0] = 0;
    b[4] = pf.bitsPerPixel; b[5] = pf.depth; b[6] = pf.bigEndian ? 1 : 0; b[7] = pf.trueColour ? 1 : 0;
    b.writeUInt16BE(pf.redMax, 8); b.writeUInt16BE(pf.greenMax, 10); b.writeUInt16BE(pf.blueMax, 12);
    b[14] = pf.redShift; b[15] = pf.greenShift; b[16] = pf.blueShift;
    this.socket.write(b);
  }

  requestUpdate(incremental: boolean, x = 0, y = 0, w = this.width, h = this.height): void {
    const b = Buffer.alloc(10);
    b[0] = 3; b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(x, 2); b.writeUInt16BE(y, 4); b.writeUInt16BE(w, 6); b.writeUInt16BE(h, 8);
    this.socket.write(b);
  }

  key(keysym: number, down: boolean): void {
    const b = Buffer.alloc(8);
    b[0] = 4; b[1] = down ? 1 : 0;
    b.writeUInt32BE(keysym >>> 0, 4);
    this.socket.write(b);
  }

  pointer(x: number, y: number, mask: number): void {
    const b = Buffer.alloc(6);
    b[0] = 5; b[1] = mask;
    b.writeUInt16BE(x, 2); b.writeUInt16BE(y, 4);
    this.socket.write(b);
  }

  cutText(text: string): void {
    const data = Buffer.from(text, 'latin1');
    const b = Buffer.alloc(8 + data.length);
    b[0] = 6;
    b.writeUInt32BE(data.length, 4);
    data.copy(b, 8);
    this.socket.write(b);
  }

  /**
   * Reads server messages until one FramebufferUpdate has been fully read; Bell and
   * ServerCutText seen on the way are recorded. Supports Raw, Zlib and the pseudo-encodings
   * this helper understands; other encodings go to `decodeRect` if given.
   */
  async readUpdate(opts: { timeoutMs?: number; decodeRect?: (r: RectEvent, c: RfbClient) => Promise<void> } = {}): Promise<UpdateEvent> {
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    for (;;) {
      const type = (await this.read(1, timeoutMs))[0]!;
      if (type === 2) { this.bells++; continue; }
      if (type === 3) {
        const h = await this.read(7, timeoutMs);
        this.cutTexts.push((await this.read(h.readUInt32BE(3), timeoutMs)).toString('latin1'));
        continue;
      }
      if (type !== 0) throw new Error(`unexpected server message type ${type}`);
      const h = await this.read(3, timeoutMs);
      const count = h.readUInt16BE(1);
      const rects: RectEvent[] = [];
      for (let i = 0; i < count; i++) {
        const rh = await this.read(12, timeoutMs);
        const r: RectEvent = { x: rh.readUInt16BE(0), y: rh.readUInt16BE(2), w: rh.readUInt16BE(4), h: rh.readUInt16BE(6), encoding: rh.readInt32BE(8) };
        if (r.encoding === -224) break; // LastRect
        rects.push(r);
        await this.readRectBody(r, timeoutMs, opts.decodeRect);
      }
      return { rects, receivedAt: performance.now() };
    }
  }

  private async readRectBody(r: RectEvent, timeoutMs: number, decodeRect?: (r: RectEvent, c: RfbClient) => Promise<void>): Promise<void> {
    const bpp = this.serverFormat.bitsPerPixel / 8;
    switch (r.encoding) {
      case 0: this.storePixels(r, await this.read(r.w * r.h * bpp, timeoutMs)); return;
      case 6: {
        const len = (await this.read(4, timeoutMs)).readUInt32BE(0);
        const data = await this.read(len, timeoutMs);
        this.storePixels(r, await this.inflateRect(data, r.w * r.h * bpp));
        return;
      }
      case -223: // DesktopSize
        this.resize(r.w, r.h); return;
      case -307: { // DesktopName
        const len = (await this.read(4, timeoutMs)).readUInt32BE(0);
        if (len > 4096) throw new Error(`DesktopName of ${len} bytes`);
        this.desktopNames.push((await this.read(len, timeoutMs)).toString('utf8'));
        return;
      }
      case -239: { // Cursor
        const pixels = r.w * r.h * bpp;
        const mask = Math.floor((r.w + 7) / 8) * r.h;
        await this.read(pixels + mask, timeoutMs);
        return;
      }
      default:
        if (decodeRect) return decodeRect(r, this);
        throw new Error(`test client cannot decode encoding ${r.encoding}`);
    }
  }

  resize(w: number, h: number): void {
    this.width = w; this.height = h;
    this.fb = Buffer.alloc(w * h * 4);
  }

  private async inflateRect(data: Buffer, expected: number): Promise<Buffer> {
    // One persistent inflate stream per connection, as the Zlib encoding requires.
    this.inflate ??= new ClientInflate();
    const out = await this.inflate.inflate(data);
    if (out.length !== expected) throw new Error(`zlib rect inflated to ${out.length}, expected ${expected}`);
    return out;
  }

  /** Stores client-format pixels (must be the 32-bpp native format) into the BGRX framebuffer. */
  storePixels(r: RectEvent, pixels: Buffer): void {
    const f = this.serverFormat;
    if (f.bitsPerPixel !== 32 || f.redShift !== 16 || f.bigEndian) throw new Error('test client stores only the native format');
    for (let y = 0; y < r.h; y++) {
      pixels.copy(this.fb, ((r.y + y) * this.width + r.x) * 4, y * r.w * 4, (y + 1) * r.w * 4);
    }
  }

  close(): void {
    this.socket?.destroy();
  }
}

export function parseFormat(b: Buffer, o: number): ClientPixelFormat {
  return {
    bitsPerPixel: b[o]!, depth: b[o + 1]!, bigEndian: b[o + 2] !== 0, trueColour: b[o + 3] !== 0,
    redMax: b.readUInt16BE(o + 4), greenMax: b.readUInt16BE(o + 6), blueMax: b.readUInt16BE(o + 8),
    redShift: b[o + 10]!, greenShift: b[o + 11]!, blueShift: b[o + 12]!,
  };
}
