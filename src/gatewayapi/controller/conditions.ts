/** A status condition as `translate` computes it: no transition time yet. */
export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** A condition as written to the API, with the time it last changed `status`. */
export interface TimedCondition extends Condition {
  lastTransitionTime: string;
}

/**
 * The condition types kubegate writes on Gateway API objects (the spec's). A condition of any other
 * type in a status is another controller's, and is kept as it is.
 */
const OWNED_TYPES: ReadonlySet<string> = new Set([
  'Accepted',
  'Programmed',
  'ResolvedRefs',
  'Conflicted',
  'PartiallyInvalid',
  'Ready',
  'SupportedVersion',
  'OverlappingTLSConfig',
]);

/**
 * Gives each condition its `lastTransitionTime`: kept from the condition of the same type already
 * written when its `status` did not change (the API conventions), `now` otherwise. Conditions of
 * types kubegate does not own are carried over unchanged, after its own.
 */
export function stampConditions(
  next: readonly Condition[] | undefined,
  prev: readonly Partial<TimedCondition>[] | undefined,
  now: string,
): TimedCondition[] {
  const mine = (next ?? []).map((c) => {
    const old = prev?.find((p) => p.type === c.type);
    const lastTransitionTime =
      old && old.status === c.status && typeof old.lastTransitionTime === 'string'
        ? old.lastTransitionTime
        : now;
    return { ...c, lastTransitionTime };
  });
  const foreign = (prev ?? []).filter(
    (p) => typeof p.type === 'string' && !OWNED_TYPES.has(p.type) && !mine.some((c) => c.type === p.type),
  ) as TimedCondition[];
  return foreign.length ? [...mine, ...foreign] : mine;
}

/** Applies `stampConditions` to every `conditions` array found in a status value, pairing by path. */
export function stampDeep(next: unknown, prev: unknown, now: string): unknown {
  if (Array.isArray(next)) {
    const prevArr = Array.isArray(prev) ? prev : [];
    return next.map((item, i) => stampDeep(item, pairOf(item, prevArr, i), now));
  }
  if (next === null || typeof next !== 'object') return next;
  const out: Record<string, unknown> = {};
  const p = prev !== null && typeof prev === 'object' ? (prev as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(next)) {
    out[k] =
      k === 'conditions' && Array.isArray(v)
        ? stampConditions(v as Condition[], p[k] as TimedCondition[] | undefined, now)
        : stampDeep(v, p[k], now);
  }
  return out;
}

// Listener statuses pair by name, route parent statuses by parentRef, policy ancestor statuses by
// ancestorRef; anything else by position.
function pairOf(item: unknown, prev: readonly unknown[], i: number): unknown {
  if (item === null || typeof item !== 'object') return prev[i];
  const o = item as Record<string, unknown>;
  if (typeof o.name === 'string')
    return prev.find((p) => (p as Record<string, unknown> | null)?.name === o.name);
  if (o.parentRef !== undefined) {
    const key = JSON.stringify(o.parentRef);
    return prev.find((p) => JSON.stringify((p as Record<string, unknown> | null)?.parentRef) === key);
  }
  // Policy ancestor statuses pair by ancestorRef and controller.
  if (o.ancestorRef !== undefined) {
    const key = JSON.stringify([o.ancestorRef, o.controllerName]);
    return prev.find((p) => {
      const q = p as Record<string, unknown> | null;
      return JSON.stringify([q?.ancestorRef, q?.controllerName]) === key;
    });
  }
  return prev[i];
}

/** Deep equality of two statuses, ignoring every `lastTransitionTime`. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (k, x: unknown) => {
    if (k === 'lastTransitionTime') return undefined;
    if (x !== null && typeof x === 'object' && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(o)
          .sort()
          .map((key) => [key, o[key]]),
      );
    }
    return x;
  });
}
