import { createHash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { GatewayError } from '../errors.ts';
import type { Identity } from '../request/types.ts';
import { EXTRA_CREDENTIAL_ID, freezeIdentity, withAuthenticatedGroup } from './user.ts';

// Node gives a subject attribute as a string, or as a string[] when it occurs more than once.
function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * The identity a verified client certificate stands for, as kube-apiserver's
 * CommonNameUserConversion computes it: user = subject CN, groups = subject O values, uid = the
 * subject UID attribute (AllowParsingUserUIDFromCertAuth, on by default), extra credential-id =
 * `X509SHA256=<hex of the certificate's SHA-256>`, plus `system:authenticated`. Returns null when
 * the CN is empty; throws 401 when the subject has several or an empty UID.
 * The certificate must come from a TLS socket that verified the chain (`socket.authorized`).
 */
export function identityFromCertificate(cert: PeerCertificate | null | undefined): Identity | null {
  if (!cert?.subject || !cert.raw) return null;
  // A connection hands the same certificate object to each of its requests.
  const known = byCertificate.get(cert);
  if (known !== undefined) return known;
  const identity = compute(cert);
  byCertificate.set(cert, identity);
  return identity;
}

const byCertificate = new WeakMap<PeerCertificate, Identity | null>();

function compute(cert: PeerCertificate): Identity | null {
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  // Go keeps the last CN when the subject has several.
  const cn = values(subject.CN).at(-1) ?? '';
  if (cn === '') return null;

  const uids = values(subject.UID);
  if (uids.length > 1) {
    throw new GatewayError(
      'KG_UNAUTHENTICATED',
      'Unauthorized',
      `expected 1 UID, but found multiple: [${uids.join(' ')}]`,
    );
  }
  if (uids.length === 1 && uids[0] === '') {
    throw new GatewayError('KG_UNAUTHENTICATED', 'Unauthorized', 'UID cannot be an empty string');
  }

  const fingerprint = createHash('sha256').update(cert.raw).digest('hex');
  return withAuthenticatedGroup(
    freezeIdentity({
      user: cn,
      uid: uids[0] ?? '',
      groups: values(subject.O),
      extra: { [EXTRA_CREDENTIAL_ID]: [`X509SHA256=${fingerprint}`] },
    }),
  );
}
