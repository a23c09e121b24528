/**
 * Errors with stable machine-readable codes. Every error that crosses a module boundary is a
 * VncError so callers can branch on `code` and logs stay greppable.
 */
export const ErrorCode = {
  /** The peer broke the RFB protocol (bad version, unknown message, malformed field). */
  Protocol: 'VNC_ERR_PROTOCOL',
  /** A length or count from the wire exceeded its configured bound. */
  TooLarge: 'VNC_ERR_TOO_LARGE',
  /** Authentication failed (wrong password, unsupported security type). */
  Auth: 'VNC_ERR_AUTH',
  /** A deadline passed (handshake, X request, HTTP call). */
  Timeout: 'VNC_ERR_TIMEOUT',
  /** The client asked for something we refuse (colour maps, unsupported sizes). */
  Unsupported: 'VNC_ERR_UNSUPPORTED',
  /** The desktop (X server) failed or went away. */
  Desktop: 'VNC_ERR_DESKTOP',
  /** Bad command-line or programmatic configuration. */
  Config: 'VNC_ERR_CONFIG',
  /** Gateway HTTP/WebSocket failure. */
  Gateway: 'VNC_ERR_GATEWAY',
  /** The connection closed while a message was incomplete. */
  Closed: 'VNC_ERR_CLOSED',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export class VncError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VncError';
    this.code = code;
  }
}

export function isVncError(e: unknown, code?: ErrorCodeValue): e is VncError {
  return e instanceof VncError && (code === undefined || e.code === code);
}
