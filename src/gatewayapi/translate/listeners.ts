// A Gateway's listeners as the translator sees them: what they accept, whether their references
// resolve, and whether they conflict. Listeners on one port must share a protocol (kubegate serves
// one protocol per socket; TLS Passthrough and Terminate share one, told apart by SNI) and have
// distinct hostnames; a TCP or UDP port has one listener (they have no hostname to tell them apart).
// UDP ports are apart from the others. Conflicted listeners are all refused (the spec forbids
// picking a winner among indistinct listeners).

import type { ClientValidationIR, ListenerTLSIR } from '../ir.ts';
import type { KeyPair, Secrets } from './certificates.ts';
import { resolveCertificateRef } from './certificates.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import type { FrontendTLS } from './frontend-validation.ts';
import { normalizeHostname } from './hostnames.ts';
import { arr, int, rec, str } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** One listener, evaluated. */
export interface ListenerState {
  readonly name: string;
  readonly hostname: string | null;
  readonly port: number;
  readonly protocol: ListenerProtocol | null;
  /** TLS listeners: how TLS is handled (HTTPS listeners always terminate). */
  readonly tlsMode: 'Terminate' | 'Passthrough' | null;
  readonly supportedKinds: readonly { readonly group: string; readonly kind: string }[];
  /** `allowedRoutes.namespaces`: `from` (default Same) and the raw selector. */
  readonly from: string;
  readonly selector: unknown;
  readonly accepted: Problem | null;
  readonly resolvedRefs: Problem | null;
  readonly conflicted: Problem | null;
  readonly tls: ListenerTLSIR | null;
  /** HTTPS: how client certificates are checked (the Gateway's frontend TLS for this port). */
  readonly clientValidation?: ClientValidationIR | null;
  /** A ListenerSet's listener: the set's `namespace/name`. */
  readonly listenerSet?: string;
}

/** The listener protocols kubegate serves. */
export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP';

type RouteKind = { readonly group: string; readonly kind: string };

/** The route kinds each protocol can carry (HTTPRoute never on a TLS listener, and so on). */
const ROUTE_KINDS: Readonly<Record<ListenerProtocol, readonly RouteKind[]>> = {
  HTTP: [
    { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
    { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
  ],
  HTTPS: [
    { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
    { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
  ],
  TLS: [{ group: GATEWAY_GROUP, kind: 'TLSRoute' }],
  TCP: [{ group: GATEWAY_GROUP, kind: 'TCPRoute' }],
  UDP: [{ group: GATEWAY_GROUP, kind: 'UDPRoute' }],
};

function isProtocol(p: string): p is ListenerProtocol {
  return Object.hasOwn(ROUTE_KINDS, p);
}

function kindsOf(
  listener: Readonly<Record<string, unknown>>,
  protocol: ListenerProtocol,
): { supported: RouteKind[]; invalid: string[] } {
  const allowed = rec(listener.allowedRoutes);
  const known = ROUTE_KINDS[protocol];
  if (!Array.isArray(allowed.kinds)) return { supported: [...known], invalid: [] };
  const supported: RouteKind[] = [];
  const invalid: string[] = [];
  for (const k of arr(allowed.kinds)) {
    const group = str(rec(k).group) ?? GATEWAY_GROUP;
    const kind = str(rec(k).kind) ?? '';
    const match = known.find((r) => r.group === group && r.kind === kind);
    if (match === undefined) invalid.push(`${group}/${kind}`);
    else if (!supported.includes(match)) supported.push(match);
  }
  return { supported, invalid };
}

function acceptance(l: Readonly<Record<string, unknown>>, protocol: string, port: number): Problem | null {
  if (!isProtocol(protocol))
    return {
      reason: 'UnsupportedProtocol',
      message: `Protocol ${protocol || '(none)'} is not supported; use HTTP, HTTPS, TLS, TCP or UDP.`,
    };
  if (port < 1 || port > 65535) return { reason: 'UnsupportedValue', message: 'Port must be 1-65535.' };
  const mode = str(rec(l.tls).mode) ?? 'Terminate';
  if (protocol === 'HTTPS' && mode !== 'Terminate')
    return { reason: 'UnsupportedValue', message: `TLS mode ${mode} is not supported on HTTPS listeners.` };
  if (protocol === 'TLS' && mode !== 'Terminate' && mode !== 'Passthrough')
    return { reason: 'UnsupportedValue', message: `TLS mode ${mode} is not Terminate or Passthrough.` };
  return null;
}

/** Evaluates the listeners of a Gateway in `namespace`, in spec order. */
export function evaluateListeners(
  listeners: readonly unknown[],
  namespace: string,
  secrets: Secrets,
  grants: ReferenceGrants,
  frontend?: FrontendTLS,
): ListenerState[] {
  return markConflicts(evaluateEach(listeners, namespace, secrets, grants, frontend));
}

/**
 * Evaluates listeners of a Gateway (or of another `fromKind`, e.g. ListenerSet) in `namespace`, each
 * on its own: conflicts between them are left to the caller.
 */
export function evaluateEach(
  listeners: readonly unknown[],
  namespace: string,
  secrets: Secrets,
  grants: ReferenceGrants,
  frontend?: FrontendTLS,
  fromKind = 'Gateway',
): ListenerState[] {
  return listeners.map((raw): ListenerState => {
    const l = rec(raw);
    const protocolText = str(l.protocol) ?? '';
    const port = int(l.port) ?? 0;
    let accepted = acceptance(l, protocolText, port);
    const protocol = isProtocol(protocolText) ? protocolText : null;
    const tlsMode =
      protocol === 'TLS' ? (str(rec(l.tls).mode) === 'Passthrough' ? 'Passthrough' : 'Terminate') : null;
    const kinds = protocol === null ? { supported: [], invalid: [] } : kindsOf(l, protocol);
    const namespaces = rec(rec(l.allowedRoutes).namespaces);
    let resolvedRefs: Problem | null = null;
    let tls: ListenerTLSIR | null = null;
    if ((protocol === 'HTTPS' || tlsMode === 'Terminate') && accepted === null) {
      const pairs: KeyPair[] = [];
      const refs = arr(rec(l.tls).certificateRefs);
      if (refs.length === 0)
        resolvedRefs = { reason: 'InvalidCertificateRef', message: 'No certificateRefs.' };
      for (const ref of refs) {
        const r = resolveCertificateRef(ref, namespace, secrets, grants, fromKind);
        if ('cert' in r) pairs.push({ cert: r.cert, key: r.key });
        else resolvedRefs ??= r;
      }
      tls = pairs.length > 0 ? { certificates: pairs } : null;
    }
    let clientValidation: ClientValidationIR | null = null;
    if (protocol === 'HTTPS' && accepted === null && frontend !== undefined) {
      const f = frontend.forPort(port);
      resolvedRefs ??= f.resolvedRefs;
      accepted = f.accepted;
      clientValidation = f.validation;
    }
    if (protocol !== null && kinds.invalid.length > 0)
      resolvedRefs ??= {
        reason: 'InvalidRouteKinds',
        message: `Unsupported route kinds: ${kinds.invalid.join(', ')}; supported: ${ROUTE_KINDS[protocol].map((k) => k.kind).join(', ')}.`,
      };
    return {
      name: str(l.name) ?? '',
      // TCP and UDP listeners match no hostname (the spec ignores it there).
      hostname: protocol === 'TCP' || protocol === 'UDP' ? null : normalizeHostname(str(l.hostname)),
      port,
      protocol,
      tlsMode,
      supportedKinds: kinds.supported,
      from: str(namespaces.from) ?? 'Same',
      selector: namespaces.selector,
      accepted,
      resolvedRefs,
      conflicted: null,
      tls,
      ...(clientValidation === null ? {} : { clientValidation }),
    };
  });
}

function markConflicts(states: ListenerState[]): ListenerState[] {
  // UDP ports are apart from TCP ones (HTTP, HTTPS, TLS and TCP all listen on TCP).
  const byPort = new Map<string, ListenerState[]>();
  for (const s of states) {
    if (s.accepted !== null) continue;
    const key = `${s.protocol === 'UDP' ? 'udp' : 'tcp'}/${s.port}`;
    byPort.set(key, [...(byPort.get(key) ?? []), s]);
  }
  const conflicts = new Map<ListenerState, Problem>();
  for (const [key, group] of byPort) {
    const port = key.slice(4);
    const protocols = [...new Set(group.map((s) => s.protocol))];
    if (protocols.length > 1) {
      const message = `Listeners on port ${port} mix ${protocols.join(' and ')}.`;
      for (const s of group) conflicts.set(s, { reason: 'ProtocolConflict', message });
      continue;
    }
    const byHost = new Map<string, ListenerState[]>();
    for (const s of group) byHost.set(s.hostname ?? '', [...(byHost.get(s.hostname ?? '') ?? []), s]);
    for (const [host, same] of byHost) {
      if (same.length < 2) continue;
      const names = same.map((s) => s.name).join(', ');
      const message =
        protocols[0] === 'TCP' || protocols[0] === 'UDP'
          ? `Listeners ${names} share ${protocols[0]} port ${port}.`
          : `Listeners ${names} on port ${port} share hostname "${host}".`;
      for (const s of same) conflicts.set(s, { reason: 'HostnameConflict', message });
    }
  }
  return states.map((s) => {
    const c = conflicts.get(s);
    return c === undefined ? s : { ...s, conflicted: c, accepted: c };
  });
}

/**
 * True when the listener can be served (given a programmed Gateway): accepted, not conflicted and,
 * for HTTPS, with at least one usable certificate. Unresolved route kinds or a second, bad
 * certificate show in ResolvedRefs but do not stop the rest of the listener from working.
 */
export function isServable(s: ListenerState): boolean {
  if (s.accepted !== null || s.conflicted !== null) return false;
  return s.protocol === 'HTTPS' || s.tlsMode === 'Terminate' ? s.tls !== null : s.protocol !== null;
}

/** True when every condition of the listener is in its good state. */
export function isValid(s: ListenerState): boolean {
  return isServable(s) && s.resolvedRefs === null;
}
