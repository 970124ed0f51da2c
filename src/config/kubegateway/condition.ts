/**
 * What one field of a KubeGateway rule requires of a request, in kubegate's terms: nothing (`any`),
 * something no request has (`never`: the rule part can never match), one of some values
 * (`match.<field>`), or none of them (`exclude.<field>`).
 */
export type Condition =
  | { kind: 'any' }
  | { kind: 'never' }
  | { kind: 'oneOf'; values: string[] }
  | { kind: 'noneOf'; values: string[] };

/** One string of a KubeGateway list, with its path. */
export interface Entry {
  value: string;
  at: string;
}

export const ANY: Condition = Object.freeze({ kind: 'any' });
export const NEVER: Condition = Object.freeze({ kind: 'never' });

/** The values in first-seen order, without repeats. */
export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** KubeGateway's negation prefix. (Its docs and code use `-`; there is no `!`.) */
export const NEGATION = '-';

/** Splits entries into plain ones and negated ones (prefix removed), as KubeGateway's filterRules does. */
export function splitNegated(entries: readonly Entry[]): { plain: Entry[]; negated: Entry[] } {
  const plain: Entry[] = [];
  const negated: Entry[] = [];
  for (const e of entries)
    if (e.value.startsWith(NEGATION)) negated.push({ value: e.value.slice(1), at: e.at });
    else plain.push(e);
  return { plain, negated };
}
