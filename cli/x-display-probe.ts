/**
 * "Does this X display answer?" without Xlib: connect to its socket and send the 12-byte X11
 * connection setup without credentials. Any reply (Success, Failed such as "Authorization
 * required", or Authenticate) means an X server is there. A stale socket file, a refused or
 * silent connection means it is not. Bounded by `timeoutMs`.
 */
import net from 'node:net';

interface DisplayTarget {
  /** Unix socket paths to try in order, or a TCP endpoint. */
  readonly unixPaths?: readonly string[];
  readonly tcp?: { host: string; port: number };
}

/** Map an X display name (`:0`, `:1.0`, `unix:2`, `host:0`, `host/unix:0`) to where it listens. */
export function displayTarget(name: string): DisplayTarget | undefined {
  const m = /^(.*?)(\/unix)?:(\d{1,5})(?:\.\d{1,3})?$/.exec(name);
  if (!m) return undefined;
  const host = m[1]!;
  const n = Number(m[3]);
  if (host === '' || host === 'unix' || m[2] !== undefined) {
    const path = `/tmp/.X11-unix/X${n}`;
    // Linux X servers listen on both the file socket and the abstract one with the same name;
    // the file may be missing (private /tmp in a container), the abstract one may be off.
    return { unixPaths: process.platform === 'linux' ? [path, `\0${path}`] : [path] };
  }
  return { tcp: { host, port: 6000 + n } };
}

function setupRequest(): Buffer {
  const b = Buffer.alloc(12);
  b.write('l', 0, 'latin1'); // little-endian client
  b.writeUInt16LE(11, 2); // protocol major
  b.writeUInt16LE(0, 4); // protocol minor
  // auth name and data lengths stay 0
  return b;
}

function tryOnce(opts: net.NetConnectOpts, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(opts);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write(setupRequest()));
    socket.once('data', (chunk: Buffer) => done(chunk.length > 0 && chunk[0]! <= 2));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/** True if an X server answers on display `name` within `timeoutMs` (per socket tried). */
export async function probeXDisplay(name: string, timeoutMs = 2000): Promise<boolean> {
  const target = displayTarget(name);
  if (!target) return false;
  if (target.tcp) return tryOnce({ host: target.tcp.host, port: target.tcp.port }, timeoutMs);
  for (const path of target.unixPaths ?? []) {
    if (await tryOnce({ path }, timeoutMs)) return true;
  }
  return false;
}
