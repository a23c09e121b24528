/**
 * The benchmark's RFB client: just enough protocol to time a server from the outside, the same
 * way for every server (ours, TigerVNC's x0vncserver, x11vnc). Security type None only; RFB
 * 3.3, 3.7 and 3.8 handshakes; updates are framed, not decoded (rect-framing.ts). Timestamps are
 * `performance.now()` values taken when the corresponding bytes had been read.
 */
import net from 'node:net';
import type { ByteReader } from './byte-reader.js';
import { connectRfb, keyEventMessage, setEncodingsMessage, updateRequestMessage, type ServerPixelFormat } from './rfb-connect.js';
import { isPixelEncoding, nextUpdate, readServerMessage, skipRectBody, type RectHeader } from './rect-framing.js';

export interface ProbeOptions {
  readonly host: string;
  readonly port: number;
  /** Deadline for connecting plus the whole handshake, ms. */
  readonly timeoutMs: number;
}

export type { ServerPixelFormat } from './rfb-connect.js';

/** A rectangle of an update (its header). */
export type RectInfo = RectHeader;

/** One FramebufferUpdate as received. */
export interface UpdateInfo {
  readonly rects: readonly RectInfo[];
  /** When the message type byte had been read. */
  readonly startedAt: number;
  /** When the last byte of the update had been read. */
  readonly completedAt: number;
  /** Pixels covered by pixel-carrying rectangles (pseudo-encodings excluded). */
  readonly pixelArea: number;
}


export class RfbProbe {
  /** When `connect` began (before the TCP connect). */
  readonly startedAt: number;
  /** When the ServerInit message (including the name) had been read. */
  serverInitAt = 0;
  width = 0;
  height = 0;
  name = '';
  format!: ServerPixelFormat;

  private constructor(
    private readonly socket: net.Socket,
    private readonly reader: ByteReader,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
  }

  /** Connects and completes the handshake up to ServerInit (shared session). */
  static async connect(opts: ProbeOptions): Promise<RfbProbe> {
    const c = await connectRfb(opts);
    const probe = new RfbProbe(c.socket, c.reader, c.startedAt);
    probe.serverInitAt = c.serverInitAt;
    probe.width = c.width;
    probe.height = c.height;
    probe.format = c.format;
    probe.name = c.name;
    return probe;
  }

  /** Bytes received and not yet consumed (e.g. an update already on its way). */
  get buffered(): number {
    return this.reader.available;
  }

  setEncodings(encodings: readonly number[]): void {
    this.socket.write(setEncodingsMessage(encodings));
  }

  requestUpdate(incremental: boolean): void {
    this.socket.write(updateRequestMessage(incremental, this.width, this.height));
  }

  key(keysym: number, down: boolean): void {
    this.socket.write(keyEventMessage(keysym, down));
  }

  pointer(x: number, y: number, buttonMask: number): void {
    const b = Buffer.alloc(6);
    b[0] = 5;
    b[1] = buttonMask;
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    this.socket.write(b);
  }

  /**
   * Reads server messages until one FramebufferUpdate has been read completely. Bell,
   * SetColourMapEntries and ServerCutText on the way are skipped. Rejects with VNC_ERR_TIMEOUT
   * when `timeoutMs` passes first.
   */
  async readUpdate(timeoutMs: number): Promise<UpdateInfo> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const u = await this.readMessage(deadline);
      if (u) return u;
    }
  }

  /**
   * Waits up to `waitMs` for a FramebufferUpdate to begin and reads it whole (within
   * `timeoutMs`); null if none began in time. Other messages on the way are skipped.
   */
  nextUpdate(waitMs: number, timeoutMs: number): Promise<UpdateInfo | null> {
    return nextUpdate(this.reader, waitMs, () => this.readMessage(performance.now() + timeoutMs));
  }

  /** Reads one server message: the update, or null for another (skipped). */
  private async readMessage(deadline: number): Promise<UpdateInfo | null> {
    let pixelArea = 0;
    const m = await readServerMessage(this.reader, deadline, async (head) => {
      await skipRectBody(this.reader, head, this.format, deadline);
      if (isPixelEncoding(head.encoding)) pixelArea += head.w * head.h;
    });
    return m && { rects: m.heads, startedAt: m.startedAt, completedAt: performance.now(), pixelArea };
  }

  /**
   * Reads updates until pixel rectangles covering the whole screen have arrived. A server may
   * answer a non-incremental request with less than the screen (pseudo-rectangles first, or a
   * partial update); then an incremental request asks for the rest, as a real client would.
   * Returns the time the last update completed.
   */
  async readFullFrame(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    const need = this.width * this.height;
    let area = 0;
    let completedAt = 0;
    for (;;) {
      const u = await this.readUpdate(Math.max(1, deadline - performance.now()));
      area += u.pixelArea;
      completedAt = u.completedAt;
      if (area >= need) return completedAt;
      this.requestUpdate(true);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
