// TrafficPolicy targetRefs: a Gateway, one of its listeners, a ListenerSet, one of its listeners,
// an HTTPRoute or one of its named rules. A set's listeners are not the Gateway's: a Gateway
// listener target never reaches them (GEP-1713), a Gateway-wide one does (sets inherit it).

import type { ParentReference } from '../objects.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { arr, rec, str, text, type Meta } from './read.ts';
import type { TrafficPolicyFields } from './traffic-policy-fields.ts';

/**
 * What a target is: Gateway, Gateway listener, HTTPRoute, rule, ListenerSet, set listener. A route
 * merges, least specific first: Gateway, then ListenerSet, then listener, then HTTPRoute, then rule.
 */
export type Level = 0 | 1 | 2 | 3 | 4 | 5;
export const LEVEL_NAMES = ['Gateway', 'listener', 'HTTPRoute', 'rule', 'ListenerSet', 'listener'] as const;
const BASE_LEVEL: Readonly<Record<string, Level>> = { Gateway: 0, HTTPRoute: 2, ListenerSet: 4 };

export interface Target {
  readonly ref: ParentReference;
  readonly level: Level;
  /** `level|namespace/name#section`. */
  readonly key: string;
}

/** One TrafficPolicy as read: its fields, its problems (as one), targets, and the targets it lost. */
export interface Policy {
  readonly meta: Meta;
  readonly fields: TrafficPolicyFields;
  readonly problem: Problem | null;
  readonly targets: readonly Target[];
  /** Target keys it lost to an older policy. */
  readonly conflicted: Set<string>;
}

/** `level|namespace/name#section`. */
export function targetKey(level: Level, object: string, section: string): string {
  return `${level}|${object}#${section}`;
}

/** `HTTPRoute ns/name rule admin`, for status messages. */
export function describe(t: Target): string {
  const section = t.ref.sectionName === undefined ? '' : ` ${LEVEL_NAMES[t.level]} ${t.ref.sectionName}`;
  return `${t.ref.kind} ${t.ref.namespace}/${t.ref.name}${section}`;
}

/** targetRefs of kind Gateway, ListenerSet or HTTPRoute (group gateway.networking.k8s.io) in the policy's namespace. */
export function readTargets(refs: unknown, namespace: string): Target[] {
  const out = new Map<string, Target>();
  for (const r of arr(refs).map(rec)) {
    const kind = str(r.kind);
    const name = text(r.name);
    const base = kind === undefined || !Object.hasOwn(BASE_LEVEL, kind) ? undefined : BASE_LEVEL[kind];
    if (str(r.group) !== GATEWAY_GROUP || kind === undefined || base === undefined || name === undefined)
      continue;
    const section = text(r.sectionName);
    const level = (base + (section === undefined ? 0 : 1)) as Level;
    const key = targetKey(level, `${namespace}/${name}`, section ?? '');
    const ref: ParentReference = { group: GATEWAY_GROUP, kind, namespace, name };
    if (section !== undefined) ref.sectionName = section;
    if (!out.has(key)) out.set(key, { ref, level, key });
  }
  return [...out.values()];
}
