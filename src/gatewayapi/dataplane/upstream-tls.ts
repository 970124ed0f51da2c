// TLS towards a backend as a BackendTLSPolicy says: SNI is the policy's hostname; the chain must
// end in the policy's CA certificates (or the system's trust store); the certificate must carry the
// hostname, or, when the policy lists subjectAltNames, one of those (a DNS name or an exact URI).
// Nothing here turns verification off: a policy without a valid CA refuses every connection. The
// Gateway's backend client certificate, when it has one, is presented; an invalid one refuses too.

import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import type { UpstreamTLSIR } from '../ir.ts';

/** The options of `tls.connect` (and of Agents and sessions built on it) for one policy. */
export interface UpstreamTLSOptions {
  readonly ca: string;
  readonly servername: string;
  readonly minVersion: 'TLSv1.2';
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
  /** The Gateway's client certificate chain and key (PEM), when it has one. */
  readonly cert?: string;
  readonly key?: string;
}

/** Why a connection to a backend is not even tried. */
export class UpstreamTLSRefused extends Error {
  override name = 'UpstreamTLSRefused';
  readonly code: 'BACKEND_TLS_NO_VALID_CA' | 'BACKEND_TLS_INVALID_CLIENT_CERTIFICATE';

  constructor(message: string, code: UpstreamTLSRefused['code'] = 'BACKEND_TLS_NO_VALID_CA') {
    super(message);
    this.code = code;
  }
}

/**
 * The connect options for `tls`; throws `UpstreamTLSRefused` when the policy has no valid CA or the
 * Gateway's client certificate reference is invalid.
 */
export function upstreamTLSOptions(tls: UpstreamTLSIR): UpstreamTLSOptions {
  if (tls.ca === '')
    throw new UpstreamTLSRefused(`the BackendTLSPolicy for ${tls.hostname} has no valid CA certificate`);
  if (tls.clientCertificate === null)
    throw new UpstreamTLSRefused(
      `the Gateway's backend client certificate (spec.tls.backend.clientCertificateRef) is invalid`,
      'BACKEND_TLS_INVALID_CLIENT_CERTIFICATE',
    );
  const client = tls.clientCertificate;
  return {
    ca: tls.ca ?? rootCertificates.join('\n'),
    servername: tls.hostname,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => verifyName(tls, cert),
    ...(client !== undefined ? { cert: client.cert, key: client.key } : {}),
  };
}

/** Undefined when `cert` carries the name(s) the policy requires; the mismatch otherwise. */
export function verifyName(tls: UpstreamTLSIR, cert: PeerCertificate): Error | undefined {
  if (tls.subjectAltNames.length === 0) return checkServerIdentity(tls.hostname, cert);
  const uris = (cert.subjectaltname ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  for (const san of tls.subjectAltNames)
    if (san.type === 'URI' ? uris.includes(san.value) : checkServerIdentity(san.value, cert) === undefined)
      return undefined;
  const wanted = tls.subjectAltNames.map((s) => `${s.type}:${s.value}`).join(', ');
  return Object.assign(new Error(`backend certificate carries none of the subjectAltNames ${wanted}`), {
    code: 'ERR_TLS_CERT_ALTNAME_INVALID',
  });
}
