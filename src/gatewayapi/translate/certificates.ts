// A listener's certificateRef: a Secret of type kubernetes.io/tls whose `tls.crt` and `tls.key`
// (base64 in the object) hold a PEM certificate chain and the PEM private key that belongs to it.

import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { rec, str, strMap } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** A certificate chain and its key, PEM. */
export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decode(value: string | undefined): string | null {
  if (value === undefined) return null;
  const compact = value.replace(/\s+/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64').toString('utf8') : null;
}

/** Parses and cross-checks a PEM pair; the problem in words, or null when it is usable. */
export function checkKeyPair(pair: KeyPair): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch {
    return 'tls.crt is not a PEM certificate';
  }
  try {
    const key = createPrivateKey(pair.key);
    return cert.checkPrivateKey(key) ? null : 'tls.key does not belong to the certificate in tls.crt';
  } catch {
    return 'tls.key is not a PEM private key';
  }
}

/** Secrets by `namespace/name`. */
export type Secrets = ReadonlyMap<string, unknown>;

/** Resolves one certificateRef of a listener of a Gateway (or `fromKind`) in `gatewayNamespace`. */
export function resolveCertificateRef(
  ref: unknown,
  gatewayNamespace: string,
  secrets: Secrets,
  grants: ReferenceGrants,
  fromKind = 'Gateway',
): KeyPair | Problem {
  const r = rec(ref);
  const group = str(r.group) ?? '';
  const kind = str(r.kind) ?? 'Secret';
  const name = str(r.name) ?? '';
  const namespace = str(r.namespace) || gatewayNamespace;
  const where = `${namespace}/${name}`;
  const from = { group: GATEWAY_GROUP, kind: fromKind, namespace: gatewayNamespace };
  if (!grants.allows(from, { group, kind, namespace, name }))
    return {
      reason: 'RefNotPermitted',
      message: `No ReferenceGrant allows a reference to ${kind} ${where}.`,
    };
  if (group !== '' || kind !== 'Secret')
    return {
      reason: 'InvalidCertificateRef',
      message: `Unsupported certificateRef kind ${group || 'core'}/${kind}.`,
    };
  const secret = secrets.get(where);
  if (secret === undefined) return { reason: 'InvalidCertificateRef', message: `Secret ${where} not found.` };
  if (str(rec(secret).type) !== 'kubernetes.io/tls')
    return { reason: 'InvalidCertificateRef', message: `Secret ${where} is not of type kubernetes.io/tls.` };
  const data = strMap(rec(secret).data);
  const cert = decode(data['tls.crt']);
  const key = decode(data['tls.key']);
  if (cert === null || key === null)
    return { reason: 'InvalidCertificateRef', message: `Secret ${where} lacks tls.crt or tls.key.` };
  const bad = checkKeyPair({ cert, key });
  if (bad !== null) return { reason: 'InvalidCertificateRef', message: `Secret ${where}: ${bad}.` };
  return { cert, key };
}
