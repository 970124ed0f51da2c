// The element diff skips the equal head and tail of two element lists and compares the rest by
// key: the same operations as a whole comparison by key, whatever the order or the change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffTable } from '../../../../src/node/nft/diff.ts';
import type { NftTable } from '../../../../src/node/nft/model.ts';

type Pair = readonly [string, string];

function table(elements: readonly Pair[]): NftTable {
  return {
    family: 'ip',
    name: 'kubegate-x',
    sets: [{ name: 'm', key: 'ipv4_addr', value: 'ipv4_addr', elements }],
    chains: [],
  };
}

/** Deletes and adds as a comparison of the whole lists by key would give them. */
function byKey(before: readonly Pair[], now: readonly Pair[]): { dels: string[]; adds: string[] } {
  const was = new Map(before);
  const is = new Map(now);
  return {
    dels: [...was].filter(([k, v]) => is.get(k) !== v).map(([k]) => k),
    adds: [...is].filter(([k, v]) => was.get(k) !== v).map(([k, v]) => `${k} : ${v}`),
  };
}

function operations(before: readonly Pair[], now: readonly Pair[]): { dels: string[]; adds: string[] } {
  const c = diffTable(table(before), table(now));
  const items = (verb: string) =>
    c.lines
      .filter((l) => l.startsWith(`${verb} element`))
      .flatMap((l) => l.slice(l.indexOf('{ ') + 2, l.lastIndexOf(' }')).split(', '));
  return { dels: items('delete'), adds: items('add') };
}

const sorted = (o: { dels: string[]; adds: string[] }) => ({
  dels: [...o.dels].sort(),
  adds: [...o.adds].sort(),
});

test('one element changed in the middle of a long set is one delete and one add', () => {
  const before: Pair[] = Array.from({ length: 1000 }, (_, i) => [`10.96.${i >> 8}.${i & 255}`, '10.244.0.2']);
  const now = before.map((p, i): Pair => (i === 500 ? [p[0], '10.244.0.3'] : p));
  assert.deepEqual(operations(before, now), { dels: ['10.96.1.244'], adds: ['10.96.1.244 : 10.244.0.3'] });
});

test('elements moved to another position but unchanged need no operation', () => {
  const before: Pair[] = [
    ['10.0.0.1', '1.1.1.1'],
    ['10.0.0.2', '1.1.1.2'],
    ['10.0.0.3', '1.1.1.3'],
  ];
  assert.deepEqual(operations(before, [before[2]!, before[0]!, before[1]!]), { dels: [], adds: [] });
});

test('random changes give the same operations as a comparison by key', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 300; round++) {
    const keys = Array.from({ length: rand(30) }, (_, i) => `10.0.${round}.${i}`);
    const before: Pair[] = keys.map((k) => [k, `1.1.1.${rand(3)}`]);
    let now: Pair[] = before
      .filter(() => rand(6) !== 0)
      .map((p): Pair => (rand(5) === 0 ? [p[0], `1.1.1.${rand(3)}`] : p));
    for (let i = rand(4); i > 0; i--) now.splice(rand(now.length + 1), 0, [`10.1.${round}.${i}`, '2.2.2.2']);
    if (rand(4) === 0) now = now.reverse();
    assert.deepEqual(sorted(operations(before, now)), sorted(byKey(before, now)), `round ${round}`);
  }
});
