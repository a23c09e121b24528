/**
 * The `--gateway-url` check, apart from the HTTP client so that parsing the command line does
 * not load undici (a plain `--listen` server never talks to a gateway).
 */
import { ErrorCode, VncError } from '../core/errors.js';

/** Validate `--gateway-url`: http(s) only, no credentials in it. */
export function parseGatewayUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new VncError(ErrorCode.Config, `gateway URL is not a valid URL: ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new VncError(ErrorCode.Config, `gateway URL must be http:// or https://, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new VncError(ErrorCode.Config, 'gateway URL must not contain credentials');
  }
  return url;
}
