// TLS towards a backend as a BackendTLSPolicy says: SNI is the policy's hostname; the chain must
// end in the policy's CA certificates (or the system's trust store); the certificate must carry the
// hostname, or, when the policy lists subjectAltNames, one of those (a DNS name or an exact URI).
// Nothing here turns verification off: a policy without a valid CA refuses every connection.

import { checkServerIdentity, rootCertificates, type PeerCertificate } from 'node:tls';
import type { UpstreamTLSIR } from '../ir.ts';

/** The options of `tls.connect` (and of Agents and sessions built on it) for one policy. */
export interface UpstreamTLSOptions {
  readonly ca: string;
  readonly servername: string;
  readonly minVersion: 'TLSv1.2';
  readonly rejectUnauthorized: true;
  readonly checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
}

/** Why a connection to a backend is not even tried. */
export class UpstreamTLSRefused extends Error {
  override name = 'UpstreamTLSRefused';
  readonly code = 'BACKEND_TLS_NO_VALID_CA';
}

/** The connect options for `tls`; throws `UpstreamTLSRefused` when the policy has no valid CA. */
export function upstreamTLSOptions(tls: UpstreamTLSIR): UpstreamTLSOptions {
  if (tls.ca === '')
    throw new UpstreamTLSRefused(`the BackendTLSPolicy for ${tls.hostname} has no valid CA certificate`);
  return {
    ca: tls.ca ?? rootCertificates.join('\n'),
    servername: tls.hostname,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => verifyName(tls, cert),
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
