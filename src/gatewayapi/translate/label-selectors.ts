import { arr, rec, str, strs } from './read.ts';

/** Does a Kubernetes label selector (matchLabels and matchExpressions) select `labels`? */
export function selects(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  const s = rec(selector);
  for (const [k, v] of Object.entries(rec(s.matchLabels)))
    if (typeof v !== 'string' || labels[k] !== v) return false;
  for (const raw of arr(s.matchExpressions)) {
    const e = rec(raw);
    const key = str(e.key);
    if (key === undefined) return false;
    const present = Object.hasOwn(labels, key);
    const values = strs(e.values);
    switch (str(e.operator)) {
      case 'In':
        if (!present || !values.includes(labels[key])) return false;
        break;
      case 'NotIn':
        if (present && values.includes(labels[key])) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false; // an unknown operator selects nothing
    }
  }
  return true;
}
