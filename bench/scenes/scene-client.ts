/**
 * The scene benchmark's RFB client: the same client for every server, counting the bytes of
 * every update on the wire. It reuses the issue-2 benchmark's byte reader and rectangle framing
 * (bench/lib) and adds what the scene benchmark needs beyond `RfbProbe`: per-update byte counts
 * (the probe hides its reader) and Hextile framing. Security type None only; updates are framed,
 * never decoded. Every read has a deadline; every size from the wire is bounded by the framing.
 */
import net from 'node:net';
import type { ByteReader } from '../lib/byte-reader.js';
import { connectRfb, keyEventMessage, setEncodingsMessage, updateRequestMessage, type ServerPixelFormat } from '../lib/rfb-connect.js';
import { isPixelEncoding, nextUpdate, readServerMessage, RECT_HEADER_BYTES, skipRectBody } from '../lib/rect-framing.js';
import type { RfbTestDecoder } from '../lib/rfb-decoders.js';
import { skipHextile } from './hextile-framing.js';

const HEXTILE = 5;

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
  format!: ServerPixelFormat;
  /**
   * When set, rectangle bodies are decoded into it (what a viewer would show) instead of only
   * framed: the quality measurement of lossy cells. Bytes are counted the same way.
   */
  decoder: RfbTestDecoder | null = null;
  private constructor(
    private readonly socket: net.Socket,
    private readonly reader: ByteReader,
  ) {}

  /** Connects and completes the handshake up to ServerInit (shared session). */
  static async connect(opts: SceneClientOptions): Promise<SceneClient> {
    const c = await connectRfb(opts);
    const client = new SceneClient(c.socket, c.reader);
    client.width = c.width;
    client.height = c.height;
    client.format = c.format;
    return client;
  }

  /** Bytes read from the socket and consumed by the parser so far. */
  get consumed(): number {
    return this.reader.received - this.reader.available;
  }

  setEncodings(encodings: readonly number[]): void {
    this.socket.write(setEncodingsMessage(encodings));
  }

  requestUpdate(incremental: boolean): void {
    this.socket.write(updateRequestMessage(incremental, this.width, this.height));
  }

  /** A key press and release. */
  tap(keysym: number): void {
    this.socket.write(Buffer.concat([keyEventMessage(keysym, true), keyEventMessage(keysym, false)]));
  }

  /**
   * Reads server messages until one FramebufferUpdate has been read completely (Bell,
   * colour maps, cut text and fences on the way are skipped and counted in its bytes).
   */
  async readUpdate(timeoutMs: number): Promise<SceneUpdate> {
    const deadline = performance.now() + timeoutMs;
    const before = this.consumed;
    for (;;) {
      const u = await this.readMessage(deadline, before);
      if (u) return u;
    }
  }

  /**
   * Waits up to `waitMs` for a FramebufferUpdate to begin and reads it whole (within
   * `timeoutMs`); null if none began in time. Other messages on the way are skipped and counted
   * in the update's bytes (see `nextUpdate` in rect-framing.ts).
   */
  nextUpdate(waitMs: number, timeoutMs: number): Promise<SceneUpdate | null> {
    const before = this.consumed;
    return nextUpdate(this.reader, waitMs, () => this.readMessage(performance.now() + timeoutMs, before));
  }

  /** Reads one server message: the update (bytes counted from `countFrom`), or null for another. */
  private async readMessage(deadline: number, countFrom: number): Promise<SceneUpdate | null> {
    const r = this.reader;
    const rects: ClientRect[] = [];
    let pixelArea = 0;
    const m = await readServerMessage(r, deadline, async (head) => {
      const start = this.consumed - RECT_HEADER_BYTES; // read already, and part of the rectangle's bytes
      if (this.decoder) await this.decoder.decodeRect(head, { read: (n) => r.read(n, deadline) });
      else if (head.encoding === HEXTILE) await skipHextile(r, head.w, head.h, this.format.bitsPerPixel / 8, deadline);
      else await skipRectBody(r, head, this.format, deadline);
      rects.push({ ...head, bytes: this.consumed - start });
      if (isPixelEncoding(head.encoding)) pixelArea += head.w * head.h;
    });
    if (!m) return null;
    return { rects, startedAt: m.startedAt, completedAt: performance.now(), bytes: this.consumed - countFrom, pixelArea };
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
