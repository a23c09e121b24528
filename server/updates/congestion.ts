/**
 * Fence-based congestion control (after TigerVNC's Congestion.cxx, much simplified). Socket
 * buffers tell us only about the first hop; over a WebSocket tunnel or a gateway relay the bytes
 * pile up where we cannot see them. A fence request sent after an update comes back only after
 * the client has received (and, for noVNC, drawn) everything before it, so
 * `bytes sent − bytes acknowledged by the newest fence reply` is the true amount in flight.
 *
 * The window adapts like a delay-based controller: it grows while round trips stay near the
 * minimum seen and shrinks when they stretch (queues are building up somewhere).
 */
export interface CongestionOptions {
  initialWindowBytes: number;
  minWindowBytes: number;
  maxWindowBytes: number;
  /** A ping unanswered this long no longer blocks sending (a client that stopped answering). */
  pingTimeoutMs: number;
  /** At most this many pings outstanding (bounded memory whatever the client does). */
  maxOutstandingPings: number;
}

interface Ping {
  seq: number;
  sentAt: number;
  bytesAtSend: number;
}

const DEFAULTS: CongestionOptions = {
  initialWindowBytes: 1 << 20,
  minWindowBytes: 64 << 10,
  maxWindowBytes: 32 << 20,
  pingTimeoutMs: 5000,
  maxOutstandingPings: 32,
};

export class Congestion {
  private readonly opts: CongestionOptions;
  private window: number;
  private bytesSent = 0;
  private bytesAcked = 0;
  private seq = 0;
  private readonly pings: Ping[] = [];
  private minRttMs = Infinity;
  lastRttMs = 0;

  constructor(opts: Partial<CongestionOptions> = {}, private readonly now: () => number = () => performance.now()) {
    this.opts = { ...DEFAULTS, ...opts };
    this.window = this.opts.initialWindowBytes;
  }

  /** Count bytes written to the client. */
  sent(bytes: number): void {
    this.bytesSent += bytes;
  }

  /** The payload of the next RTT fence, or null when too many are outstanding. */
  ping(): Buffer | null {
    if (this.pings.length >= this.opts.maxOutstandingPings) return null;
    const seq = (this.seq = (this.seq + 1) >>> 0);
    this.pings.push({ seq, sentAt: this.now(), bytesAtSend: this.bytesSent });
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(seq, 0);
    return payload;
  }

  /** A fence reply arrived; returns false if it was not one of ours. */
  pong(payload: Uint8Array): boolean {
    if (payload.length !== 4) return false;
    const seq = Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32BE(0);
    const i = this.pings.findIndex((p) => p.seq === seq);
    if (i < 0) return false;
    const p = this.pings[i]!;
    this.pings.splice(0, i + 1); // replies come in order; older ones are implied
    const rtt = this.now() - p.sentAt;
    this.lastRttMs = rtt;
    this.bytesAcked = Math.max(this.bytesAcked, p.bytesAtSend);
    this.minRttMs = Math.min(this.minRttMs, rtt);
    if (rtt > this.minRttMs * 2 + 20) this.window = Math.max(this.opts.minWindowBytes, Math.floor(this.window * 0.75));
    else if (this.inFlight() * 2 >= this.window) this.window = Math.min(this.opts.maxWindowBytes, Math.floor(this.window * 1.25));
    return true;
  }

  inFlight(): number {
    return this.bytesSent - this.bytesAcked;
  }

  get windowBytes(): number {
    return this.window;
  }

  /** Should the next update wait for a fence reply? */
  isCongested(): boolean {
    if (this.pings.length === 0) return false;
    if (this.now() - this.pings[0]!.sentAt > this.opts.pingTimeoutMs) return false;
    return this.inFlight() >= this.window;
  }
}
