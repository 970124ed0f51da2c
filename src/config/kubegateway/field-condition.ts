import { ANY, NEVER, splitNegated, unique, type Condition, type Entry } from './condition.ts';
import type { FieldProfile } from './field-profiles.ts';
import type { TranslationReport } from './report.ts';

/** How a field treats negated (`-x`) entries besides KubeGateway's general rule. */
export type NegationMode =
  /** One request value: `-x` holds when the value is not x. */
  | 'single'
  /** Several request values (groups): `-x` holds when any one of them is not x. */
  | 'multi'
  /** KubeGateway skips negated entries (nonResourceURLs). */
  | 'ignored';

/**
 * KubeGateway's evaluation of one rule field (evaluation_helpers.go), as a Condition:
 * - `*` anywhere in the list matches every request;
 * - when the list has plain entries, a request matches one of them and negated entries are ignored;
 * - otherwise a request passes when its value differs from ANY ONE negated entry (OR). One negated
 *   value is therefore exactly `exclude.<field>: [x]`; two different ones hold for every request.
 */
export function fieldCondition(
  entries: readonly Entry[],
  profile: FieldProfile,
  negation: NegationMode,
  path: string,
  report: TranslationReport,
): Condition {
  if (entries.length === 0) return profile.empty === 'any' ? ANY : NEVER;
  if (entries.some((e) => e.value === '*')) return ANY;
  const { plain, negated } = splitNegated(entries);
  if (plain.length > 0 || negation === 'ignored') {
    for (const n of negated)
      report.noteAt(
        n.at,
        negation === 'ignored'
          ? `"-${n.value}" ignored: KubeGateway does not negate ${profile.field}`
          : `"-${n.value}" ignored: KubeGateway drops negated entries when the list also has plain ones`,
      );
    return plainCondition(plain, profile, report);
  }
  return negatedCondition(negated, profile, negation, path, report);
}

function plainCondition(
  plain: readonly Entry[],
  profile: FieldProfile,
  report: TranslationReport,
): Condition {
  const keep: string[] = [];
  for (const e of plain) {
    const problem = profile.plainProblem(e.value);
    if (problem === null) keep.push(e.value);
    else if (problem.matchable) report.unsupportedAt(e.at, `${problem.reason}; dropped`);
    else report.noteAt(e.at, `${problem.reason}; dropped`);
  }
  return keep.length > 0 ? { kind: 'oneOf', values: unique(keep) } : NEVER;
}

function negatedCondition(
  negated: readonly Entry[],
  profile: FieldProfile,
  negation: NegationMode,
  path: string,
  report: TranslationReport,
): Condition {
  const values = unique(negated.map((n) => n.value));
  if (negation === 'multi') {
    report.unsupportedAt(
      path,
      `KubeGateway passes a request when ANY of the user's groups differs from ${listed(values)}, so nearly every user passes (all have system:authenticated); kubegate has no such test. Translated as KubeGateway behaves: no ${profile.field} condition. If "in none of [${values.join(', ')}]" was meant, add exclude.${profile.field}: [${values.join(', ')}]`,
    );
    return ANY;
  }
  for (const n of negated) {
    if (profile.negationAlwaysHolds(n.value)) {
      report.noteAt(
        n.at,
        `"-${n.value}" holds for every request (KubeGateway compares "${n.value}" literally and no request has it), so the field matches everything`,
      );
      return ANY;
    }
    const problem = profile.plainProblem(n.value);
    if (problem !== null) {
      report.unsupportedAt(
        n.at,
        `${problem.reason}; "-${n.value}" cannot be written as an exclude, translated as matching everything`,
      );
      return ANY;
    }
  }
  if (values.length > 1) {
    report.unsupportedAt(
      path,
      `KubeGateway ORs negated entries: a request passes when it differs from any one of ${listed(values)}, so this holds for every request (its design doc describes "none of these"). Translated as KubeGateway behaves: no ${profile.field} condition. For "none of these", write exclude.${profile.field}: [${values.join(', ')}]`,
    );
    return ANY;
  }
  return { kind: 'noneOf', values };
}

function listed(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}
