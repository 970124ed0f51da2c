// `$(VAR)` expansion with the semantics of Kubernetes' third_party/forked/golang/expansion:
// `$$` is an escaped `$`, `$(NAME)` is replaced by the mapping, an unknown name is left as `$(NAME)`,
// an unterminated `$(` and any other `$x` are copied through unchanged.

export type Mapping = (name: string) => string;

/** Looks a name up in each map in turn; an unknown name expands to itself (`$(NAME)`). */
export function mappingFor(...maps: ReadonlyArray<Readonly<Record<string, string>>>): Mapping {
  return (name) => {
    for (const m of maps) if (Object.hasOwn(m, name)) return m[name];
    return `$(${name})`;
  };
}

export function expand(input: string, mapping: Mapping): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let advance = 1;
    if (rest[0] === '$') {
      out += '$';
    } else if (rest[0] === '(') {
      const close = rest.indexOf(')', 1);
      if (close >= 0) {
        out += mapping(rest.slice(1, close));
        advance = close + 1;
      } else {
        out += '$(';
      }
    } else {
      out += '$' + rest[0];
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
