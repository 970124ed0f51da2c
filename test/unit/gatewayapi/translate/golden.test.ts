// Golden cases: testdata/<case>.in.yaml (the objects) → testdata/<case>.out.yaml (the whole
// TranslateOutput). KUBEGATE_UPDATE_GOLDEN=1 rewrites the .out.yaml files; review the diff by eye.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { format, resolveConfig } from 'prettier';
import { parse, stringify } from 'yaml';
import type { TranslateInput } from '../../../../src/gatewayapi/translate/index.ts';
import { translate } from '../../../../src/gatewayapi/translate/index.ts';
import { TESTDATA, caseNames, loadInput } from './golden-cases.ts';

const UPDATE = process.env.KUBEGATE_UPDATE_GOLDEN === '1';

function isDeeplyFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeeplyFrozen);
}

/** The same objects in the opposite order, list by list. */
function reversed(input: TranslateInput): TranslateInput {
  const out = { ...input };
  for (const [k, v] of Object.entries(input))
    if (Array.isArray(v)) (out as Record<string, unknown>)[k] = [...v].reverse();
  return out;
}

test('there are at least 20 golden cases', () => {
  assert.ok(caseNames().length >= 20, `only ${caseNames().length} cases`);
});

for (const name of caseNames()) {
  test(`translate gives the reviewed output for ${name}`, async () => {
    const input = loadInput(name);
    const output = translate(input);
    const file = new URL(`${name}.out.yaml`, TESTDATA);
    const text = stringify(output, { lineWidth: 0, aliasDuplicateObjects: false });
    // Written the way the repository's prettier check wants it (the comparison below is on data).
    if (UPDATE) writeFileSync(file, await format(text, { ...(await resolveConfig(file)), parser: 'yaml' }));
    assert.ok(existsSync(file), `no ${name}.out.yaml: run with KUBEGATE_UPDATE_GOLDEN=1 and review it`);
    assert.deepEqual(JSON.parse(JSON.stringify(output)), parse(readFileSync(file, 'utf8')));
  });

  test(`translate of ${name} is deterministic, order-independent and freezes the IR`, () => {
    const input = loadInput(name);
    const first = translate(input);
    assert.ok(isDeeplyFrozen(first.ir), 'the IR is deeply frozen');
    assert.deepEqual(translate(input), first);
    assert.deepEqual(translate(reversed(input)), first);
  });
}
