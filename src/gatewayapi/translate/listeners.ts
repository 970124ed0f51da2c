// A Gateway's listeners as the translator sees them: what they accept, whether their references
// resolve, and whether they conflict. Listeners on one port must share a protocol (kubegate serves
// one protocol per socket) and have distinct hostnames; conflicted listeners are all refused (the
// spec forbids picking a winner among indistinct listeners).

import type { ListenerTLSIR } from '../ir.ts';
import type { KeyPair, Secrets } from './certificates.ts';
import { resolveCertificateRef } from './certificates.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { normalizeHostname } from './hostnames.ts';
import { arr, int, rec, str } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** One listener, evaluated. */
export interface ListenerState {
  readonly name: string;
  readonly hostname: string | null;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS' | null;
  readonly supportedKinds: readonly { readonly group: string; readonly kind: string }[];
  /** `allowedRoutes.namespaces`: `from` (default Same) and the raw selector. */
  readonly from: string;
  readonly selector: unknown;
  readonly accepted: Problem | null;
  readonly resolvedRefs: Problem | null;
  readonly conflicted: Problem | null;
  readonly tls: ListenerTLSIR | null;
}

const HTTP_ROUTE = { group: GATEWAY_GROUP, kind: 'HTTPRoute' } as const;

function kindsOf(listener: Readonly<Record<string, unknown>>): {
  supported: (typeof HTTP_ROUTE)[];
  invalid: string[];
} {
  const allowed = rec(listener.allowedRoutes);
  if (!Array.isArray(allowed.kinds)) return { supported: [HTTP_ROUTE], invalid: [] };
  const supported: (typeof HTTP_ROUTE)[] = [];
  const invalid: string[] = [];
  for (const k of arr(allowed.kinds)) {
    const group = str(rec(k).group) ?? GATEWAY_GROUP;
    const kind = str(rec(k).kind) ?? '';
    if (group === GATEWAY_GROUP && kind === 'HTTPRoute') {
      if (supported.length === 0) supported.push(HTTP_ROUTE);
    } else invalid.push(`${group}/${kind}`);
  }
  return { supported, invalid };
}

function acceptance(l: Readonly<Record<string, unknown>>, protocol: string, port: number): Problem | null {
  if (protocol !== 'HTTP' && protocol !== 'HTTPS')
    return {
      reason: 'UnsupportedProtocol',
      message: `Protocol ${protocol || '(none)'} is not supported; use HTTP or HTTPS.`,
    };
  if (port < 1 || port > 65535) return { reason: 'UnsupportedValue', message: 'Port must be 1-65535.' };
  const mode = str(rec(l.tls).mode) ?? 'Terminate';
  if (protocol === 'HTTPS' && mode !== 'Terminate')
    return { reason: 'UnsupportedValue', message: `TLS mode ${mode} is not supported on HTTPS listeners.` };
  return null;
}

/** Evaluates the listeners of a Gateway in `namespace`, in spec order. */
export function evaluateListeners(
  listeners: readonly unknown[],
  namespace: string,
  secrets: Secrets,
  grants: ReferenceGrants,
): ListenerState[] {
  const states = listeners.map((raw): ListenerState => {
    const l = rec(raw);
    const protocolText = str(l.protocol) ?? '';
    const port = int(l.port) ?? 0;
    const accepted = acceptance(l, protocolText, port);
    const protocol = protocolText === 'HTTP' || protocolText === 'HTTPS' ? protocolText : null;
    const kinds = kindsOf(l);
    const namespaces = rec(rec(l.allowedRoutes).namespaces);
    let resolvedRefs: Problem | null = null;
    let tls: ListenerTLSIR | null = null;
    if (protocol === 'HTTPS' && accepted === null) {
      const pairs: KeyPair[] = [];
      const refs = arr(rec(l.tls).certificateRefs);
      if (refs.length === 0)
        resolvedRefs = { reason: 'InvalidCertificateRef', message: 'No certificateRefs.' };
      for (const ref of refs) {
        const r = resolveCertificateRef(ref, namespace, secrets, grants);
        if ('cert' in r) pairs.push({ cert: r.cert, key: r.key });
        else resolvedRefs ??= r;
      }
      tls = pairs.length > 0 ? { certificates: pairs } : null;
    }
    if (protocol !== null && kinds.invalid.length > 0)
      resolvedRefs ??= {
        reason: 'InvalidRouteKinds',
        message: `Unsupported route kinds: ${kinds.invalid.join(', ')}; supported: HTTPRoute.`,
      };
    return {
      name: str(l.name) ?? '',
      hostname: normalizeHostname(str(l.hostname)),
      port,
      protocol,
      supportedKinds: protocol === null ? [] : kinds.supported,
      from: str(namespaces.from) ?? 'Same',
      selector: namespaces.selector,
      accepted,
      resolvedRefs,
      conflicted: null,
      tls,
    };
  });
  return markConflicts(states);
}

function markConflicts(states: ListenerState[]): ListenerState[] {
  const byPort = new Map<number, ListenerState[]>();
  for (const s of states) if (s.accepted === null) byPort.set(s.port, [...(byPort.get(s.port) ?? []), s]);
  const conflicts = new Map<ListenerState, Problem>();
  for (const [port, group] of byPort) {
    if (new Set(group.map((s) => s.protocol)).size > 1) {
      const message = `Listeners on port ${port} mix HTTP and HTTPS.`;
      for (const s of group) conflicts.set(s, { reason: 'ProtocolConflict', message });
      continue;
    }
    const byHost = new Map<string, ListenerState[]>();
    for (const s of group) byHost.set(s.hostname ?? '', [...(byHost.get(s.hostname ?? '') ?? []), s]);
    for (const [host, same] of byHost) {
      if (same.length < 2) continue;
      const message = `Listeners ${same.map((s) => s.name).join(', ')} on port ${port} share hostname "${host}".`;
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
  return s.accepted === null && s.conflicted === null && (s.protocol === 'HTTP' || s.tls !== null);
}

/** True when every condition of the listener is in its good state. */
export function isValid(s: ListenerState): boolean {
  return isServable(s) && s.resolvedRefs === null;
}
