/**
 * A free loopback TCP port for third-party servers that cannot listen on port 0 and report the
 * port back. The port is released before returning, so another process could take it in
 * between; callers treat "address in use" at start-up as a retryable failure.
 */
import net from 'node:net';
import { withTimeout } from './processes.js';

export function freeLoopbackPort(timeoutMs = 5000): Promise<number> {
  const server = net.createServer();
  const got = new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
  return withTimeout(got, timeoutMs, 'a free loopback port');
}
