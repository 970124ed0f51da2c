/** One thing wrong with a configuration: the exact field and why. */
export interface ConfigIssue {
  /** Field path, e.g. `clusters[0].rules[2].match.verbs`; `(document)` for the whole. */
  path: string;
  message: string;
}

/** A configuration was rejected; `issues` lists every problem found, each with its field path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], source?: string) {
    const lines = issues.map((i) => `${i.path}: ${i.message}`);
    super(
      (source ? `${source}: ` : '') +
        (lines.length === 1 ? lines[0] : `${lines.length} problems:\n  ${lines.join('\n  ')}`),
    );
    this.issues = issues;
  }

  /** The first issue's field (kept for callers that only report one). */
  get field(): string {
    return this.issues[0]?.path ?? '(document)';
  }
}

/** `/clusters/0/rules/1/match` → `clusters[0].rules[1].match`. */
export function fieldPath(pointer: string, prefix = ''): string {
  let out = prefix;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : joinProperty(out, seg).slice(out.length);
  }
  return out === '' ? '(document)' : out;
}

/** `a.b` + a property name; a name that is empty or has `.`, `[`, `]` is quoted (`a["x.y"]`) so the path stays readable. */
export function joinProperty(path: string, name: string): string {
  if (name !== '' && !/[.[\]"]/.test(name)) return join(path, name);
  return (path === '(document)' ? '' : path) + `[${JSON.stringify(name)}]`;
}

/** `a.b` + `c` → `a.b.c`, skipping an empty prefix. */
export function join(path: string, field: string): string {
  if (path === '' || path === '(document)') return field;
  return field.startsWith('[') ? path + field : `${path}.${field}`;
}
