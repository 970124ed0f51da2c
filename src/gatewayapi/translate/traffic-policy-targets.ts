// TrafficPolicy targetRefs: a Gateway, one of its listeners, an HTTPRoute or one of its named
// rules, each at a level of specificity (the higher wins a field).

import type { ParentReference } from '../objects.ts';
import type { Problem } from './conditions.ts';
import { GATEWAY_GROUP } from './conditions.ts';
import { arr, rec, str, text, type Meta } from './read.ts';
import type { TrafficPolicyFields } from './traffic-policy-fields.ts';

/** How specific a target is: the higher wins a field. */
export type Level = 0 | 1 | 2 | 3;
export const LEVEL_NAMES = ['Gateway', 'listener', 'HTTPRoute', 'rule'] as const;

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

/** targetRefs of kind Gateway or HTTPRoute (group gateway.networking.k8s.io) in the policy's namespace. */
export function readTargets(refs: unknown, namespace: string): Target[] {
  const out = new Map<string, Target>();
  for (const r of arr(refs).map(rec)) {
    const kind = str(r.kind);
    const name = text(r.name);
    if (str(r.group) !== GATEWAY_GROUP || (kind !== 'Gateway' && kind !== 'HTTPRoute') || name === undefined)
      continue;
    const section = text(r.sectionName);
    const level = ((kind === 'Gateway' ? 0 : 2) + (section === undefined ? 0 : 1)) as Level;
    const key = targetKey(level, `${namespace}/${name}`, section ?? '');
    const ref: ParentReference = { group: GATEWAY_GROUP, kind, namespace, name };
    if (section !== undefined) ref.sectionName = section;
    if (!out.has(key)) out.set(key, { ref, level, key });
  }
  return [...out.values()];
}
