// A Gateway's `spec.tls.frontend`: which CA bundles its HTTPS listeners check client certificates
// against, per port (a `perPort` entry replaces `default` for its port, even when it sets no
// validation). A bad CA reference fails the HTTPS listeners of that port only: ResolvedRefs says
// which reference and why; with no usable CA left the listener is not Accepted
// (NoValidCACertificate) and so not served, rather than served without the check it asked for.

import { X509Certificate } from 'node:crypto';
import type { ClientValidationIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { arr, int, rec, str, strMap } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** ConfigMaps by `namespace/name`. */
export type ConfigMaps = ReadonlyMap<string, unknown>;

/** What the HTTPS listeners of one port get from the Gateway's frontend TLS configuration. */
export interface FrontendValidation {
  /** Null when the port checks no client certificate (nothing configured, or nothing usable). */
  readonly validation: ClientValidationIR | null;
  /** The first bad CA reference (ResolvedRefs False), or null. */
  readonly resolvedRefs: Problem | null;
  /** Set when validation was asked for and no CA reference is usable (Accepted False). */
  readonly accepted: Problem | null;
}

const NONE: FrontendValidation = { validation: null, resolvedRefs: null, accepted: null };

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The PEM certificates of a bundle that parse; empty when none does. */
export function parseCABundle(text: string): string[] {
  const good: string[] = [];
  for (const block of text.match(PEM_CERTIFICATE) ?? []) {
    try {
      new X509Certificate(block);
      good.push(block);
    } catch {
      // an unparsable block is left out; a bundle with none left is reported
    }
  }
  return good;
}

/** Resolves one caCertificateRef of a Gateway in `gatewayNamespace` to PEM certificates. */
export function resolveCACertificateRef(
  ref: unknown,
  gatewayNamespace: string,
  configMaps: ConfigMaps,
  grants: ReferenceGrants,
): string[] | Problem {
  const r = rec(ref);
  const group = str(r.group) ?? '';
  const kind = str(r.kind) ?? '';
  const name = str(r.name) ?? '';
  const namespace = str(r.namespace) || gatewayNamespace;
  const where = `${namespace}/${name}`;
  if (group !== '' || kind !== 'ConfigMap')
    return {
      reason: 'InvalidCACertificateKind',
      message: `caCertificateRef ${where}: kind ${group || 'core'}/${kind} is not supported; use a ConfigMap.`,
    };
  const from = { group: GATEWAY_GROUP, kind: 'Gateway', namespace: gatewayNamespace };
  if (!grants.allows(from, { group, kind, namespace, name }))
    return {
      reason: 'RefNotPermitted',
      message: `No ReferenceGrant allows a reference to ConfigMap ${where}.`,
    };
  const cm = configMaps.get(where);
  if (cm === undefined)
    return { reason: 'InvalidCACertificateRef', message: `caCertificateRef ConfigMap ${where} not found.` };
  const text = strMap(rec(cm).data)['ca.crt'];
  if (text === undefined)
    return {
      reason: 'InvalidCACertificateRef',
      message: `caCertificateRef ConfigMap ${where} has no ca.crt.`,
    };
  const certs = parseCABundle(text);
  if (certs.length === 0)
    return {
      reason: 'InvalidCACertificateRef',
      message: `caCertificateRef ConfigMap ${where}: ca.crt holds no PEM certificate.`,
    };
  return certs;
}

function resolveValidation(
  raw: unknown,
  namespace: string,
  configMaps: ConfigMaps,
  grants: ReferenceGrants,
): FrontendValidation {
  const v = rec(raw);
  const mode = str(v.mode) === 'AllowInsecureFallback' ? 'AllowInsecureFallback' : 'AllowValidOnly';
  const certs: string[] = [];
  let resolvedRefs: Problem | null = null;
  const refs = arr(v.caCertificateRefs);
  if (refs.length === 0)
    resolvedRefs = { reason: 'InvalidCACertificateRef', message: 'validation has no caCertificateRefs.' };
  for (const ref of refs) {
    const r = resolveCACertificateRef(ref, namespace, configMaps, grants);
    if (Array.isArray(r)) certs.push(...r);
    else resolvedRefs ??= r;
  }
  if (certs.length === 0)
    return {
      validation: null,
      resolvedRefs,
      accepted: {
        reason: 'NoValidCACertificate',
        message: `No usable CA certificate for client validation: ${resolvedRefs?.message ?? 'none given.'}`,
      },
    };
  return { validation: { ca: certs.join('\n'), mode }, resolvedRefs, accepted: null };
}

/** The frontend TLS configuration of one Gateway, resolved port by port on demand. */
export class FrontendTLS {
  readonly #default: unknown;
  readonly #perPort = new Map<number, unknown>();
  readonly #resolved = new Map<number, FrontendValidation>();
  readonly #namespace: string;
  readonly #configMaps: ConfigMaps;
  readonly #grants: ReferenceGrants;
  /** True when the default or a port override uses AllowInsecureFallback. */
  readonly insecureFallback: boolean;

  constructor(gatewaySpec: unknown, namespace: string, configMaps: ConfigMaps, grants: ReferenceGrants) {
    const frontend = rec(rec(rec(gatewaySpec).tls).frontend);
    this.#default = rec(frontend.default).validation;
    const modes = [str(rec(this.#default).mode)];
    for (const p of arr(frontend.perPort)) {
      const port = int(rec(p).port);
      // Ports are unique by the CRD's rule; should one repeat, the first entry holds.
      if (port === undefined || this.#perPort.has(port)) continue;
      const validation = rec(rec(p).tls).validation;
      this.#perPort.set(port, validation);
      modes.push(str(rec(validation).mode));
    }
    this.insecureFallback = modes.includes('AllowInsecureFallback');
    this.#namespace = namespace;
    this.#configMaps = configMaps;
    this.#grants = grants;
  }

  /** What the HTTPS listeners on `port` get. */
  forPort(port: number): FrontendValidation {
    let v = this.#resolved.get(port);
    if (v === undefined) {
      const raw = this.#perPort.has(port) ? this.#perPort.get(port) : this.#default;
      v =
        raw === undefined || raw === null
          ? NONE
          : resolveValidation(raw, this.#namespace, this.#configMaps, this.#grants);
      this.#resolved.set(port, v);
    }
    return v;
  }
}
