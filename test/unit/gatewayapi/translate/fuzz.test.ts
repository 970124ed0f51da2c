// Totality: translate never throws, whatever the objects look like, and always answers a
// JSON-serialisable output. Inputs are the golden inputs, mutated at random places (a value
// replaced by arbitrary JSON, a field or list entry deleted, an unknown field added) or truncated.

import fc from 'fast-check';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { caseNames, loadInput } from './golden-cases.ts';

const RUNS =
  Number.isInteger(Number(process.env.FUZZ_RUNS)) && Number(process.env.FUZZ_RUNS) > 0
    ? Number(process.env.FUZZ_RUNS)
    : 2000;
const SEED = Number.isInteger(Number(process.env.FUZZ_SEED)) ? Number(process.env.FUZZ_SEED) : undefined;

const INPUTS = caseNames().map(loadInput);
const VALUE = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<unknown>;
const KEY = fc.stringMatching(/^[A-Za-z][A-Za-z0-9.]{0,10}$/);

type Seg = string | number;
function paths(v: unknown, at: Seg[] = [], out: Seg[][] = []): Seg[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object')
    for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...at, k], out);
  return out;
}
function child(v: unknown, s: Seg): unknown {
  return v !== null && typeof v === 'object' ? (v as Record<Seg, unknown>)[s] : undefined;
}

/** One mutation of a deep copy of `input`: replace, delete, add a field, or truncate a list. */
function mutate(input: TranslateInput, pick: number, how: number, value: unknown, key: string): unknown {
  const doc = structuredClone(input) as unknown as Record<string, unknown>;
  const all = paths(doc).filter((p) => p.length > 0);
  const at = all[pick % all.length];
  const parent = at.slice(0, -1).reduce(child, doc) as Record<Seg, unknown>;
  const last = at[at.length - 1];
  if (how === 0) parent[last] = value;
  else if (how === 1 && Array.isArray(parent)) parent.splice(Number(last), 1);
  else if (how === 1) delete parent[last];
  else if (how === 2) parent[last] = { ...(child(parent, last) as object), [key]: value };
  else if (Array.isArray(child(parent, last))) (child(parent, last) as unknown[]).length = pick % 3;
  else parent[last] = undefined;
  return doc;
}

const MUTATED = fc
  .tuple(
    fc.nat({ max: INPUTS.length - 1 }),
    fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), VALUE, KEY), { minLength: 1, maxLength: 4 }),
  )
  .map(([which, steps]) =>
    steps.reduce<unknown>(
      (doc, [pick, how, value, key]) => mutate(doc as TranslateInput, pick, how, value, key),
      INPUTS[which],
    ),
  );

function assertTotal(input: unknown): void {
  const output = translate(input as TranslateInput);
  const text = JSON.stringify(output);
  assert.equal(typeof text, 'string');
  assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(output)));
  for (const field of ['gatewayClasses', 'gateways', 'httpRoutes'] as const)
    assert.ok(Array.isArray(output[field]));
  assert.ok(Object.isFrozen(output.ir) && Array.isArray(output.ir.ports));
}

test('translate of mutated golden inputs never throws and answers JSON-serialisable output', () => {
  fc.assert(fc.property(MUTATED, assertTotal), { numRuns: RUNS, seed: SEED });
});

test('translate of arbitrary values in place of the input or its lists never throws', () => {
  const lists = [
    'gatewayClasses',
    'gateways',
    'httpRoutes',
    'grpcRoutes',
    'referenceGrants',
    'services',
    'endpointSlices',
    'secrets',
    'namespaces',
  ];
  const ARB = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record(
      Object.fromEntries(lists.map((k) => [k, fc.array(fc.anything({ maxDepth: 4 }), { maxLength: 4 })])),
    ),
  );
  fc.assert(fc.property(ARB, assertTotal), { numRuns: Math.ceil(RUNS / 3), seed: SEED });
  for (const odd of [null, undefined, 0, 'x', [], {}, { gateways: 'x', httpRoutes: [null] }])
    assertTotal(odd);
});
