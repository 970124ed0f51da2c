import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  NODE_BRIDGE,
  UNDERLAY_GATEWAY,
  createLab,
  destroyLab,
  ipIn,
  listNetns,
  runCommand,
  sweepLabs,
  type Lab,
} from '../../../../src/dev/lab/index.ts';

const root = process.getuid?.() === 0;
const PREFIX = `kgtl${process.pid.toString(36)}`;
let lab: Lab;

async function mine(prefix = PREFIX): Promise<string[]> {
  return (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
}
function sysctl(netns: string, key: string): Promise<string> {
  return runCommand('ip', ['netns', 'exec', netns, 'cat', `/proc/sys/${key}`]).then((s) => s.trim());
}

before(async () => {
  if (root) lab = await createLab({ prefix: PREFIX, nodes: ['node-1', 'node-2'] });
});
after(async () => {
  if (!root) return;
  await destroyLab(PREFIX);
  await destroyLab(`${PREFIX}s`);
  assert.deepEqual(await mine(), []);
  assert.deepEqual(await mine(`${PREFIX}s`), []);
});

test(
  'createLab builds the underlay and one namespace per node',
  { skip: !root && 'needs root' },
  async () => {
    assert.deepEqual((await mine()).sort(), [`${PREFIX}-node-1`, `${PREFIX}-node-2`, `${PREFIX}-underlay`]);
    assert.deepEqual(
      lab.nodes.map((n) => [n.name, n.netns, n.ip, n.bridge]),
      [
        ['node-1', `${PREFIX}-node-1`, '10.250.0.10', NODE_BRIDGE],
        ['node-2', `${PREFIX}-node-2`, '10.250.0.11', NODE_BRIDGE],
      ],
    );
    assert.match(await ipIn(lab.underlayNetns, 'addr', 'show', 'br0'), /inet 10\.250\.0\.1\/24/);
    const n1 = lab.node('node-1');
    assert.match(await ipIn(n1.netns, 'addr', 'show', 'eth0'), /inet 10\.250\.0\.10\/24/);
    assert.match(
      await ipIn(n1.netns, 'route', 'show', 'default'),
      new RegExp(`default via ${UNDERLAY_GATEWAY}`),
    );
    assert.match(await ipIn(n1.netns, 'link', 'show', 'lo'), /UP/);
    assert.match(await ipIn(n1.netns, 'link', 'show', NODE_BRIDGE), /state UP|UNKNOWN|DOWN/);
    assert.equal(await sysctl(n1.netns, 'net/ipv4/ip_forward'), '1');
    assert.equal(await sysctl(n1.netns, 'net/bridge/bridge-nf-call-iptables'), '1');
    // Nodes reach each other over the underlay.
    await runCommand('ip', ['netns', 'exec', n1.netns, 'ip', 'route', 'get', '10.250.0.11']);
  },
);

test(
  'setPodCIDR puts the gateway on the node bridge and routes the CIDR on the underlay',
  { skip: !root && 'needs root' },
  async () => {
    await lab.setPodCIDR('node-2', '10.244.1.0/24');
    assert.match(await ipIn(lab.node('node-2').netns, 'addr', 'show', NODE_BRIDGE), /inet 10\.244\.1\.1\/24/);
    assert.match(await ipIn(lab.underlayNetns, 'route', 'show'), /10\.244\.1\.0\/24 via 10\.250\.0\.11/);
    await lab.setPodCIDR('node-2', '10.244.9.0/24');
    const routes = await ipIn(lab.underlayNetns, 'route', 'show');
    assert.doesNotMatch(routes, /10\.244\.1\.0/);
    assert.match(routes, /10\.244\.9\.0\/24 via 10\.250\.0\.11/);
    assert.equal(lab.node('node-2').gateway, '10.244.9.1');
    assert.throws(() => lab.node('nope'), /no lab node "nope"/);
  },
);

test(
  'createLab rejects a prefix with a dash (sweeps would match other runs)',
  { skip: !root && 'needs root' },
  async () => {
    await assert.rejects(createLab({ prefix: 'a-b', nodes: [] }), /prefix/);
  },
);

test(
  'sweepLabs removes a lab whose owner process is gone, and only that',
  { skip: !root && 'needs root' },
  async () => {
    const stale = await createLab({ prefix: `${PREFIX}s`, nodes: ['x'] });
    await ipIn(stale.underlayNetns, 'link', 'set', 'br0', 'alias', 'kubegate-lab pid=999999999 start=1');
    // A process still inside a stale namespace is killed.
    await runCommand('sh', ['-c', `ip netns exec ${PREFIX}s-x sleep 600 >/dev/null 2>&1 &`]);
    const swept = await sweepLabs();
    assert.ok(swept.includes(`${PREFIX}s`));
    assert.ok(!swept.includes(PREFIX), 'a live run is left alone');
    assert.deepEqual(await mine(`${PREFIX}s`), []);
    assert.equal((await mine()).length, 3);
  },
);

test(
  'destroy removes every namespace of the lab and is idempotent',
  { skip: !root && 'needs root' },
  async () => {
    await lab.destroy();
    assert.deepEqual(await mine(), []);
    await lab.destroy();
  },
);
