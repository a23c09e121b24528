/**
 * `[HOST:]PORT` listen addresses as given on the command line (`5900`, `127.0.0.1:5900`,
 * `0.0.0.0:5900`, `[::1]:5900`, `localhost:6080`) and the loopback test behind the rule
 * "no password on a non-loopback address".
 */
import { isIP } from 'node:net';
import { UsageError } from './argv.js';

export interface ListenAddress {
  /** IP literal (without brackets) or host name to bind. */
  readonly host: string;
  /** 0 asks the OS for a free port (tests). */
  readonly port: number;
}

/** Host used when only a port is given: local-only by default, exposing is an explicit choice. */
export const DEFAULT_LISTEN_HOST = '127.0.0.1';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function parsePort(text: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${flag}: port must be a number from 0 to 65535 (got "${text}")`);
  }
  return Number(text);
}

/** Parse `[HOST:]PORT`; `flag` names the option in error messages. */
export function parseListenAddress(text: string, flag: string): ListenAddress {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  if (bracketed) {
    const host = bracketed[1]!;
    if (isIP(host) !== 6) throw new UsageError(`${flag}: "${host}" inside [] is not an IPv6 address`);
    return { host, port: parsePort(bracketed[2]!, flag) };
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { host: DEFAULT_LISTEN_HOST, port: parsePort(text, flag) };
  const host = text.slice(0, colon);
  if (host.includes(':')) {
    throw new UsageError(`${flag}: write an IPv6 address in brackets, e.g. [::1]:5900 (got "${text}")`);
  }
  if (host === '') {
    throw new UsageError(`${flag}: missing host before ":"; use 0.0.0.0:PORT or [::]:PORT for all interfaces`);
  }
  if (isIP(host) === 0 && !HOSTNAME.test(host)) {
    throw new UsageError(`${flag}: "${host}" is not an IP address or host name`);
  }
  return { host, port: parsePort(text.slice(colon + 1), flag) };
}

/**
 * True when binding `host` can only be reached from this machine. Host names other than
 * `localhost` count as non-loopback: what they resolve to can change after the check.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** `host:port` with IPv6 in brackets, for messages and URLs. */
export function formatListenAddress(a: ListenAddress): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
