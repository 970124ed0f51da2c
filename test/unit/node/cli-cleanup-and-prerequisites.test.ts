// `kubegate node` in a namespace of its own: --cleanup removes every kubegate-* table and nothing
// else; the prerequisite check reports what is missing and, when told to, sets it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { createNetns, type TestNetns } from './netns.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const PREREQ = new URL('../../../src/node/prerequisites.ts', import.meta.url).href;
let ns: TestNetns;

before(async () => (ns = await createNetns('cli')));
after(async () => ns.delete());

test('kubegate node --cleanup removes every kubegate-* table and leaves the others', async () => {
  await ns.exec(
    'nft',
    'add table ip kubegate-proxy; add table ip6 kubegate-proxy; add table inet kubegate-policy',
  );
  await ns.exec('nft', 'add table inet foreign');
  await run('ip', [
    'netns',
    'exec',
    ns.name,
    process.execPath,
    MAIN,
    'node',
    '--node-name',
    'x',
    '--cleanup',
  ]);
  const tables = await ns.exec('nft', 'list', 'tables');
  assert.doesNotMatch(tables, /kubegate-/);
  assert.match(tables, /table inet foreign/);
});

test('kubegate node without --node-name is a usage error', async () => {
  await assert.rejects(
    run(process.execPath, [MAIN, 'node', '--kubeconfig', '/nonexistent']),
    (err: { code?: number; stderr?: string }) =>
      err.code === 2 && /--node-name is required/.test(err.stderr ?? ''),
  );
});

async function prerequisites(fix: boolean): Promise<{ name: string; ok: boolean; fixed?: boolean }[]> {
  const code = `import(${JSON.stringify(PREREQ)}).then((m) => m.checkPrerequisites(${fix})).then((r) => process.stdout.write(JSON.stringify(r)))`;
  const { stdout } = await run('ip', ['netns', 'exec', ns.name, process.execPath, '-e', code]);
  return JSON.parse(stdout) as { name: string; ok: boolean; fixed?: boolean }[];
}

test('the prerequisite check reports ip_forward off and a bridge port without hairpin, and fixes both when told', async () => {
  await ns.exec('sysctl', '-qw', 'net.ipv4.ip_forward=0');
  await ns.exec('ip', 'link', 'add', 'kgbr0', 'type', 'bridge');
  await ns.exec('ip', 'link', 'add', 'kgv0', 'type', 'veth', 'peer', 'name', 'kgv1');
  await ns.exec('ip', 'link', 'set', 'kgv0', 'master', 'kgbr0');
  const found = await prerequisites(false);
  assert.equal(found.find((p) => p.name === 'ip_forward')?.ok, false);
  assert.equal(found.find((p) => p.name === 'hairpin')?.ok, false);
  assert.equal(found.find((p) => p.name === 'nft')?.ok, true);
  const fixed = await prerequisites(true);
  assert.equal(fixed.find((p) => p.name === 'ip_forward')?.fixed, true);
  assert.equal(fixed.find((p) => p.name === 'hairpin')?.fixed, true);
  assert.equal((await ns.exec('sysctl', '-n', 'net.ipv4.ip_forward')).trim(), '1');
  assert.match(await ns.exec('bridge', '-d', 'link', 'show', 'dev', 'kgv0'), /hairpin on/);
  assert.ok((await prerequisites(false)).every((p) => p.ok || p.name === 'ipv6_forwarding'));
});
