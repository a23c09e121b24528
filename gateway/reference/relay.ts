/**
 * The `/ws/vnc/{runId}` relay: pairs one runner socket with one viewer socket per run and
 * forwards every message unchanged as a binary message (gateway-protocol.md §6.2). Unlike the
 * original it bounds what it queues for an absent peer (G4), applies backpressure to a fast
 * sender when the receiver lags, replaces a duplicate connection cleanly (G3), pings both ends
 * to notice half-open peers (G5), and closes with a code and reason the other side can read.
 */
import WebSocket, { type RawData } from 'ws';
import type { Logger } from '../../core/log.js';

export type TunnelRole = 'runner' | 'viewer';

export interface RelayOptions {
  /** Bytes queued from one side while its peer is absent; beyond it that side is closed (1009). */
  maxQueuedBytes?: number;
  /** Pause a sender while its receiver has more than this many bytes unsent. */
  highWaterMark?: number;
  /** Ping period; a socket that has not answered the previous ping is terminated. */
  pingIntervalMs?: number;
  /** A socket left without a peer this long is closed (4008). */
  lonelyTimeoutMs?: number;
  logger: Logger;
}

/** Per-tunnel statistics in the original's JSON shape (§6.3). */
export interface TunnelStats {
  runId: string;
  status: 'active' | 'pending';
  clientConnected: boolean;
  viewerConnected: boolean;
  createdAt: string;
  clientConnectedAt?: string;
  viewerConnectedAt?: string;
  bytesFromClient: number;
  bytesToClient: number;
  bytesFromViewer: number;
  bytesToViewer: number;
  totalBytes: number;
}

interface Side {
  ws: WebSocket;
  /** Our own listeners, removed on teardown (never `removeAllListeners`: ws's server tracks clients with its own). */
  onMessage: (data: RawData) => void;
  onClose: () => void;
  connectedAt: Date;
  /** Messages from this side waiting for the peer to connect. */
  queue: Buffer[];
  queuedBytes: number;
  alive: boolean;
  bytesIn: number;
  bytesOut: number;
}

interface Tunnel {
  runId: string;
  createdAt: Date;
  runner?: Side;
  viewer?: Side;
  lonelyTimer?: NodeJS.Timeout;
}

/** Close codes the relay uses (4000–4999 is the application range). */
export const RelayClose = {
  PeerLeft: 1000,
  TooMuchQueued: 1009,
  Replaced: 4001,
  PeerReplaced: 4002,
  NoPeer: 4008,
  Closed: 4009,
} as const;

export class TunnelRelay {
  private readonly tunnels = new Map<string, Tunnel>();
  private readonly pingTimer: NodeJS.Timeout;
  private readonly maxQueued: number;
  private readonly highWater: number;
  private readonly lonelyMs: number;
  private readonly log: Logger;

  constructor(opts: RelayOptions) {
    this.maxQueued = opts.maxQueuedBytes ?? 8 * 1024 * 1024;
    this.highWater = opts.highWaterMark ?? 4 * 1024 * 1024;
    this.lonelyMs = opts.lonelyTimeoutMs ?? 120_000;
    this.log = opts.logger;
    this.pingTimer = setInterval(() => this.pingAll(), opts.pingIntervalMs ?? 30_000);
    this.pingTimer.unref();
  }

  /** Add an authenticated socket to the run's tunnel. */
  attach(runId: string, role: TunnelRole, ws: WebSocket): void {
    let tunnel = this.tunnels.get(runId);
    if (tunnel && tunnel[role]) {
      // A second socket of the same role starts a new RFB session: the old pair cannot carry on.
      this.log.info('replacing tunnel connection', { runId, role });
      this.teardown(tunnel, role, RelayClose.Replaced, 'replaced by a new connection', RelayClose.PeerReplaced, 'peer replaced by a new connection');
      tunnel = undefined;
    }
    if (!tunnel) {
      tunnel = { runId, createdAt: new Date() };
      this.tunnels.set(runId, tunnel);
    }
    const t = tunnel;
    const side: Side = {
      ws,
      onMessage: (data: RawData) => this.forward(t, role, toBuffer(data)),
      onClose: () => this.onClose(t, role, side),
      connectedAt: new Date(),
      queue: [],
      queuedBytes: 0,
      alive: true,
      bytesIn: 0,
      bytesOut: 0,
    };
    tunnel[role] = side;
    ws.on('pong', () => (side.alive = true));
    ws.on('message', side.onMessage);
    ws.on('error', (err) => this.log.warn('tunnel socket error', { runId, role, error: err.message }));
    ws.on('close', side.onClose);
    const peer = tunnel[other(role)];
    if (peer) {
      clearTimeout(tunnel.lonelyTimer);
      tunnel.lonelyTimer = undefined;
      // Flush what the peer said before we arrived (e.g. the runner's "RFB 003.008\n").
      for (const buf of peer.queue.splice(0)) this.send(t, other(role), role, buf);
      peer.queuedBytes = 0;
      this.log.info('tunnel active', { runId });
    } else {
      this.armLonelyTimer(tunnel);
    }
  }

  /** Close a run's tunnel (DELETE /vnc). False if there was none. */
  close(runId: string, reason = 'tunnel closed by the gateway'): boolean {
    const tunnel = this.tunnels.get(runId);
    if (!tunnel) return false;
    this.teardown(tunnel, 'runner', RelayClose.Closed, reason, RelayClose.Closed, reason);
    return true;
  }

  has(runId: string): boolean {
    return this.tunnels.has(runId);
  }

  stats(runId: string): TunnelStats | null {
    const t = this.tunnels.get(runId);
    return t ? statsOf(t) : null;
  }

  allStats(): TunnelStats[] {
    return [...this.tunnels.values()].map(statsOf);
  }

  /** Number of open tunnel sockets (for /api/health). */
  get socketCount(): number {
    let n = 0;
    for (const t of this.tunnels.values()) n += (t.runner ? 1 : 0) + (t.viewer ? 1 : 0);
    return n;
  }

  /** Close every tunnel and stop the ping timer. */
  closeAll(code = 1001, reason = 'gateway shutting down'): void {
    clearInterval(this.pingTimer);
    for (const t of [...this.tunnels.values()]) this.teardown(t, 'runner', code, reason, code, reason);
  }

  private forward(t: Tunnel, from: TunnelRole, buf: Buffer): void {
    const src = t[from];
    if (!src || this.tunnels.get(t.runId) !== t) return;
    src.bytesIn += buf.length;
    const to = other(from);
    if (t[to]?.ws.readyState === WebSocket.OPEN) {
      this.send(t, from, to, buf);
      return;
    }
    src.queue.push(buf);
    src.queuedBytes += buf.length;
    if (src.queuedBytes > this.maxQueued) {
      this.log.warn('relay queue full, closing sender', { runId: t.runId, role: from, bytes: src.queuedBytes });
      this.teardown(t, from, RelayClose.TooMuchQueued, 'relay queue full: peer not connected', RelayClose.PeerLeft, `${from} left`);
    }
  }

  private send(t: Tunnel, from: TunnelRole, to: TunnelRole, buf: Buffer): void {
    const src = t[from];
    const dst = t[to];
    if (!dst) return;
    dst.bytesOut += buf.length;
    dst.ws.send(buf, { binary: true }, () => {
      // Resume the sender once the receiver has drained below half the high-water mark.
      if (src && src.ws.isPaused && dst.ws.bufferedAmount < this.highWater / 2) src.ws.resume();
    });
    if (src && dst.ws.bufferedAmount > this.highWater && !src.ws.isPaused) src.ws.pause();
  }

  private onClose(t: Tunnel, role: TunnelRole, side: Side): void {
    if (t[role] !== side) return; // already replaced or torn down
    this.log.info('tunnel side closed', { runId: t.runId, role });
    // An RFB session cannot survive losing either end: close the peer with a reason it can show.
    this.teardown(t, role, undefined, undefined, RelayClose.PeerLeft, `${role} left`);
  }

  /** Detach both sides and remove the tunnel. `role`'s socket gets code1 (if any), the peer code2. */
  private teardown(t: Tunnel, role: TunnelRole, code1: number | undefined, reason1: string | undefined, code2: number, reason2: string): void {
    clearTimeout(t.lonelyTimer);
    if (this.tunnels.get(t.runId) === t) this.tunnels.delete(t.runId);
    const a = t[role];
    const b = t[other(role)];
    t.runner = undefined;
    t.viewer = undefined;
    if (a) {
      detach(a);
      closeSocket(a.ws, code1 ?? RelayClose.PeerLeft, reason1 ?? 'closed');
    }
    if (b) {
      detach(b);
      closeSocket(b.ws, code2, reason2);
    }
  }

  private armLonelyTimer(t: Tunnel): void {
    clearTimeout(t.lonelyTimer);
    t.lonelyTimer = setTimeout(() => {
      if (this.tunnels.get(t.runId) !== t || (t.runner && t.viewer)) return;
      const role: TunnelRole = t.runner ? 'runner' : 'viewer';
      this.log.info('closing tunnel without a peer', { runId: t.runId, role });
      this.teardown(t, role, RelayClose.NoPeer, `no ${other(role)} connected within ${Math.round(this.lonelyMs / 1000)} s`, RelayClose.NoPeer, 'no peer');
    }, this.lonelyMs);
    t.lonelyTimer.unref();
  }

  private pingAll(): void {
    for (const t of this.tunnels.values()) {
      for (const side of [t.runner, t.viewer]) {
        if (!side || side.ws.readyState !== WebSocket.OPEN) continue;
        if (!side.alive) {
          side.ws.terminate();
          continue;
        }
        side.alive = false;
        side.ws.ping();
      }
    }
  }
}

function other(role: TunnelRole): TunnelRole {
  return role === 'runner' ? 'viewer' : 'runner';
}

function detach(side: Side): void {
  side.ws.off('message', side.onMessage);
  side.ws.off('close', side.onClose);
  side.queue = [];
  side.queuedBytes = 0;
}

function closeSocket(ws: WebSocket, code: number, reason: string): void {
  if (ws.readyState === WebSocket.OPEN) {
    // A paused socket would never read the peer's close frame.
    if (ws.isPaused) ws.resume();
    ws.close(code, reason.slice(0, 123));
    // A peer that never answers the close handshake is cut off.
    setTimeout(() => ws.terminate(), 5_000).unref();
  } else if (ws.readyState === WebSocket.CONNECTING) {
    ws.terminate();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function statsOf(t: Tunnel): TunnelStats {
  const runner = t.runner;
  const viewer = t.viewer;
  const s: TunnelStats = {
    runId: t.runId,
    status: runner && viewer ? 'active' : 'pending',
    clientConnected: runner?.ws.readyState === WebSocket.OPEN,
    viewerConnected: viewer?.ws.readyState === WebSocket.OPEN,
    createdAt: t.createdAt.toISOString(),
    bytesFromClient: runner?.bytesIn ?? 0,
    bytesToClient: runner?.bytesOut ?? 0,
    bytesFromViewer: viewer?.bytesIn ?? 0,
    bytesToViewer: viewer?.bytesOut ?? 0,
    totalBytes: (runner?.bytesIn ?? 0) + (viewer?.bytesIn ?? 0),
  };
  if (runner) s.clientConnectedAt = runner.connectedAt.toISOString();
  if (viewer) s.viewerConnectedAt = viewer.connectedAt.toISOString();
  return s;
}
