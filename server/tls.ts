/**
 * The server's TLS identity and the STARTTLS step of VeNCrypt.
 *
 * `resolveServerTls` checks a key and certificate once (at startup, so a bad file is a config
 * error and not a failure at the first client) and builds the one `SecureContext` every TLS
 * session shares. `startServerTls` turns a connection that has just acknowledged a VeNCrypt
 * subtype into a server-side `TLSSocket` on the same stream.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { ErrorCode, VncError } from '../core/errors.js';

/** A private key and certificate (chain), PEM text or DER bytes as `node:tls` accepts them. */
export interface TlsCredentials {
  /** Unencrypted private key. */
  readonly key: string | Buffer;
  /** Leaf certificate first, optionally followed by intermediates. */
  readonly cert: string | Buffer;
}

/** Checked credentials, ready for TLS sessions. */
export interface ServerTls {
  readonly credentials: TlsCredentials;
  readonly secureContext: SecureContext;
  /** SHA-256 fingerprint of the leaf certificate, colon-separated hex (what browsers show). */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly validFrom: Date;
  readonly validTo: Date;
}

/**
 * Validates `credentials` (both parse, the key belongs to the certificate) and builds the shared
 * VeNCrypt TLS context: TLS 1.2 exactly, Node's default (ECDHE, AEAD-first) cipher list.
 *
 * Why not TLS 1.3: OpenSSL sends TLS 1.3 session tickets as post-handshake records, after the
 * client's Finished, and TigerVNC's viewer up to 1.12 (Debian 12's) can leave a record that
 * arrived behind them unread in GnuTLS' buffer until more bytes come. With X509Plain, where the
 * server answers only after the client spoke, the SecurityResult is that record and the
 * connection hangs until the handshake deadline (measured with TigerVNC 1.12 against TLS 1.3).
 * TLS 1.2 session tickets travel inside the handshake. Node cannot turn TLS 1.3 tickets off
 * (SSL_CTX_set_num_tickets is not exposed; SSL_OP_NO_TICKET only makes them stateful). The
 * browser listeners (https/wss) are not affected and keep TLS 1.3.
 *
 * Throws VNC_ERR_CONFIG. An expired
 * certificate is accepted: whether to trust it is the client's decision (rfbproto leaves
 * certificate validity to local policy); `validTo` lets the caller warn.
 */
export function resolveServerTls(credentials: TlsCredentials): ServerTls {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(credentials.cert);
  } catch (err) {
    throw new VncError(ErrorCode.Config, 'the TLS certificate is not a PEM or DER X.509 certificate', { cause: err });
  }
  let keyMatches: boolean;
  try {
    keyMatches = cert.checkPrivateKey(createPrivateKey(credentials.key));
  } catch (err) {
    throw new VncError(ErrorCode.Config, 'the TLS key is not an unencrypted PEM or DER private key', { cause: err });
  }
  if (!keyMatches) throw new VncError(ErrorCode.Config, 'the TLS key does not belong to the TLS certificate');
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({ key: credentials.key, cert: credentials.cert, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
  } catch (err) {
    throw new VncError(ErrorCode.Config, `cannot use the TLS key and certificate: ${(err as Error).message}`, { cause: err });
  }
  return Object.freeze({
    credentials: Object.freeze({ key: credentials.key, cert: credentials.cert }),
    secureContext,
    fingerprint256: cert.fingerprint256,
    subject: cert.subject.replace(/\n/g, ', '),
    validFrom: new Date(cert.validFrom),
    validTo: new Date(cert.validTo),
  });
}

/**
 * Starts a server-side TLS handshake on `raw`, a connection whose RFB handshake has just
 * acknowledged a TLS subtype. The caller must already have removed its own 'data' listener
 * from `raw` (ciphertext is not for it) and must read from the returned socket from now on.
 *
 * `early` holds bytes already read from `raw` past the subtype choice: the client may send its
 * TLS ClientHello right behind it, in the same TCP segment. They are put back in front of the
 * stream so the TLS layer reads them first (Node hands a wrapped socket's buffered bytes to TLS,
 * for net.Socket and generic Duplex streams alike).
 */
export function startServerTls(raw: Duplex, early: Buffer | null, tls: ServerTls): TLSSocket {
  // Paused so nothing flows to no one between here and the TLS layer attaching itself.
  raw.pause();
  if (early && early.length > 0) raw.unshift(early);
  return new TLSSocket(raw, { isServer: true, secureContext: tls.secureContext, requestCert: false, rejectUnauthorized: false });
}
