// The applier through libnftables in the agent's own process: whole tables first, then only the
// difference; a refused transaction changes nothing and carries nft's message; without the
// library the agent says so and spawns `nft -f -`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { NftLibrary } from '../../../../src/node/nft/library.ts';
import type { NftTable } from '../../../../src/node/nft/model.ts';
import { createNetns, type TestNetns } from '../netns.ts';
import type { Step, StepResult } from './lab/in-namespace-applier.ts';

const run = promisify(execFile);
const child = fileURLToPath(new URL('./lab/in-namespace-applier.ts', import.meta.url));
let ns: TestNetns;

before(async () => {
  ns = await createNetns('nftlib');
});
after(async () => ns.delete());

async function inNamespace(steps: Step[]): Promise<StepResult[]> {
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', ns.name, process.execPath, child, JSON.stringify(steps)],
    { timeout: 60_000 },
  );
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as StepResult);
}

function table(endpoints: readonly string[]): NftTable {
  return {
    family: 'ip',
    name: 'kubegate-libtest',
    sets: [
      {
        name: 'endpoints',
        key: 'ipv4_addr . inet_service',
        value: 'ipv4_addr . inet_service',
        elements: endpoints.map((ip, i) => [`10.96.0.1 . ${80 + i}`, `${ip} . 8080`] as const),
      },
    ],
    chains: [
      { name: 'pre', hook: { type: 'nat', hook: 'prerouting', priority: -100 }, rules: ['jump services'] },
      { name: 'services', rules: ['meta l4proto tcp dnat ip to ip daddr . tcp dport map @endpoints'] },
    ],
  };
}

async function elementCount(): Promise<number> {
  const json = JSON.parse(
    await ns.exec('nft', '-j', 'list', 'map', 'ip', 'kubegate-libtest', 'endpoints'),
  ) as {
    nftables: { map?: { elem?: unknown[] } }[];
  };
  return json.nftables.find((o) => o.map)?.map?.elem?.length ?? 0;
}

test('through libnftables the first sync replaces the table whole and an endpoint change is element operations, in the calling process namespace', async () => {
  const results = await inNamespace([
    { apply: [table(['10.244.0.2', '10.244.0.3'])] },
    { apply: [table(['10.244.0.2', '10.244.0.3', '10.244.0.4'])] },
  ]);
  assert.deepEqual(
    results.map((r) => [r.ok, r.transactions.map((t) => t.kind)]),
    [
      [true, ['full']],
      [true, ['incremental']],
    ],
  );
  assert.equal(
    results[1]!.transactions[0]!.script.trim(),
    'add element ip kubegate-libtest endpoints { 10.96.0.1 . 82 : 10.244.0.4 . 8080 }',
  );
  assert.equal(await elementCount(), 3);
  const host = await run('nft', ['list', 'tables']);
  assert.doesNotMatch(host.stdout, /kubegate-libtest/, 'the host namespace is untouched');
});

test("a transaction libnftables refuses changes nothing and fails with nft's message", async () => {
  const [bad, good] = await inNamespace([
    {
      run: 'add element ip kubegate-libtest endpoints { 10.96.0.1 . 90 : 10.244.0.9 . 8080 }\nadd element ip kubegate-libtest no-such-map { 10.96.0.1 . 91 : 10.244.0.9 . 8080 }\n',
    },
    { run: 'list map ip kubegate-libtest endpoints' },
  ]);
  assert.equal(bad!.ok, false);
  assert.match(bad!.error!, /^libnftables transaction failed.*No such file or directory/);
  assert.equal(good!.ok, true);
  assert.equal(await elementCount(), 3, 'the first element of the refused transaction was not added');
});

test('without the library, opening it returns null with a log line naming the nft -f - fallback', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  assert.equal(NftLibrary.open(pino({ level: 'info' }, sink), 'libnftables-missing.so.9'), null);
  const logged = lines.map((l) => JSON.parse(l) as { msg: string; library: string; level: number });
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.library, 'libnftables-missing.so.9');
  assert.match(logged[0]!.msg, /spawned `nft -f -`/);
});
