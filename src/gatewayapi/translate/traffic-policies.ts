// TrafficPolicy (gateway.kubegate.io/v1alpha1): request policies attached by targetRefs to a
// Gateway, one of its listeners (sectionName), a ListenerSet, one of its listeners (sectionName),
// an HTTPRoute or one of its named rules (sectionName). Each route of the IR gets the merged fields
// of the policies that reach it: per field, the most specific target wins (rule > route > listener
// > ListenerSet > Gateway). A set's listeners get the Gateway-wide policies and the set's, never
// those of a Gateway listener (GEP-1713: a set inherits from its Gateway, its listeners are its own). Two policies on the
// same target that set the same field: the older (then the first by namespace/name, GEP-713)
// wins; the other is Conflicted on that target and applies none of its fields there.

import type {
  ClusterIR,
  DataPlaneIR,
  ListenerIR,
  PortIR,
  RouteIR,
  TrafficPolicyIR,
  VirtualHostIR,
} from '../ir.ts';
import type { PolicyStatusOutput } from './backend-tls-policies.ts';
import { byAgeThenName, compareStrings, meta, rec } from './read.ts';
import { FIELD_NAMES, readPolicyFields, type TrafficPolicyFields } from './traffic-policy-fields.ts';
import { policyStatuses, type PolicyWorld } from './traffic-policy-status.ts';
import type { ResolveBackend } from './traffic-policy-ext-auth.ts';
import { readTargets, targetKey, type Policy } from './traffic-policy-targets.ts';

export type { PolicyWorld } from './traffic-policy-status.ts';

// Virtual hosts with their policies merged in, by the virtual host the translation built: while the
// policies and Secrets are the same arrays (the controller hands in the same array for a collection
// until it changes), an unchanged virtual host keeps its object, so the data plane does not
// recompile it on every sync.
const mergedHosts = new WeakMap<VirtualHostIR, { deps: readonly unknown[]; out: VirtualHostIR }>();

/** The TrafficPolicies of one translation: which route gets which fields, and each policy's status. */
export class TrafficPolicies {
  readonly #policies: Policy[] = [];
  /** Target key → the policies applying there, oldest first. */
  readonly #byTarget = new Map<string, Policy[]>();
  /** The input arrays the policies were read from (by identity), for reuse across translations. */
  #deps: readonly unknown[];
  /** The Service ports extAuth fields name, added to the IR's clusters. */
  readonly #extAuthClusters = new Map<string, ClusterIR>();

  constructor(
    policies: readonly unknown[],
    secrets: ReadonlyMap<string, unknown>,
    deps: readonly unknown[] = [],
    backends: { readonly resolve: ResolveBackend; readonly deps: readonly unknown[] } | null = null,
  ) {
    this.#deps = deps.length === 0 ? [{}] : deps;
    const seen = new Set<string>();
    const sorted = [...policies].sort((a, b) => byAgeThenName(meta(a), meta(b)));
    for (const raw of sorted) {
      const m = meta(raw);
      if (m.name === '' || seen.has(m.key)) continue;
      seen.add(m.key);
      const { fields, problems } = readPolicyFields(
        raw,
        m,
        secrets,
        backends && this.#resolve(backends.resolve),
      );
      const targets = readTargets(rec(rec(raw).spec).targetRefs, m.namespace);
      const p: Policy = {
        meta: m,
        fields,
        problem:
          problems.length === 0
            ? null
            : { reason: problems[0].reason, message: problems.map((x) => x.message).join(' ') },
        targets,
        conflicted: new Set(),
      };
      this.#policies.push(p);
      const set = FIELD_NAMES.filter((f) => fields[f] !== undefined);
      for (const t of targets) {
        let list = this.#byTarget.get(t.key);
        if (list === undefined) this.#byTarget.set(t.key, (list = []));
        if (list.some((q) => set.some((f) => q.fields[f] !== undefined))) p.conflicted.add(t.key);
        else list.push(p);
      }
    }
    // extAuth reads Services and EndpointSlices: merged hosts are reused only while those are the same too.
    if (this.#extAuthClusters.size > 0 && backends !== null) this.#deps = [...this.#deps, ...backends.deps];
  }

  #resolve(resolve: ResolveBackend): ResolveBackend {
    return (ref, namespace) => {
      const found = resolve(ref, namespace);
      if (!('reason' in found)) this.#extAuthClusters.set(found.name, found);
      return found;
    };
  }

  /** True when there is no policy at all. */
  get empty(): boolean {
    return this.#policies.length === 0;
  }

  /** `ir` with each route's merged `trafficPolicy`; objects nothing applies to are kept as they are. */
  apply(ir: DataPlaneIR): DataPlaneIR {
    if (this.empty) return ir;
    let changed = false;
    const ports = ir.ports.map((port) => {
      const p = this.#port(port);
      if (p !== port) changed = true;
      return p;
    });
    if (this.#extAuthClusters.size > 0)
      return { ...ir, ports, clusters: withClusters(ir.clusters, this.#extAuthClusters) };
    return changed ? { ...ir, ports } : ir;
  }

  #port(port: PortIR): PortIR {
    let changed = false;
    const listeners = port.listeners.map((l) => {
      const out = this.#listener(port.gateway, l);
      if (out !== l) changed = true;
      return out;
    });
    return changed ? { ...port, listeners } : port;
  }

  #listener(gateway: string, l: ListenerIR): ListenerIR {
    const above =
      l.listenerSet === undefined
        ? [targetKey(0, gateway, ''), targetKey(1, gateway, l.name)]
        : [targetKey(0, gateway, ''), targetKey(4, l.listenerSet, ''), targetKey(5, l.listenerSet, l.name)];
    let changed = false;
    const virtualHosts = l.virtualHosts.map((v) => {
      const out = this.#virtualHost(above, v);
      if (out !== v) changed = true;
      return out;
    });
    return changed ? { ...l, virtualHosts } : l;
  }

  #virtualHost(above: readonly string[], v: VirtualHostIR): VirtualHostIR {
    const deps = [...this.#deps, ...above];
    const hit = mergedHosts.get(v);
    if (hit !== undefined && hit.deps.length === deps.length && hit.deps.every((d, n) => d === deps[n]))
      return hit.out;
    const out = this.#mergeVirtualHost(above, v);
    mergedHosts.set(v, { deps, out });
    return out;
  }

  #mergeVirtualHost(above: readonly string[], v: VirtualHostIR): VirtualHostIR {
    let changed = false;
    const routes = v.routes.map((r) => {
      const routeKey = r.id.split('/', 2).join('/');
      const keys = [...above, targetKey(2, routeKey, '')];
      if (r.ruleName !== null) keys.push(targetKey(3, routeKey, r.ruleName));
      const merged = merge(keys.map((k) => [k, this.#byTarget.get(k)]));
      if (merged === null) return r;
      changed = true;
      return { ...r, trafficPolicy: merged } satisfies RouteIR;
    });
    return changed ? { ...v, routes } : v;
  }

  /** Each policy's ancestor entries (GEP-713): the Gateways its targets reach, or the target not found. */
  statuses(world: PolicyWorld, controllerName: string): PolicyStatusOutput[] {
    return policyStatuses(this.#policies, world, controllerName);
  }
}

/** The fields of the policies at each level, least specific first, the more specific overriding. */
function merge(
  levels: readonly (readonly [string, readonly Policy[] | undefined])[],
): TrafficPolicyIR | null {
  const fields: TrafficPolicyFields = {};
  const from: Partial<Record<(typeof FIELD_NAMES)[number], string>> = {};
  let bucket = '';
  for (const [target, level] of levels)
    for (const p of level ?? [])
      for (const f of FIELD_NAMES)
        if (p.fields[f] !== undefined) {
          (fields as Record<string, unknown>)[f] = p.fields[f];
          from[f] = p.meta.key;
          if (f === 'localRateLimit') bucket = `${p.meta.key}@${target}`;
        }
  const policies = [...new Set(Object.values(from))].sort();
  if (policies.length === 0) return null;
  const limit = fields.localRateLimit;
  return {
    policies,
    ipFilter: fields.ipFilter ?? null,
    requestBodyLimit: fields.requestBodyLimit ?? null,
    basicAuth: fields.basicAuth ?? null,
    apiKeyAuth: fields.apiKeyAuth ?? null,
    ...(limit === undefined ? {} : { localRateLimit: { bucket, ...limit } }),
    ...(fields.jwt === undefined ? {} : { jwt: fields.jwt }),
    ...(fields.cors === undefined ? {} : { cors: fields.cors }),
    ...(fields.retry === undefined ? {} : { retry: fields.retry }),
    ...(fields.timeouts === undefined ? {} : { timeouts: fields.timeouts }),
    ...(fields.transformation === undefined ? {} : { transformation: fields.transformation }),
    ...(fields.oidc === undefined ? {} : { oidc: fields.oidc }),
    ...(fields.extAuth === undefined ? {} : { extAuth: fields.extAuth }),
  };
}

/** `clusters` with `extra` added, sorted by name as the IR keeps them. */
function withClusters(
  clusters: Readonly<Record<string, ClusterIR>>,
  extra: ReadonlyMap<string, ClusterIR>,
): Record<string, ClusterIR> {
  const all = new Map<string, ClusterIR>([...extra, ...Object.entries(clusters)]);
  const out: Record<string, ClusterIR> = {};
  for (const name of [...all.keys()].sort(compareStrings)) out[name] = all.get(name)!;
  return out;
}
