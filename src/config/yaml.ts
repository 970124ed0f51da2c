import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import { ConfigError } from './issues.ts';

// The configuration file is read with js-yaml rather than `yaml`: on the 1000-rule file of the
// reload bench (226 KB) js-yaml takes ~12 ms where `yaml`'s document model took ~200 ms, and a live
// reload pays that on the event loop that serves requests. CORE_SCHEMA is YAML 1.2's core schema,
// what `yaml` reads by default: no timestamps, no `<<` merge keys, `yes` is a string. Aliases are
// capped as `yaml` caps them (maxAliasCount 100), so a nested-alias "billion laughs" document cannot
// make the schema check walk an exponential tree.
const OPTIONS = { schema: CORE_SCHEMA, maxAliases: 100 };

/** Parses YAML text into one document (null when it holds none); a syntax error is a `ConfigError` with the line. */
export function parseYAML(text: string, source: string): unknown {
  let docs: unknown[];
  try {
    docs = loadAll(text, OPTIONS);
  } catch (err) {
    if (!(err instanceof YAMLException)) throw err;
    const at = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : '';
    throw new ConfigError([{ path: '(document)', message: `not valid YAML: ${err.reason}${at}` }], source);
  }
  if (docs.length > 1)
    throw new ConfigError(
      [
        {
          path: '(document)',
          message: `not valid YAML: the file holds ${docs.length} documents; a configuration is one`,
        },
      ],
      source,
    );
  return docs[0] ?? null;
}
