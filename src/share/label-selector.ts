/** A selector the gateway cannot evaluate exactly as kube-apiserver does: the list is forwarded. */
export class SelectorNotEvaluable extends Error {
  override name = 'SelectorNotEvaluable';
  readonly code = 'KG_SELECTOR_NOT_EVALUABLE';
}

type Operator = 'in' | 'notin' | 'exists' | '!';

/** One requirement of a label selector (k8s.io/apimachinery/pkg/labels.Requirement). */
interface Requirement {
  readonly key: string;
  readonly op: Operator;
  readonly values: ReadonlySet<string>;
}

/** A parsed label selector: every requirement must hold. */
export interface LabelSelector {
  matches(labels: Readonly<Record<string, string>> | undefined): boolean;
}

// A label value, and a label key's name part: at most 63 characters, alphanumeric at both ends.
const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// What the apiserver's lexer reads as one identifier; anything else here is left to it.
const IDENTIFIER = /^[A-Za-z0-9._/-]+$/;
// The lexer's keywords: never a key or a value.
const KEYWORDS = new Set(['in', 'notin']);

function validKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return NAME.test(key);
  const prefix = key.slice(0, slash);
  return prefix.length <= 253 && DNS_SUBDOMAIN.test(prefix) && NAME.test(key.slice(slash + 1));
}

function validValue(v: string): boolean {
  return v === '' || NAME.test(v);
}

/**
 * Splits a selector into the apiserver lexer's tokens: identifiers, and the symbols `!`, `=`,
 * `==`, `!=`, `(`, `)`, `,`. `<`, `>` (numeric comparisons) and any character the apiserver
 * would read differently throw: such a list is forwarded.
 */
function tokens(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '=' || c === '!') {
      if (s[i + 1] === '=') {
        out.push(c + '=');
        i += 2;
      } else {
        out.push(c);
        i++;
      }
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push(c);
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !' \t\n\r=!(),<>'.includes(s[j])) j++;
    const id = s.slice(i, j);
    if (id === '' || !IDENTIFIER.test(id))
      throw new SelectorNotEvaluable(`label selector ${JSON.stringify(s)}`);
    out.push(id);
    i = j;
  }
  return out;
}

/**
 * Parses a label selector as k8s.io/apimachinery `labels.Parse` does for `=`, `==`, `!=`, `in`,
 * `notin`, `key` and `!key`; anything else — numeric `<`/`>`, a key or value the apiserver
 * rejects, odd syntax — throws `SelectorNotEvaluable` (the list is forwarded and the apiserver
 * gives its own answer, a 400 for an invalid selector).
 */
export function parseLabelSelector(s: string): LabelSelector {
  const t = tokens(s);
  const reqs: Requirement[] = [];
  let i = 0;
  const fail = (): never => {
    throw new SelectorNotEvaluable(`label selector ${JSON.stringify(s)}`);
  };
  const isWord = (x: string | undefined): x is string => x !== undefined && !'=!(),'.includes(x[0]);
  while (i < t.length) {
    if (t[i] === '!') {
      const key = t[i + 1];
      if (!isWord(key) || KEYWORDS.has(key) || !validKey(key)) fail();
      reqs.push({ key: key!, op: '!', values: new Set() });
      i += 2;
    } else {
      const key = t[i];
      if (!isWord(key) || KEYWORDS.has(key) || !validKey(key)) fail();
      const op = t[i + 1];
      if (op === undefined || op === ',') {
        reqs.push({ key, op: 'exists', values: new Set() });
        i += 1;
      } else if (op === '=' || op === '==' || op === '!=') {
        let value = '';
        i += 2;
        if (isWord(t[i])) value = t[i++];
        if (KEYWORDS.has(value) || !validValue(value)) fail();
        reqs.push({ key, op: op === '!=' ? 'notin' : 'in', values: new Set([value]) });
      } else if (op === 'in' || op === 'notin') {
        if (t[i + 2] !== '(') fail();
        i += 3;
        const values = new Set<string>();
        for (;;) {
          const v = isWord(t[i]) ? t[i++] : '';
          // An empty member (`in ()`, `in (a,)`) is left to the apiserver.
          if (v === '' || KEYWORDS.has(v) || !validValue(v)) fail();
          values.add(v);
          if (t[i] === ',') i++;
          else if (t[i] === ')') break;
          else fail();
        }
        i++;
        reqs.push({ key, op, values });
      } else fail();
    }
    if (i < t.length) {
      if (t[i] !== ',' || i === t.length - 1) fail();
      i++;
    }
  }
  return new Selector(reqs);
}

class Selector implements LabelSelector {
  readonly #reqs: readonly Requirement[];

  constructor(reqs: readonly Requirement[]) {
    this.#reqs = reqs;
  }

  matches(labels: Readonly<Record<string, string>> | undefined): boolean {
    for (const r of this.#reqs) {
      const has = labels !== undefined && Object.hasOwn(labels, r.key);
      switch (r.op) {
        case 'exists':
          if (!has) return false;
          break;
        case '!':
          if (has) return false;
          break;
        case 'in':
          if (!has || !r.values.has(labels[r.key])) return false;
          break;
        case 'notin':
          if (has && r.values.has(labels[r.key])) return false;
          break;
      }
    }
    return true;
  }
}
