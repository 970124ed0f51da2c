// TrafficPolicy status (GEP-713): one `status.ancestors` entry per Gateway a policy's targets are
// served through, or per target not found, each with one condition `Accepted`.

import type { Condition, ParentReference } from '../objects.ts';
import type { PolicyAncestorStatus, PolicyStatusOutput } from './backend-tls-policies.ts';
import { condition } from './conditions.ts';
import { compareStrings } from './read.ts';
import { describe, type Policy, type Target } from './traffic-policy-targets.ts';

/** The policy group (ours). */
export const POLICY_GROUP = 'gateway.kubegate.io';
/** Gateway API allows at most this many ancestor entries per policy. */
const MAX_ANCESTORS = 16;

/** What the Gateway phase and the routes say exists: for targets and ancestors. */
export interface PolicyWorld {
  /** Our Gateways (`namespace/name`) and their listener names. */
  readonly gateways: ReadonlyMap<string, readonly string[]>;
  /** Accepted ListenerSets of our Gateways (`namespace/name`) → their Gateway and listener names. */
  readonly listenerSets?: ReadonlyMap<string, { gateway: ParentReference; listeners: readonly string[] }>;
  /** HTTPRoutes with a parent entry of ours (`namespace/name`) → their Gateways and rule names. */
  readonly routes: ReadonlyMap<string, { gateways: readonly ParentReference[]; rules: readonly string[] }>;
}

/** Each policy's ancestor entries (GEP-713): the Gateways its targets reach, or the target not found. */
export function policyStatuses(
  policies: readonly Policy[],
  world: PolicyWorld,
  controllerName: string,
): PolicyStatusOutput[] {
  const out: PolicyStatusOutput[] = [];
  for (const p of policies) {
    const gen = p.meta.generation;
    const entries = new Map<string, { ref: ParentReference; condition: Condition }>();
    const put = (ref: ParentReference, c: Condition) => {
      const key = JSON.stringify([ref.namespace, ref.name, ref.kind, ref.sectionName ?? '']);
      const was = entries.get(key);
      if (was === undefined || rank(c) > rank(was.condition)) entries.set(key, { ref, condition: c });
    };
    if (p.targets.length === 0)
      put(
        { group: POLICY_GROUP, kind: 'TrafficPolicy', namespace: p.meta.namespace, name: p.meta.name },
        condition('Accepted', false, 'TargetNotFound', 'The policy has no valid targetRef.', gen),
      );
    for (const t of p.targets) {
      const ancestors = reached(t, world);
      if (ancestors.length === 0) {
        put(
          t.ref,
          condition(
            'Accepted',
            false,
            'TargetNotFound',
            `${describe(t)} is not found or not attached to a Gateway of this controller.`,
            gen,
          ),
        );
        continue;
      }
      const c = p.conflicted.has(t.key)
        ? condition(
            'Accepted',
            false,
            'Conflicted',
            `An older policy sets the same field on ${describe(t)}; its fields win there.`,
            gen,
          )
        : p.problem !== null
          ? condition('Accepted', false, p.problem.reason, p.problem.message, gen)
          : condition('Accepted', true, 'Accepted', 'Policy accepted.', gen);
      for (const a of ancestors) put(a, c);
    }
    const ancestors: PolicyAncestorStatus[] = [...entries.entries()]
      .sort((a, b) => compareStrings(a[0], b[0]))
      .slice(0, MAX_ANCESTORS)
      .map(([, e]) => ({ ancestorRef: e.ref, controllerName, conditions: [e.condition] }));
    out.push({ namespace: p.meta.namespace, name: p.meta.name, ancestors });
  }
  return out.sort((a, b) => compareStrings(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`));
}

/** Invalid and Conflicted outrank TargetNotFound, which outranks Accepted, when targets share an ancestor. */
function rank(c: Condition): number {
  return c.reason === 'Accepted' ? 0 : c.reason === 'TargetNotFound' ? 1 : c.reason === 'Conflicted' ? 2 : 3;
}

/** The Gateways a target is served through (its ancestors); none when it is not found. */
function reached(t: Target, world: PolicyWorld): ParentReference[] {
  const key = `${t.ref.namespace}/${t.ref.name}`;
  if (t.ref.kind === 'ListenerSet') {
    const set = world.listenerSets?.get(key);
    if (set === undefined) return [];
    if (t.ref.sectionName !== undefined && !set.listeners.includes(t.ref.sectionName)) return [];
    return [set.gateway];
  }
  if (t.ref.kind === 'Gateway') {
    const listeners = world.gateways.get(key);
    if (listeners === undefined) return [];
    if (t.ref.sectionName !== undefined && !listeners.includes(t.ref.sectionName)) return [];
    return [t.ref];
  }
  const route = world.routes.get(key);
  if (route === undefined) return [];
  if (t.ref.sectionName !== undefined && !route.rules.includes(t.ref.sectionName)) return [];
  return [...route.gateways];
}
