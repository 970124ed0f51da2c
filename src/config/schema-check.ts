import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Settings } from 'typebox/system';
import { fieldPath, joinProperty, type ConfigIssue } from './issues.ts';

// Report every problem in one pass, not the first eight.
Settings.Set({ maxErrors: 10_000 });

interface RawError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/** A compiled schema that reports problems as `ConfigIssue`s with field paths. */
export class SchemaCheck<T> {
  readonly #schema: TSchema;
  readonly #compiled: ReturnType<typeof Compile>;

  constructor(schema: TSchema) {
    this.#schema = schema;
    this.#compiled = Compile(schema);
  }

  /** The issues of `value`, empty when it conforms; `prefix` is prepended to every path. */
  check(value: unknown, prefix = ''): ConfigIssue[] {
    if (this.#compiled.Check(value)) return [];
    const raw = [...this.#compiled.Errors(value)] as RawError[];
    return this.#format(raw, prefix);
  }

  /**
   * `value` as `T` when it conforms, else null with every problem appended to `issues`: one pass of
   * the compiled check where `check` followed by `is` takes two.
   */
  accept(value: unknown, issues: ConfigIssue[], prefix = ''): T | null {
    if (this.#compiled.Check(value)) return value as T;
    issues.push(...this.#format([...this.#compiled.Errors(value)] as RawError[], prefix));
    return null;
  }

  /** Narrowing form of `check`. */
  is(value: unknown): value is T {
    return this.#compiled.Check(value);
  }

  #format(errors: RawError[], prefix: string): ConfigIssue[] {
    const out: ConfigIssue[] = [];
    const seen = new Set<string>();
    const add = (path: string, message: string) => {
      const key = `${path}\0${message}`;
      if (seen.has(key)) return;
      seen.add(key);
      out.push({ path, message });
    };
    // Literal unions fail as one `const` error per member plus an `anyOf`: fold them into one line.
    const choices = new Map<string, unknown[]>();
    for (const e of errors)
      if (e.keyword === 'const' && /\/anyOf\/\d+$/.test(e.schemaPath)) {
        const key = e.schemaPath.replace(/\/anyOf\/\d+$/, '') + '\0' + e.instancePath;
        const list = choices.get(key) ?? [];
        list.push(e.params.allowedValue);
        choices.set(key, list);
      }
    for (const e of errors) {
      const path = fieldPath(e.instancePath, prefix);
      switch (e.keyword) {
        case 'boolean': // "schema is false" for an unknown field; reported below by additionalProperties
          break;
        case 'additionalProperties': {
          const known = Object.keys(this.#at(e.schemaPath)?.properties ?? {});
          for (const name of (e.params.additionalProperties as string[] | undefined) ?? [])
            add(
              joinProperty(path, name),
              `unknown field${known.length ? ` (known: ${known.join(', ')})` : ''}`,
            );
          break;
        }
        case 'required':
          for (const name of (e.params.requiredProperties as string[] | undefined) ?? [])
            add(joinProperty(path, name), 'required');
          break;
        case 'const': {
          const key = e.schemaPath.replace(/\/anyOf\/\d+$/, '') + '\0' + e.instancePath;
          const list = choices.get(key);
          if (list) add(path, `must be one of ${list.map((v) => JSON.stringify(v)).join(', ')}`);
          else add(path, `must be ${JSON.stringify(e.params.allowedValue)}`);
          break;
        }
        case 'anyOf':
          if (![...choices.keys()].some((k) => k.endsWith(`\0${e.instancePath}`)))
            add(path, 'does not match any allowed form');
          break;
        case 'pattern': {
          const d = this.#at(e.schemaPath)?.description;
          add(path, d ? `must be ${d}` : `must match ${String(e.params.pattern)}`);
          break;
        }
        case 'type':
          add(path, `must be ${article(String(e.params.type))}`);
          break;
        default:
          add(path, e.message);
      }
    }
    return out;
  }

  /** The sub-schema a JSON pointer like `#/properties/a/items` names. */
  #at(
    pointer: string,
  ): (TSchema & { properties?: Record<string, unknown>; description?: string }) | undefined {
    let node: unknown = this.#schema;
    for (const seg of pointer.replace(/^#\/?/, '').split('/')) {
      if (seg === '') continue;
      if (typeof node !== 'object' || node === null) return undefined;
      node = (node as Record<string, unknown>)[seg];
    }
    return node as TSchema & { properties?: Record<string, unknown>; description?: string };
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
