/**
 * Which security types a connection is offered: the policy between the server options and the
 * (policy-free) handshake.
 *
 * - TCP with TLS configured: VeNCrypt first (X509Vnc + X509Plain with a password, X509None
 *   without), then the unencrypted type unless `requireTls`. Server order matters: TigerVNC and
 *   noVNC take the first type in the server's list that they support.
 * - WebSocket and tunnel: never VeNCrypt. Their transport carries the encryption (wss, the
 *   gateway's https), and noVNC would pick VeNCrypt and then find no subtype it can do.
 * - Never an unauthenticated type (None, X509None) next to a password.
 */
import type { ConnectionInfo } from './listeners/tcp-listener.js';
import type { ServerOptions } from './options.js';
import { defaultSecurityTypes, type HandshakeOptions } from './protocol/handshake.js';
import { SecurityType } from './protocol/constants.js';
import { defaultVeNCryptSubtypes } from './protocol/vencrypt.js';

export type SecurityOffer = Pick<HandshakeOptions, 'securityTypes' | 'vencryptSubtypes' | 'plainUsername'>;

export function securityOffer(
  options: Pick<ServerOptions, 'tls' | 'requireTls' | 'password' | 'viewOnlyPassword' | 'plainUsername'>,
  transport: ConnectionInfo['transport'],
): SecurityOffer {
  const plain = defaultSecurityTypes(options.password, options.viewOnlyPassword);
  if (options.tls === undefined || transport !== 'tcp') return { securityTypes: plain };
  const hasPassword = options.password !== undefined || options.viewOnlyPassword !== undefined;
  return {
    securityTypes: options.requireTls ? [SecurityType.VeNCrypt] : [SecurityType.VeNCrypt, ...plain],
    vencryptSubtypes: defaultVeNCryptSubtypes(hasPassword),
    ...(options.plainUsername !== undefined ? { plainUsername: options.plainUsername } : {}),
  };
}
