/**
 * Plain TCP listener for VNC viewers. Each accepted socket is handed to `onConnection` as a
 * Duplex; the listener itself holds no per-client state.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, VncError } from '../../core/errors.js';

export interface ConnectionInfo {
  readonly remoteAddress: string;
  readonly transport: 'tcp' | 'ws' | 'tunnel';
}

export type ConnectionHandler = (stream: Duplex, info: ConnectionInfo) => void;

export interface TcpListener {
  /** The bound address (port resolved when 0 was asked). */
  readonly address: { host: string; port: number };
  close(): Promise<void>;
}

export interface TcpListenerOptions {
  host: string;
  port: number;
  onConnection: ConnectionHandler;
}

export async function listenTcp(opts: TcpListenerOptions): Promise<TcpListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    // Small RFB messages (key events, pointer moves, update requests) must not wait for Nagle.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    opts.onConnection(socket, { remoteAddress: socket.remoteAddress ?? 'unknown', transport: 'tcp' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new VncError(ErrorCode.Config, `cannot listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`, { cause: err })),
    );
    server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => resolve());
  });
  const a = server.address() as net.AddressInfo;
  return {
    address: { host: a.address, port: a.port },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
