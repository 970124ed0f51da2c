// Golden cases: testdata/<case>.in.yaml (a PolicyInput) → testdata/<case>.out.nft (the `nft -f`
// script of the compiled table, then the problems as comments). KUBEGATE_UPDATE_GOLDEN=1 rewrites
// the .out.nft files; review the diff by eye.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { addNetns, deleteNetns, runCommand } from '../../../../src/dev/lab/index.ts';
import { renderTables } from '../../../../src/node/nft/render.ts';
import { networkPolicyTables, type PolicyInput } from '../../../../src/node/policy/index.ts';

const UPDATE = process.env.KUBEGATE_UPDATE_GOLDEN === '1';
const TESTDATA = new URL('./testdata/', import.meta.url);
const cases = readdirSync(TESTDATA)
  .filter((f) => f.endsWith('.in.yaml'))
  .map((f) => f.slice(0, -'.in.yaml'.length));

function output(input: PolicyInput): string {
  const { tables, problems } = networkPolicyTables(input);
  const notes = problems.map(
    (p) => `# problem: ${p.object.kind} ${p.object.namespace}/${p.object.name} ${p.field}: ${p.message}\n`,
  );
  return renderTables(tables) + notes.join('');
}

function reversed(input: PolicyInput): PolicyInput {
  return {
    ...input,
    pods: [...input.pods].reverse(),
    namespaces: [...input.namespaces].reverse(),
    networkPolicies: [...input.networkPolicies].reverse(),
  };
}

for (const name of cases) {
  test(`the compiled table for ${name} is the reviewed one, whatever the order of the objects`, () => {
    const input = parse(readFileSync(new URL(`${name}.in.yaml`, TESTDATA), 'utf8')) as PolicyInput;
    const file = new URL(`${name}.out.nft`, TESTDATA);
    const text = output(input);
    if (UPDATE) writeFileSync(file, text);
    assert.ok(existsSync(file), `no ${name}.out.nft: run with KUBEGATE_UPDATE_GOLDEN=1 and review it`);
    assert.equal(text, readFileSync(file, 'utf8'));
    assert.equal(output(reversed(input)), text);
  });
}

const root = process.getuid?.() === 0;
const netns = `kgnpg${process.pid.toString(36)}-nft`;
before(async () => {
  if (root) await addNetns(netns);
});
after(async () => {
  if (root) await deleteNetns(netns);
});

test(
  'nft accepts every golden table (in a scratch network namespace)',
  { skip: !root && 'needs root' },
  async () => {
    for (const name of cases) {
      const script = readFileSync(new URL(`${name}.out.nft`, TESTDATA), 'utf8');
      await runCommand('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], script);
    }
  },
);
