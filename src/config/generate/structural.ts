/** A JSON-schema node as TypeBox emits it (a plain object once serialized). */
type Node = Record<string, unknown>;

/**
 * TypeBox's JSON Schema → a Kubernetes structural OpenAPI v3 schema: literal unions become `enum`,
 * numeric `exclusiveMinimum: X` becomes `minimum: X` + `exclusiveMinimum: true`, and
 * `additionalProperties: false` is dropped (the apiserver prunes or, with kubectl's strict field
 * validation, refuses unknown fields instead).
 */
export function toStructural(schema: unknown): Node {
  const n = JSON.parse(JSON.stringify(schema)) as Node;
  return convert(n);
}

function convert(n: Node): Node {
  const out: Node = {};
  const anyOf = n.anyOf as Node[] | undefined;
  if (anyOf && anyOf.every((m) => 'const' in m)) {
    out.type = typeof anyOf[0].const === 'number' ? 'number' : 'string';
    out.enum = anyOf.map((m) => m.const);
    if (n.description) out.description = n.description;
    return out;
  }
  for (const [k, v] of Object.entries(n)) {
    switch (k) {
      case 'additionalProperties':
        if (typeof v === 'object') out[k] = convert(v as Node);
        break;
      case 'const':
        out.enum = [v];
        break;
      case 'exclusiveMinimum':
        out.minimum = v;
        out.exclusiveMinimum = true;
        break;
      case 'exclusiveMaximum':
        out.maximum = v;
        out.exclusiveMaximum = true;
        break;
      case 'properties':
        out[k] = Object.fromEntries(Object.entries(v as Node).map(([p, s]) => [p, convert(s as Node)]));
        break;
      case 'items':
        out[k] = convert(v as Node);
        break;
      case '$id':
      case '$schema':
        break;
      default:
        out[k] = v;
    }
  }
  return out;
}
