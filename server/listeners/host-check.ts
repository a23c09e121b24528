/**
 * DNS-rebinding guard for listeners bound to loopback. A hostile site can make its own host name
 * resolve to 127.0.0.1; the browser then treats our port as that site's origin, so an Origin
 * check alone passes. The `Host` header still carries the hostile name, so a loopback listener
 * accepts only requests addressed to a loopback name or literal.
 */
import { isIP } from 'node:net';

/** True if `host` (an IP literal or name, no brackets) is loopback. */
export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** True if the `Host` header names a loopback host (any port). A missing header is refused. */
export function hostHeaderIsLoopback(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${hostHeader}`).hostname;
  } catch {
    return false;
  }
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
  return isLoopbackName(hostname);
}
