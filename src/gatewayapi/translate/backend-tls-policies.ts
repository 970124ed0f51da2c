// BackendTLSPolicy (gateway.networking.k8s.io/v1): TLS from the data plane to a Service's
// endpoints. A policy targets Services (a whole Service, or one port by its name as sectionName);
// a port uses the policy naming it by sectionName, else the one naming the whole Service. Two
// policies on the same target: the older (then the first by namespace/name) wins, the other is
// Conflicted. A policy without one valid CA certificate still wins its targets, and their
// connections fail (never plain text, never unverified).

import { X509Certificate } from 'node:crypto';
import type { Condition, ParentReference, RouteParentStatus } from '../objects.ts';
import type { UpstreamTLSIR } from '../ir.ts';
import type { Problem } from './conditions.ts';
import { condition, GATEWAY_GROUP } from './conditions.ts';
import { arr, byAgeThenName, meta, rec, str, type Meta } from './read.ts';

/** The CA bundle key of a ConfigMap a policy names. */
const CA_KEY = 'ca.crt';

/** One ancestor entry of a policy's status, as the controller writes it. */
export interface PolicyAncestorStatus {
  ancestorRef: ParentReference;
  controllerName: string;
  conditions: Condition[];
}

/** A policy's ancestor entries that are ours. */
export interface PolicyStatusOutput {
  namespace: string;
  name: string;
  ancestors: PolicyAncestorStatus[];
}

interface Policy {
  readonly meta: Meta;
  readonly tls: UpstreamTLSIR;
  /** Why Accepted is False (NoValidCACertificate, Invalid), or null. */
  readonly invalid: Problem | null;
  /** Why ResolvedRefs is False, or null. */
  readonly unresolved: Problem | null;
  /** Targets (`namespace/service` or `namespace/service#port`) it won. */
  readonly won: string[];
  readonly targets: string[];
}

/** PEM blocks of certificates in `text` that parse, joined; '' when none does. */
export function validCertificates(text: string | undefined): string {
  const blocks = (text ?? '').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  return blocks
    .filter((pem) => {
      try {
        new X509Certificate(pem);
        return true;
      } catch {
        return false;
      }
    })
    .join('\n');
}

function readValidation(
  raw: unknown,
  configMaps: ReadonlyMap<string, unknown>,
): Omit<Policy, 'won' | 'targets'> {
  const m = meta(raw);
  const v = rec(rec(rec(raw).spec).validation);
  const hostname = str(v.hostname) ?? '';
  const subjectAltNames = arr(v.subjectAltNames).flatMap((s): UpstreamTLSIR['subjectAltNames'] => {
    const type = str(rec(s).type);
    const value = type === 'Hostname' ? str(rec(s).hostname) : type === 'URI' ? str(rec(s).uri) : undefined;
    return (type === 'Hostname' || type === 'URI') && value ? [{ type, value }] : [];
  });
  const pems: string[] = [];
  let unresolved: Problem | null = null;
  for (const ref of arr(v.caCertificateRefs)) {
    const r = rec(ref);
    const group = str(r.group) ?? '';
    const kind = str(r.kind) ?? '';
    const name = str(r.name) ?? '';
    let problem: Problem | null = null;
    if (group !== '' || kind !== 'ConfigMap')
      problem = {
        reason: 'InvalidKind',
        message: `caCertificateRef kind ${group || 'core'}/${kind} is not supported; use a ConfigMap.`,
      };
    else {
      const cm = configMaps.get(`${m.namespace}/${name}`);
      const pem = cm === undefined ? '' : validCertificates(str(rec(rec(cm).data)[CA_KEY]));
      if (pem === '')
        problem = {
          reason: 'InvalidCACertificateRef',
          message:
            cm === undefined
              ? `ConfigMap ${m.namespace}/${name} not found.`
              : `ConfigMap ${m.namespace}/${name} has no valid PEM certificate under ${CA_KEY}.`,
        };
      else pems.push(pem);
    }
    unresolved ??= problem;
  }
  const wellKnown = str(v.wellKnownCACertificates);
  let invalid: Problem | null = null;
  if (wellKnown !== undefined && wellKnown !== 'System')
    invalid = { reason: 'Invalid', message: `wellKnownCACertificates ${wellKnown} is not supported.` };
  else if (wellKnown === undefined && pems.length === 0)
    invalid = {
      reason: 'NoValidCACertificate',
      message: unresolved?.message ?? 'The policy names no CA certificate.',
    };
  const ca = invalid !== null ? '' : wellKnown === 'System' && pems.length === 0 ? null : pems.join('\n');
  return { meta: m, tls: { hostname, ca, subjectAltNames }, invalid, unresolved };
}

/** The BackendTLSPolicies of one translation: which port speaks TLS how, and each policy's status. */
export class BackendTLSPolicies {
  readonly #policies: Policy[] = [];
  /** Target → the policy that won it. */
  readonly #winners = new Map<string, Policy>();

  constructor(policies: readonly unknown[], configMaps: readonly unknown[]) {
    const maps = new Map<string, unknown>();
    for (const c of configMaps) maps.set(meta(c).key, c);
    const seen = new Set<string>();
    const sorted = [...policies].sort((a, b) => byAgeThenName(meta(a), meta(b)));
    for (const raw of sorted) {
      const m = meta(raw);
      if (seen.has(m.key)) continue;
      seen.add(m.key);
      const targets: string[] = [];
      for (const t of arr(rec(rec(raw).spec).targetRefs)) {
        const r = rec(t);
        if ((str(r.group) ?? '') !== '' || str(r.kind) !== 'Service' || !str(r.name)) continue;
        const section = str(r.sectionName);
        targets.push(`${m.namespace}/${str(r.name)}${section ? `#${section}` : ''}`);
      }
      const policy: Policy = { ...readValidation(raw, maps), won: [], targets };
      for (const target of targets)
        if (!this.#winners.has(target)) {
          this.#winners.set(target, policy);
          policy.won.push(target);
        }
      this.#policies.push(policy);
    }
  }

  /** True when there is no policy at all. */
  get empty(): boolean {
    return this.#policies.length === 0;
  }

  /** The TLS of connections to a Service port (by the port's name), if a policy targets it. */
  forPort(namespace: string, service: string, portName: string): UpstreamTLSIR | undefined {
    const p =
      (portName !== '' ? this.#winners.get(`${namespace}/${service}#${portName}`) : undefined) ??
      this.#winners.get(`${namespace}/${service}`);
    return p?.tls;
  }

  /**
   * Each policy's ancestor entries: one per Gateway of ours that serves a route to a Service the
   * policy targets (`gatewaysOf` gives those Gateways' refs by `namespace/service`).
   */
  statuses(
    gatewaysOf: (service: string) => readonly ParentReference[],
    controllerName: string,
  ): PolicyStatusOutput[] {
    const out: PolicyStatusOutput[] = [];
    for (const p of this.#policies) {
      const refs = new Map<string, ParentReference>();
      for (const t of p.targets)
        for (const g of gatewaysOf(t.split('#')[0])) refs.set(`${g.namespace}/${g.name}`, g);
      if (refs.size === 0) continue;
      const gen = p.meta.generation;
      const conflicted = p.won.length === 0;
      const accepted = conflicted
        ? condition('Accepted', false, 'Conflicted', 'Another policy targets the same Service port.', gen)
        : p.invalid !== null
          ? condition('Accepted', false, p.invalid.reason, p.invalid.message, gen)
          : condition('Accepted', true, 'Accepted', 'Policy accepted.', gen);
      const resolved =
        p.unresolved === null
          ? condition('ResolvedRefs', true, 'ResolvedRefs', 'All references resolved.', gen)
          : condition('ResolvedRefs', false, p.unresolved.reason, p.unresolved.message, gen);
      const ancestors = [...refs.keys()].sort().map((k) => ({
        ancestorRef: refs.get(k)!,
        controllerName,
        conditions: [accepted, resolved],
      }));
      out.push({ namespace: p.meta.namespace, name: p.meta.name, ancestors });
    }
    return out;
  }
}

/**
 * The Gateways (as ancestorRefs) that serve each Service (`namespace/name`) through the routes
 * given with their parent entries of ours: a route's accepted parents are its Services' ancestors.
 */
export function gatewayRefsByService(
  routes: readonly { raw: unknown; parents: readonly RouteParentStatus[] }[],
): Map<string, ParentReference[]> {
  const out = new Map<string, Map<string, ParentReference>>();
  for (const { raw, parents } of routes) {
    const m = meta(raw);
    const gateways: ParentReference[] = [];
    for (const p of parents) {
      if (!p.conditions.some((c) => c.type === 'Accepted' && c.status === 'True')) continue;
      const ref = rec(p.parentRef);
      if ((str(ref.kind) ?? 'Gateway') !== 'Gateway') continue;
      const namespace = str(ref.namespace) || m.namespace;
      gateways.push({ group: GATEWAY_GROUP, kind: 'Gateway', namespace, name: str(ref.name) ?? '' });
    }
    if (gateways.length === 0) continue;
    for (const rule of arr(rec(rec(raw).spec).rules))
      for (const b of arr(rec(rule).backendRefs)) {
        const r = rec(b);
        if ((str(r.group) ?? '') !== '' || (str(r.kind) ?? 'Service') !== 'Service') continue;
        const service = `${str(r.namespace) || m.namespace}/${str(r.name) ?? ''}`;
        let refs = out.get(service);
        if (refs === undefined) out.set(service, (refs = new Map()));
        for (const g of gateways) refs.set(`${g.namespace}/${g.name}`, g);
      }
  }
  return new Map([...out].map(([k, v]) => [k, [...v.values()]]));
}
