import fc from 'fast-check';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { checkGatewayConfiguration } from '../../../src/config/file-config.ts';
import { parseYAML } from '../../../src/config/yaml.ts';
import { fuzzRuns, fuzzSeed } from './corpus.ts';

const RUNS = fuzzRuns(5_000);
const EXAMPLE = new URL('../../../examples/gateway.yaml', import.meta.url);
const VALID = parseYAML(readFileSync(EXAMPLE, 'utf8'), 'examples/gateway.yaml');
const KEY = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,10}$/);
const VALUE = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>;

type Seg = string | number;
function paths(v: unknown, at: Seg[] = [], out: Seg[][] = []): Seg[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...at, k], out);
  return out;
}
function segments(path: string): Seg[] {
  const out: Seg[] = [];
  for (const m of path.matchAll(/\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|([^.[\]]+)/g))
    out.push(m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? (JSON.parse(m[2]) as string) : m[3]);
  return out;
}
function child(v: unknown, s: Seg): unknown {
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
}

/** Mutates a deep copy of the valid example at one random place: replace, delete, or add an unknown field. */
const MUTATED = fc
  .tuple(fc.nat(), fc.integer({ min: 0, max: 2 }), VALUE, KEY)
  .map(([pick, how, value, key]) => {
    const doc = structuredClone(VALID);
    const all = paths(doc);
    const at = all[pick % all.length];
    if (at.length === 0) return how === 0 ? value : doc;
    const parent = at.slice(0, -1).reduce(child, doc) as Record<string, unknown> | unknown[];
    const last = at[at.length - 1];
    if (how === 0) (parent as Record<Seg, unknown>)[last] = value;
    else if (how === 1 && Array.isArray(parent)) parent.splice(Number(last), 1);
    else if (how === 1) delete (parent as Record<string, unknown>)[last as string];
    else if (at.length > 0)
      (parent as Record<Seg, unknown>)[last] = { ...(child(parent, last) as object), [key]: value };
    return doc;
  });

test('config: the example is valid (the fuzzer mutates a config that passes)', () => {
  assert.deepEqual(checkGatewayConfiguration(VALID), []);
});

test('config: validation of mutated valid configs never throws; each issue names a field under an existing parent', () => {
  fc.assert(
    fc.property(MUTATED, (doc) => {
      const issues = checkGatewayConfiguration(doc);
      for (const i of issues) {
        assert.ok(i.path.length > 0 && i.message.length > 0, JSON.stringify(i));
        if (i.path === '(document)') continue;
        const segs = segments(i.path);
        // Every segment but the last exists in the input; the last may be the missing (required) field.
        let v: unknown = doc;
        for (const s of segs.slice(0, -1)) {
          v = child(v, s);
          assert.notEqual(v, undefined, `${i.path}: ${i.message} — no ${String(s)} in the input`);
        }
      }
    }),
    { numRuns: RUNS, seed: fuzzSeed() },
  );
});

test('config: validation of arbitrary JSON-ish values never throws and returns issues with paths and messages', () => {
  fc.assert(
    fc.property(fc.oneof(VALUE, fc.anything({ maxDepth: 3 })), (doc) => {
      for (const i of checkGatewayConfiguration(doc)) {
        assert.equal(typeof i.path, 'string');
        assert.ok(i.path.length > 0 && i.message.length > 0, JSON.stringify(i));
      }
    }),
    { numRuns: RUNS, seed: fuzzSeed() },
  );
});
