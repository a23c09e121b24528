/**
 * The benchmark clients' connection setup: TCP connect plus the RFB handshake up to ServerInit
 * (security type None, shared session), with one deadline for all of it. Shared by the latency
 * probe (rfb-probe.ts) and the scene client (scenes/scene-client.ts).
 */
import net from 'node:net';
import { ErrorCode, VncError } from '../../core/errors.js';
import { ByteReader } from './byte-reader.js';
import type { FramingFormat } from './rect-framing.js';

/** Longest desktop name accepted in ServerInit. */
const MAX_NAME_BYTES = 64 * 1024;

export interface ServerPixelFormat extends FramingFormat {
  readonly bigEndian: boolean;
  readonly redShift: number;
  readonly greenShift: number;
  readonly blueShift: number;
}

export interface RfbConnection {
  readonly socket: net.Socket;
  readonly reader: ByteReader;
  readonly width: number;
  readonly height: number;
  readonly format: ServerPixelFormat;
  readonly name: string;
  /** When the connect began and when ServerInit (with the name) had been read. */
  readonly startedAt: number;
  readonly serverInitAt: number;
}

export async function connectRfb(opts: { host: string; port: number; timeoutMs: number }): Promise<RfbConnection> {
  const startedAt = performance.now();
  const deadline = startedAt + opts.timeoutMs;
  const socket = net.connect({ host: opts.host, port: opts.port });
  socket.setNoDelay(true);
  const reader = new ByteReader(socket);
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
    return { socket, reader, startedAt, ...(await handshake(socket, reader, deadline)), serverInitAt: performance.now() };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

async function reason(r: ByteReader, deadline: number): Promise<string> {
  const len = (await r.read(4, deadline)).readUInt32BE(0);
  return (await r.read(Math.min(len, 4096), deadline)).toString('latin1');
}

async function handshake(socket: net.Socket, r: ByteReader, deadline: number): Promise<{ width: number; height: number; format: ServerPixelFormat; name: string }> {
  const banner = (await r.read(12, deadline)).toString('latin1');
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(banner);
  if (!m) throw new VncError(ErrorCode.Protocol, `bad RFB banner ${JSON.stringify(banner)}`);
  const minor = Number(m[1]) > 3 ? 8 : Math.min(Number(m[2]), 8);
  const version = minor >= 8 ? 8 : minor >= 7 ? 7 : 3;
  socket.write(`RFB 003.00${version}\n`);
  if (version === 3) {
    const type = (await r.read(4, deadline)).readUInt32BE(0);
    if (type === 0) throw new VncError(ErrorCode.Auth, `server refused: ${await reason(r, deadline)}`);
    if (type !== 1) throw new VncError(ErrorCode.Auth, `server requires security type ${type}; the benchmark needs None`);
  } else {
    const n = await r.u8(deadline);
    if (n === 0) throw new VncError(ErrorCode.Auth, `server refused: ${await reason(r, deadline)}`);
    const types = [...(await r.read(n, deadline))];
    if (!types.includes(1)) throw new VncError(ErrorCode.Auth, `server offers security types ${types.join(',')}; the benchmark needs None (1)`);
    socket.write(Buffer.from([1]));
    if (version === 8) {
      const result = (await r.read(4, deadline)).readUInt32BE(0);
      if (result !== 0) throw new VncError(ErrorCode.Auth, `security result ${result}: ${await reason(r, deadline)}`);
    }
  }
  socket.write(Buffer.from([1])); // ClientInit: shared
  const init = await r.read(24, deadline);
  const format: ServerPixelFormat = {
    bitsPerPixel: init[4]!,
    depth: init[5]!,
    bigEndian: init[6] !== 0,
    trueColour: init[7] !== 0,
    redMax: init.readUInt16BE(8),
    greenMax: init.readUInt16BE(10),
    blueMax: init.readUInt16BE(12),
    redShift: init[14]!,
    greenShift: init[15]!,
    blueShift: init[16]!,
  };
  if (![8, 16, 32].includes(format.bitsPerPixel)) {
    throw new VncError(ErrorCode.Protocol, `server pixel format has ${format.bitsPerPixel} bits per pixel`);
  }
  const nameLen = init.readUInt32BE(20);
  if (nameLen > MAX_NAME_BYTES) throw new VncError(ErrorCode.TooLarge, `desktop name of ${nameLen} bytes`);
  const name = (await r.read(nameLen, deadline)).toString('utf8');
  return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), format, name };
}

// Client messages the benchmark clients send (RFB 3.8 §7.5).

export function setEncodingsMessage(encodings: readonly number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * encodings.length);
  b[0] = 2;
  b.writeUInt16BE(encodings.length, 2);
  encodings.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return b;
}

/** A FramebufferUpdateRequest for the area (0, 0, width, height). */
export function updateRequestMessage(incremental: boolean, width: number, height: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 3;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(width, 6);
  b.writeUInt16BE(height, 8);
  return b;
}

export function keyEventMessage(keysym: number, down: boolean): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 4;
  b[1] = down ? 1 : 0;
  b.writeUInt32BE(keysym >>> 0, 4);
  return b;
}
