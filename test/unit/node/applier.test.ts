// The applier against real nft in a namespace of its own: whole tables first, then transactions of
// only the difference; drift is repaired; tables not named kubegate-* are never touched.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Applier, cleanupTables, type AppliedTransaction } from '../../../src/node/nft/apply.ts';
import type { NftTable } from '../../../src/node/nft/model.ts';
import { renderTable } from '../../../src/node/nft/render.ts';
import { createNetns, type TestNetns } from './netns.ts';

const log = pino({ level: 'silent' });
let ns: TestNetns;

before(async () => {
  ns = await createNetns('apply');
  await ns.exec(
    'nft',
    'add table inet foreign { chain c { type filter hook input priority 0; counter accept; }; }',
  );
});
after(async () => ns.delete());

function proxyTable(services: number, endpointsEach = 2): NftTable {
  const vmap: [string, string][] = [];
  const eps: [string, string][] = [];
  for (let s = 0; s < services; s++) {
    const ip = `10.96.${s >> 8}.${s & 255}`;
    vmap.push([`${ip} . tcp . 80`, `goto lb-${endpointsEach}`]);
    for (let e = 0; e < endpointsEach; e++)
      eps.push([`${ip} . tcp . 80 . ${e}`, `10.244.${e}.${(s % 250) + 1} . 8080`]);
  }
  return {
    family: 'ip',
    name: 'kubegate-test',
    sets: [
      { name: 'service-ips', key: 'ipv4_addr . inet_proto . inet_service', value: 'verdict', elements: vmap },
      {
        name: 'endpoints',
        key: 'ip daddr . meta l4proto . th dport . numgen inc mod 1',
        typeof: true,
        value: 'ip daddr . tcp dport',
        elements: eps,
      },
    ],
    chains: [
      { name: 'pre', hook: { type: 'nat', hook: 'prerouting', priority: -100 }, rules: ['jump services'] },
      { name: 'services', rules: ['ip daddr . meta l4proto . th dport vmap @service-ips'] },
      {
        name: `lb-${endpointsEach}`,
        rules: [
          `dnat ip to ip daddr . meta l4proto . th dport . numgen inc mod ${endpointsEach} map @endpoints`,
        ],
      },
    ],
  };
}

async function elements(table: string, set: string): Promise<number> {
  const json = JSON.parse(await ns.exec('nft', '-j', 'list', 'map', 'ip', table, set)) as {
    nftables: { map?: { elem?: unknown[] } }[];
  };
  return json.nftables.find((o) => o.map)?.map?.elem?.length ?? 0;
}

async function foreignIntact(): Promise<void> {
  const text = await ns.exec('nft', 'list', 'table', 'inet', 'foreign');
  assert.match(text, /counter packets \d+ bytes \d+ accept/);
}

test('the first sync replaces the table whole; an endpoint change is one transaction of element operations only', async () => {
  const txs: AppliedTransaction[] = [];
  const applier = new Applier({ log, nft: ns.nft, driftCheckMs: 0, onTransaction: (t) => txs.push(t) });
  try {
    await applier.apply({ tables: [proxyTable(100)] });
    assert.equal(txs.length, 1);
    assert.equal(txs[0]!.kind, 'full');
    assert.equal(txs[0]!.reason, 'start');
    assert.equal(await elements('kubegate-test', 'endpoints'), 200);

    const next = proxyTable(100);
    const eps = next.sets[1]!.elements as [string, string][];
    eps[7] = [eps[7]![0], '10.244.9.9 . 8080'];
    await applier.apply({ tables: [next] });
    assert.equal(txs.length, 2);
    const tx = txs[1]!;
    assert.equal(tx.kind, 'incremental');
    assert.equal(tx.elementOps, 2);
    const lines = tx.script.trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['delete element', 'add element'],
      tx.script,
    );
    const listed = await ns.exec('nft', 'list', 'map', 'ip', 'kubegate-test', 'endpoints');
    assert.match(listed, /10\.244\.9\.9 \. 8080/);
    await foreignIntact();
  } finally {
    await applier.close();
  }
});

test('a burst of desired states within the coalescing window is one transaction', async () => {
  const txs: AppliedTransaction[] = [];
  const applier = new Applier({
    log,
    nft: ns.nft,
    driftCheckMs: 0,
    coalesceMs: 30,
    onTransaction: (t) => txs.push(t),
  });
  try {
    await applier.apply({ tables: [proxyTable(10)] });
    const burst = [11, 12, 13, 14].map((n) => applier.apply({ tables: [proxyTable(n)] }));
    await Promise.all(burst);
    assert.equal(txs.length, 2, 'one full replace, then one transaction for the burst');
    assert.equal(txs[1]!.kind, 'incremental');
    assert.equal(txs[1]!.elementOps, 4 * 3, 'four services, each a vmap element and two endpoints');
    assert.equal(await elements('kubegate-test', 'service-ips'), 14);
  } finally {
    await applier.close();
  }
});

test('a changed chain is flushed and rewritten; new and removed chains and sets are added and deleted in the same transaction', async () => {
  const txs: AppliedTransaction[] = [];
  const applier = new Applier({ log, nft: ns.nft, driftCheckMs: 0, onTransaction: (t) => txs.push(t) });
  try {
    await applier.apply({ tables: [proxyTable(5, 2)] });
    await applier.apply({ tables: [proxyTable(5, 3)] });
    assert.equal(txs.at(-1)!.kind, 'incremental');
    assert.match(txs.at(-1)!.script, /^add chain ip kubegate-test lb-3/m);
    assert.match(txs.at(-1)!.script, /^delete chain ip kubegate-test lb-2/m);
    const listed = await ns.exec('nft', 'list', 'table', 'ip', 'kubegate-test');
    assert.match(listed, /chain lb-3/);
    assert.doesNotMatch(listed, /chain lb-2/);
  } finally {
    await applier.close();
  }
});

test('drift (an element deleted, a chain flushed by someone else) is found by the read-back and repaired', async () => {
  const txs: AppliedTransaction[] = [];
  let repaired: readonly string[] = [];
  const applier = new Applier({
    log,
    nft: ns.nft,
    driftCheckMs: 0,
    onTransaction: (t) => txs.push(t),
    onDriftRepaired: (p) => (repaired = p),
  });
  try {
    await applier.apply({ tables: [proxyTable(20)] });
    assert.deepEqual(await applier.checkDrift(), [], 'no drift right after applying');
    await ns.exec('nft', 'delete element ip kubegate-test service-ips { 10.96.0.3 . tcp . 80 }');
    await ns.exec('nft', 'flush chain ip kubegate-test services');
    const found = await applier.checkDrift();
    assert.equal(found.length, 2, found.join('\n'));
    assert.deepEqual(repaired, found);
    assert.equal(txs.at(-1)!.kind, 'full');
    assert.equal(txs.at(-1)!.reason, 'drift');
    assert.equal(await elements('kubegate-test', 'service-ips'), 20);
    assert.deepEqual(await applier.checkDrift(), []);
    await foreignIntact();
  } finally {
    await applier.close();
  }
});

test('a failed incremental transaction is followed by a whole replace that succeeds', async () => {
  const txs: AppliedTransaction[] = [];
  const applier = new Applier({ log, nft: ns.nft, driftCheckMs: 0, onTransaction: (t) => txs.push(t) });
  try {
    await applier.apply({ tables: [proxyTable(5)] });
    // Someone deletes an element the applier will delete too: its delete fails, the replace works.
    await ns.exec('nft', 'delete element ip kubegate-test service-ips { 10.96.0.4 . tcp . 80 }');
    await applier.apply({ tables: [proxyTable(4)] });
    assert.equal(txs.at(-1)!.kind, 'full');
    assert.equal(txs.at(-1)!.reason, 'error');
    assert.equal(await elements('kubegate-test', 'service-ips'), 4);
  } finally {
    await applier.close();
  }
});

test('an nft killed in the middle of a replacing transaction leaves the old table serving', async () => {
  const applier = new Applier({ log, nft: ns.nft, driftCheckMs: 0 });
  await applier.apply({ tables: [proxyTable(50)] });
  await applier.close();
  const before = await ns.exec('nft', 'list', 'table', 'ip', 'kubegate-test');
  // A big replacing script (delete table, then 40,000 elements), cut off and killed mid-stream.
  const script = renderTable(proxyTable(20_000));
  const child = spawn('ip', ['netns', 'exec', ns.name, 'nft', '-f', '-'], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  child.stdin.on('error', () => {});
  child.stdin.write(script.slice(0, Math.floor(script.length / 2)));
  await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('close', r));
  assert.equal(await ns.exec('nft', 'list', 'table', 'ip', 'kubegate-test'), before);
});

test('a new applier adopts by replacing its tables whole and deletes kubegate-* tables no longer wanted', async () => {
  await ns.exec('nft', 'add table ip kubegate-leftover');
  const txs: AppliedTransaction[] = [];
  const applier = new Applier({ log, nft: ns.nft, driftCheckMs: 0, onTransaction: (t) => txs.push(t) });
  try {
    await applier.apply({ tables: [proxyTable(3)] });
    assert.equal(txs[0]!.kind, 'full');
    const tables = await ns.exec('nft', 'list', 'tables');
    assert.doesNotMatch(tables, /kubegate-leftover/);
    assert.match(tables, /table ip kubegate-test/);
    assert.match(tables, /table inet foreign/);
  } finally {
    await applier.close();
  }
});

test('refuses a table not named kubegate-*', () => {
  const applier = new Applier({ log, nft: ns.nft, driftCheckMs: 0 });
  assert.throws(() => applier.apply({ tables: [{ ...proxyTable(1), name: 'foreign' }] }), /kubegate-\*/);
  void applier.close();
});

test('cleanup removes every kubegate-* table and nothing else', async () => {
  await ns.exec('nft', 'add table inet kubegate-policy');
  const removed = await cleanupTables(ns.nft);
  assert.ok(removed.includes('ip kubegate-test'));
  assert.ok(removed.includes('inet kubegate-policy'));
  const tables = await ns.exec('nft', 'list', 'tables');
  assert.doesNotMatch(tables, /kubegate-/);
  await foreignIntact();
});
