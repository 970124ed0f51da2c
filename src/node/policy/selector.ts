import type { LabelSelector } from './objects.ts';

/** A label selector that cannot be evaluated (an unknown operator, values where none belong). */
export class SelectorError extends Error {
  override name = 'SelectorError';
  readonly code = 'KG_POLICY_BAD_SELECTOR';
}

type Labels = Readonly<Record<string, string>> | undefined;

/**
 * Whether `labels` satisfy `selector` (matchLabels AND every matchExpression), as
 * `metav1.LabelSelectorAsSelector` evaluates it. An absent or empty selector matches everything.
 * Throws SelectorError for a selector the API server would have rejected.
 */
export function selectorMatches(selector: LabelSelector | undefined, labels: Labels): boolean {
  if (selector === undefined) return true;
  const has = (key: string): boolean => labels !== undefined && Object.hasOwn(labels, key);
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!has(key) || labels?.[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
      case 'NotIn': {
        if (values.length === 0) throw new SelectorError(`operator ${req.operator} needs values`);
        const inValues = has(req.key) && values.includes(labels?.[req.key] ?? '');
        if (req.operator === 'In' ? !inValues : inValues) return false;
        break;
      }
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) throw new SelectorError(`operator ${req.operator} takes no values`);
        if (has(req.key) !== (req.operator === 'Exists')) return false;
        break;
      default:
        throw new SelectorError(`unknown operator ${JSON.stringify(req.operator)}`);
    }
  }
  return true;
}

/** Throws SelectorError when some requirement of `selector` could never be evaluated. */
export function validateSelector(selector: LabelSelector | undefined): void {
  for (const req of selector?.matchExpressions ?? []) {
    const count = req.values?.length ?? 0;
    if (req.operator === 'In' || req.operator === 'NotIn') {
      if (count === 0) throw new SelectorError(`operator ${req.operator} needs values`);
    } else if (req.operator === 'Exists' || req.operator === 'DoesNotExist') {
      if (count > 0) throw new SelectorError(`operator ${req.operator} takes no values`);
    } else {
      throw new SelectorError(`unknown operator ${JSON.stringify(req.operator)}`);
    }
  }
}
