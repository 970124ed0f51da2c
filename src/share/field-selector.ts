import { SelectorNotEvaluable } from './label-selector.ts';

/** The fields of an object a field selector can name here (every resource has these two). */
export interface ObjectFields {
  readonly name: string;
  readonly namespace: string;
}

interface Term {
  readonly field: 'metadata.name' | 'metadata.namespace';
  readonly equal: boolean;
  readonly value: string;
}

/** A parsed field selector: every term must hold. */
export class FieldSelector {
  readonly #terms: readonly Term[];

  constructor(terms: readonly Term[]) {
    this.#terms = terms;
  }

  /** Whether a term names `metadata.namespace` (which only namespaced resources support). */
  get namesNamespace(): boolean {
    return this.#terms.some((t) => t.field === 'metadata.namespace');
  }

  matches(o: ObjectFields): boolean {
    for (const t of this.#terms) {
      const v = t.field === 'metadata.name' ? o.name : o.namespace;
      if ((v === t.value) !== t.equal) return false;
    }
    return true;
  }
}

/**
 * Parses a field selector as k8s.io/apimachinery `fields.ParseSelector` does, for the fields
 * every resource supports (`metadata.name`, `metadata.namespace`) with `=`, `==` and `!=`.
 * Other fields (`spec.nodeName`, `status.phase`…: each resource converts its own, and rejects the
 * rest with a 400) and escaped characters throw `SelectorNotEvaluable`: the list is forwarded.
 */
export function parseFieldSelector(s: string): FieldSelector {
  const terms: Term[] = [];
  if (s === '') return new FieldSelector(terms);
  if (s.includes('\\')) throw new SelectorNotEvaluable(`field selector ${JSON.stringify(s)}`);
  for (const part of s.split(',')) {
    let op = '';
    let at = -1;
    // fields.splitTerm: at each position, the first of "!=", "==", "=" that starts there.
    for (let i = 0; i < part.length && at < 0; i++) {
      for (const o of ['!=', '==', '=']) {
        if (part.startsWith(o, i)) {
          op = o;
          at = i;
          break;
        }
      }
    }
    if (at < 0) throw new SelectorNotEvaluable(`field selector ${JSON.stringify(s)}`);
    const field = part.slice(0, at);
    const value = part.slice(at + op.length);
    if (field !== 'metadata.name' && field !== 'metadata.namespace')
      throw new SelectorNotEvaluable(`field selector ${JSON.stringify(s)}`);
    // A value that holds another operator is left to the apiserver's parser.
    if (value.includes('=')) throw new SelectorNotEvaluable(`field selector ${JSON.stringify(s)}`);
    terms.push({ field, equal: op !== '!=', value });
  }
  return new FieldSelector(terms);
}
