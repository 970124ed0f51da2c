import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffRuleset, diffTable } from '../../../../src/node/nft/diff.ts';
import type { NftTable } from '../../../../src/node/nft/model.ts';

const base: NftTable = {
  family: 'ip',
  name: 'kubegate-x',
  sets: [
    { name: 'vm', key: 'ipv4_addr', value: 'verdict', elements: [['10.0.0.1', 'goto a']] },
    {
      name: 'dyn',
      key: 'ip saddr',
      typeof: true,
      flags: ['dynamic', 'timeout'],
      timeoutSeconds: 60,
      elements: [],
    },
  ],
  chains: [
    { name: 'h', hook: { type: 'nat', hook: 'prerouting', priority: -100 }, rules: ['ip daddr vmap @vm'] },
    { name: 'a', rules: ['accept'] },
  ],
};

test('no change is an empty transaction', () => {
  const d = diffRuleset(new Map([['ip kubegate-x', base]]), [base]);
  assert.equal(d.script, '');
});

test('a map value moving to a new chain: declare the chain, delete the element, add rules, add the element, delete the old chain', () => {
  const next: NftTable = {
    ...base,
    sets: [{ ...base.sets[0]!, elements: [['10.0.0.1', 'goto b']] }, base.sets[1]!],
    chains: [base.chains[0]!, { name: 'b', rules: ['drop'] }],
  };
  const c = diffTable(base, next);
  assert.deepEqual(c.lines, [
    'add chain ip kubegate-x b {  }',
    'delete element ip kubegate-x vm { 10.0.0.1 }',
    'add rule ip kubegate-x b drop',
    'flush chain ip kubegate-x a',
    'add element ip kubegate-x vm { 10.0.0.1 : goto b }',
    'delete chain ip kubegate-x a',
  ]);
  assert.equal(c.elementOps, 2);
  assert.equal(c.replaced, false);
});

test('a changed set declaration or chain hook replaces the table whole', () => {
  const changedSet = { ...base, sets: [{ ...base.sets[0]!, flags: ['interval' as const] }, base.sets[1]!] };
  assert.equal(diffTable(base, changedSet).replaced, true);
  const changedHook = {
    ...base,
    chains: [
      { ...base.chains[0]!, hook: { type: 'nat' as const, hook: 'prerouting' as const, priority: -99 } },
      base.chains[1]!,
    ],
  };
  const c = diffTable(base, changedHook);
  assert.equal(c.replaced, true);
  assert.equal(c.lines[0], 'add table ip kubegate-x');
  assert.equal(c.lines[1], 'delete table ip kubegate-x');
});

test('elements of a dynamic set are the kernel’s: never added or deleted by a sync', () => {
  const last = { ...base, sets: [base.sets[0]!, { ...base.sets[1]!, elements: ['10.1.1.1'] }] };
  assert.equal(diffRuleset(new Map([['ip kubegate-x', last]]), [base]).script, '');
});

test('a table no longer wanted is deleted; a new one is written whole', () => {
  const other: NftTable = { ...base, family: 'ip6' };
  const d = diffRuleset(new Map([['ip kubegate-x', base]]), [other]);
  assert.match(d.script, /^add table ip6 kubegate-x$/m);
  assert.match(d.script, /^delete table ip kubegate-x$/m);
  assert.equal(d.tablesReplaced, 1);
});
