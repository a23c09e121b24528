/**
 * The scene benchmark's RFB client: the same client for every server, counting the bytes of
 * every update on the wire. It reuses the issue-2 benchmark's byte reader and rectangle framing
 * (bench/lib) and adds what the scene benchmark needs beyond `RfbProbe`: per-update byte counts
 * (the probe hides its reader) and Hextile framing. Security type None only; updates are framed,
 * never decoded. Every read has a deadline; every size from the wire is bounded by the framing.
 */
import net from 'node:net';
import { ErrorCode, VncError } from '../../core/errors.js';
import { ByteReader } from '../lib/byte-reader.js';
import { isPixelEncoding, skipRectBody, type FramingFormat } from '../lib/rect-framing.js';
import { skipHextile } from './hextile-framing.js';

const HEXTILE = 5;
const MAX_NAME_BYTES = 64 * 1024;
const MAX_CUT_TEXT = 16 * 1024 * 1024;

export interface ClientRect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly encoding: number;
  /** Wire bytes of this rectangle, its 12-byte header included. */
  readonly bytes: number;
}

/** One FramebufferUpdate as received. */
export interface SceneUpdate {
  readonly rects: readonly ClientRect[];
  /** performance.now() when its first byte had been read. */
  readonly startedAt: number;
  /** performance.now() when its last byte had been read. */
  readonly completedAt: number;
  /** Bytes it took on the wire, headers included (and any other message read before it). */
  readonly bytes: number;
  /** Pixels covered by pixel-carrying rectangles (CopyRect included). */
  readonly pixelArea: number;
}

export interface SceneClientOptions {
  readonly host: string;
  readonly port: number;
  /** Deadline for the TCP connect plus the handshake. */
  readonly timeoutMs: number;
}

export class SceneClient {
  width = 0;
  height = 0;
  format!: FramingFormat & { bigEndian: boolean };
  private readonly reader: ByteReader;

  private constructor(private readonly socket: net.Socket) {
    this.reader = new ByteReader(socket);
  }

  /** Connects and completes the handshake up to ServerInit (shared session). */
  static async connect(opts: SceneClientOptions): Promise<SceneClient> {
    const deadline = performance.now() + opts.timeoutMs;
    const socket = net.connect({ host: opts.host, port: opts.port });
    socket.setNoDelay(true);
    const client = new SceneClient(socket);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new VncError(ErrorCode.Timeout, `no TCP connection to ${opts.host}:${opts.port} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
        socket.once('connect', () => {
          clearTimeout(t);
          resolve();
        });
        socket.once('error', (e) => {
          clearTimeout(t);
          reject(new VncError(ErrorCode.Closed, `cannot connect to ${opts.host}:${opts.port}: ${e.message}`, { cause: e }));
        });
      });
      await client.handshake(deadline);
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  private async handshake(deadline: number): Promise<void> {
    const r = this.reader;
    const banner = (await r.read(12, deadline)).toString('latin1');
    const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(banner);
    if (!m) throw new VncError(ErrorCode.Protocol, `bad RFB banner ${JSON.stringify(banner)}`);
    const minor = Number(m[1]) > 3 ? 8 : Math.min(Number(m[2]), 8);
    const version = minor >= 8 ? 8 : minor >= 7 ? 7 : 3;
    this.socket.write(`RFB 003.00${version}\n`);
    if (version === 3) {
      const type = (await r.read(4, deadline)).readUInt32BE(0);
      if (type !== 1) throw new VncError(ErrorCode.Auth, `server requires security type ${type}; the benchmark needs None`);
    } else {
      const n = await r.u8(deadline);
      if (n === 0) throw new VncError(ErrorCode.Auth, 'server refused the connection');
      const types = [...(await r.read(n, deadline))];
      if (!types.includes(1)) throw new VncError(ErrorCode.Auth, `server offers security types ${types.join(',')}; the benchmark needs None (1)`);
      this.socket.write(Buffer.from([1]));
      if (version === 8 && (await r.read(4, deadline)).readUInt32BE(0) !== 0) throw new VncError(ErrorCode.Auth, 'security handshake failed');
    }
    this.socket.write(Buffer.from([1])); // ClientInit: shared
    const init = await r.read(24, deadline);
    this.width = init.readUInt16BE(0);
    this.height = init.readUInt16BE(2);
    this.format = {
      bitsPerPixel: init[4]!,
      depth: init[5]!,
      bigEndian: init[6] !== 0,
      trueColour: init[7] !== 0,
      redMax: init.readUInt16BE(8),
      greenMax: init.readUInt16BE(10),
      blueMax: init.readUInt16BE(12),
    };
    if (![8, 16, 32].includes(this.format.bitsPerPixel)) throw new VncError(ErrorCode.Protocol, `server pixel format has ${this.format.bitsPerPixel} bpp`);
    const nameLen = init.readUInt32BE(20);
    if (nameLen > MAX_NAME_BYTES) throw new VncError(ErrorCode.TooLarge, `desktop name of ${nameLen} bytes`);
    await r.skip(nameLen, deadline);
  }

  /** Bytes read from the socket and consumed by the parser so far. */
  get consumed(): number {
    return this.reader.received - this.reader.available;
  }

  setEncodings(encodings: readonly number[]): void {
    const b = Buffer.alloc(4 + 4 * encodings.length);
    b[0] = 2;
    b.writeUInt16BE(encodings.length, 2);
    encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
    this.socket.write(b);
  }

  requestUpdate(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    this.socket.write(b);
  }

  /** A key press and release. */
  tap(keysym: number): void {
    const b = Buffer.alloc(16);
    b[0] = 4;
    b[1] = 1;
    b.writeUInt32BE(keysym >>> 0, 4);
    b[8] = 4;
    b.writeUInt32BE(keysym >>> 0, 12);
    this.socket.write(b);
  }

  /** Resolves true once a message starts arriving, false when `timeoutMs` passes first. */
  waitForMessage(timeoutMs: number): Promise<boolean> {
    return this.reader.waitForData(performance.now() + timeoutMs);
  }

  /**
   * Reads server messages until one FramebufferUpdate has been read completely (Bell,
   * colour maps, cut text and fences on the way are skipped and counted in its bytes).
   */
  async readUpdate(timeoutMs: number): Promise<SceneUpdate> {
    const r = this.reader;
    const deadline = performance.now() + timeoutMs;
    const before = this.consumed;
    for (;;) {
      const type = await r.u8(deadline);
      const startedAt = performance.now();
      if (type === 2 || type === 150) continue; // Bell, EndOfContinuousUpdates
      if (type === 1) {
        const h = await r.read(5, deadline);
        await r.skip(6 * h.readUInt16BE(3), deadline);
        continue;
      }
      if (type === 3) {
        const len = (await r.read(7, deadline)).readUInt32BE(3);
        if (len > MAX_CUT_TEXT) throw new VncError(ErrorCode.TooLarge, `ServerCutText of ${len} bytes`);
        await r.skip(len, deadline);
        continue;
      }
      if (type === 248) {
        const h = await r.read(8, deadline);
        await r.skip(h[7]!, deadline);
        continue;
      }
      if (type !== 0) throw new VncError(ErrorCode.Protocol, `unexpected server message type ${type}`);
      const count = (await r.read(3, deadline)).readUInt16BE(1);
      const rects: ClientRect[] = [];
      let pixelArea = 0;
      for (let i = 0; i < count; i++) {
        const start = this.consumed;
        const h = await r.read(12, deadline);
        const head = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), w: h.readUInt16BE(4), h: h.readUInt16BE(6), encoding: h.readInt32BE(8) };
        if (head.encoding === HEXTILE) await skipHextile(r, head.w, head.h, this.format.bitsPerPixel / 8, deadline);
        else if (!(await skipRectBody(r, head, this.format, deadline))) break; // LastRect
        const rect: ClientRect = { ...head, bytes: this.consumed - start };
        rects.push(rect);
        if (isPixelEncoding(rect.encoding)) pixelArea += rect.w * rect.h;
      }
      return { rects, startedAt, completedAt: performance.now(), bytes: this.consumed - before, pixelArea };
    }
  }

  /** Reads updates (asking for more) until pixel rectangles covering the screen have arrived. */
  async readFullFrame(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let area = 0;
    for (;;) {
      const u = await this.readUpdate(Math.max(1, deadline - performance.now()));
      area += u.pixelArea;
      if (area >= this.width * this.height) return;
      this.requestUpdate(true);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
