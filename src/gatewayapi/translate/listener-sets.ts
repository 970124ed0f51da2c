// ListenerSets: listeners added to one of our Gateways from another object (possibly in another
// namespace), when the Gateway's `spec.allowedListeners` lets the set's namespace in (default:
// none). The listeners of accepted sets merge into the Gateway's after its own, by precedence:
// the Gateway's listeners, then sets oldest first, then by namespace/name. A set listener that
// clashes with one of higher precedence (another protocol on its port, or the same hostname) is
// Conflicted and refused; the one before it keeps serving. Routes attach to a set by a parentRef
// of kind ListenerSet, never through the Gateway, so listener names need be unique only in a set.

import type { Condition, ListenerSetStatus } from '../objects.ts';
import type { ListenerSetParent, NamespaceLabels } from './attachment.ts';
import type { Secrets } from './certificates.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP, condition, conditionFor } from './conditions.ts';
import type { GatewayState } from './gateways.ts';
import { listenerStatus, programmedProblem } from './gateways.ts';
import { selects } from './label-selectors.ts';
import type { ListenerState } from './listeners.ts';
import { evaluateEach, isServable, isValid } from './listeners.ts';
import type { Meta } from './read.ts';
import { arr, byAgeThenName, compareJSON, meta, rec, str, text } from './read.ts';
import type { ReferenceGrants } from './reference-grants.ts';

/** A ListenerSet whose parentRef names one of our Gateways, evaluated. */
export interface ListenerSetState extends ListenerSetParent {
  readonly meta: Meta;
  /** Accepted: ok (reason Accepted or ListenersNotValid), or why not (NotAllowed, ...). */
  readonly accepted: { readonly ok: boolean } & Problem;
}

/** The sets of our Gateways, and how many are attached to each Gateway that allows or has sets. */
export interface ListenerSets {
  /** By `namespace/name`. */
  readonly byKey: ReadonlyMap<string, ListenerSetState>;
  /** Attached (accepted) sets per Gateway: only Gateways with `spec.allowedListeners` or a set naming them. */
  readonly attached: ReadonlyMap<string, number>;
  /** The set each set listener belongs to. */
  readonly owner: ReadonlyMap<ListenerState, ListenerSetState>;
}

/**
 * Evaluates the ListenerSets naming one of `gateways` (by `namespace/name`) and replaces each such
 * Gateway in the map by one that holds the listeners of its accepted sets (`setListeners`).
 */
export function attachListenerSets(
  raws: readonly unknown[],
  gateways: Map<string, GatewayState>,
  secrets: Secrets,
  grants: ReferenceGrants,
  labelsOf: NamespaceLabels,
): ListenerSets {
  const byGateway = new Map<string, { raw: unknown; m: Meta }[]>();
  const seen = new Set<string>();
  const sorted = raws
    .map((raw) => ({ raw, m: meta(raw) }))
    .sort((a, b) => byAgeThenName(a.m, b.m) || a.m.generation - b.m.generation || compareJSON(a.raw, b.raw));
  for (const s of sorted) {
    if (seen.has(s.m.key)) continue;
    seen.add(s.m.key);
    const ref = rec(rec(rec(s.raw).spec).parentRef);
    if ((str(ref.group) ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (str(ref.kind) ?? 'Gateway') !== 'Gateway')
      continue;
    const key = `${text(ref.namespace) ?? s.m.namespace}/${str(ref.name) ?? ''}`;
    if (!gateways.has(key)) continue;
    const list = byGateway.get(key);
    if (list === undefined) byGateway.set(key, [s]);
    else list.push(s);
  }
  for (const [key, g] of gateways)
    if (g.allowedListeners !== undefined && !byGateway.has(key)) byGateway.set(key, []);

  const byKey = new Map<string, ListenerSetState>();
  const attached = new Map<string, number>();
  const owner = new Map<ListenerState, ListenerSetState>();
  for (const [key, sets] of byGateway) {
    const own = gateways.get(key) as GatewayState;
    // Listeners of higher precedence: the Gateway's (conflicted ones too), then accepted sets'.
    const claims = own.listeners.filter((l) => l.accepted === null || l.conflicted !== null);
    const evaluated: { m: Meta; listeners: ListenerState[]; accepted: { ok: boolean } & Problem }[] = [];
    for (const { raw, m } of sets) {
      const allowed = allows(own, m.namespace, labelsOf);
      if (allowed !== null) {
        evaluated.push({ m, listeners: [], accepted: { ok: false, ...allowed } });
        continue;
      }
      const listeners = mergeInto(
        claims,
        evaluateEach(
          arr(rec(rec(raw).spec).listeners),
          m.namespace,
          secrets,
          grants,
          undefined,
          'ListenerSet',
        ).map((l) => ({ ...l, listenerSet: m.key })),
      );
      const accepted = acceptance(own, listeners);
      if (accepted.ok) claims.push(...listeners.filter((l) => l.accepted === null));
      evaluated.push({ m, listeners, accepted });
    }
    const setListeners = evaluated.filter((e) => e.accepted.ok).flatMap((e) => e.listeners);
    const g: GatewayState = setListeners.length > 0 ? { ...own, setListeners } : own;
    gateways.set(key, g);
    attached.set(key, evaluated.filter((e) => e.accepted.ok).length);
    for (const e of evaluated) {
      const state: ListenerSetState = {
        meta: e.m,
        gateway: g,
        namespace: e.m.namespace,
        listeners: e.listeners,
        accepted: e.accepted,
        problem: e.accepted.ok
          ? null
          : { reason: 'NoMatchingParent', message: `ListenerSet ${e.m.key} is not accepted.` },
      };
      byKey.set(e.m.key, state);
      for (const l of e.listeners) owner.set(l, state);
    }
  }
  return { byKey, attached, owner };
}

/** Why the Gateway does not let a set from `namespace` in, or null when it does. */
function allows(g: GatewayState, namespace: string, labelsOf: NamespaceLabels): Problem | null {
  const namespaces = rec(rec(g.allowedListeners).namespaces);
  const from = str(namespaces.from) ?? 'None';
  const ok =
    from === 'All' ||
    (from === 'Same' && namespace === g.meta.namespace) ||
    (from === 'Selector' &&
      namespaces.selector !== undefined &&
      namespaces.selector !== null &&
      selects(namespaces.selector, labelsOf(namespace)));
  return ok
    ? null
    : {
        reason: 'NotAllowed',
        message: `Gateway ${g.meta.key} does not allow ListenerSets from namespace ${namespace} (allowedListeners ${from}).`,
      };
}

/**
 * The set's listeners, those clashing with a claim of higher precedence (the Gateway's, an earlier
 * set's or an earlier listener of this set) marked Conflicted.
 */
function mergeInto(claims: readonly ListenerState[], listeners: readonly ListenerState[]): ListenerState[] {
  const taken = [...claims];
  return listeners.map((l) => {
    if (l.accepted !== null) return l;
    const transport = l.protocol === 'UDP' ? 'udp' : 'tcp';
    for (const c of taken) {
      if (c.port !== l.port || (c.protocol === 'UDP' ? 'udp' : 'tcp') !== transport) continue;
      let problem: Problem | null = null;
      if (c.protocol !== l.protocol)
        problem = {
          reason: 'ProtocolConflict',
          message: `Port ${l.port} is ${c.protocol ?? 'taken'} by listener ${c.name} of higher precedence.`,
        };
      else if (l.protocol === 'TCP' || l.protocol === 'UDP' || c.hostname === l.hostname)
        problem = {
          reason: 'HostnameConflict',
          message: `Listener ${c.name} of higher precedence has port ${l.port} and hostname "${l.hostname ?? ''}".`,
        };
      if (problem !== null) return { ...l, conflicted: problem, accepted: problem };
    }
    taken.push(l);
    return l;
  });
}

function acceptance(g: GatewayState, listeners: readonly ListenerState[]): { ok: boolean } & Problem {
  if (!g.accepted.ok)
    return { ok: false, reason: 'ParentNotAccepted', message: `Gateway ${g.meta.key} is not accepted.` };
  const invalid = listeners.filter((l) => !isValid(l)).map((l) => l.name);
  if (invalid.length === listeners.length)
    return { ok: false, reason: 'ListenersNotValid', message: 'No listener is valid.' };
  if (invalid.length > 0)
    return { ok: true, reason: 'ListenersNotValid', message: `Invalid listeners: ${invalid.join(', ')}.` };
  return { ok: true, reason: 'Accepted', message: 'ListenerSet is accepted.' };
}

/** The ListenerSet status; `attached` counts routes per listener of the set. */
export function listenerSetStatus(
  s: ListenerSetState,
  attached: ReadonlyMap<ListenerState, number>,
): ListenerSetStatus {
  const gen = s.meta.generation;
  const parent = programmedProblem(s.gateway);
  const programmed: Problem | null = !s.accepted.ok
    ? s.accepted
    : parent === null
      ? null
      : { reason: 'ParentNotProgrammed', message: `Gateway ${s.gateway.meta.key} is not programmed.` };
  const conditions: Condition[] = [
    condition('Accepted', s.accepted.ok, s.accepted.reason, s.accepted.message, gen),
    conditionFor('Programmed', programmed, 'Programmed', 'ListenerSet is programmed.', gen),
  ];
  const listeners = s.listeners.map((l) =>
    listenerStatus(
      l,
      attached.get(l) ?? 0,
      l.conflicted !== null
        ? l.conflicted
        : !isServable(l) || !s.accepted.ok
          ? { reason: 'Invalid', message: 'Listener is not valid.' }
          : parent === null
            ? null
            : { reason: 'Pending', message: 'Gateway is not programmed.' },
      gen,
    ),
  );
  return { conditions, listeners };
}
