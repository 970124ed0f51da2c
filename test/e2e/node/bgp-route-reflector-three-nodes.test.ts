// Route reflection with kube-router's annotations on three lab nodes: n0 is `kube-router.io/rr.server:
// "42"`, n1 and n2 are `rr.client`. The clients peer only with n0 and learn each other's pod CIDRs
// through it (ORIGINATOR_ID and CLUSTER_LIST set, next hop kept), so a pod on n1 reaches a pod on
// n2 directly while the underlay neither forwards nor has static pod routes. A wrong annotation,
// on a peer's Node or on the node's own, is reported naming that Node and no session is rebuilt.
// Root needed; no control plane (the Node objects are fed as the informer would).
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../../../src/dev/lab/index.ts';

const NODES = ['n0', 'n1', 'n2'];
const CHILD = fileURLToPath(new URL('./bgp-routing-child.ts', import.meta.url));
const prefix = `kgbgprr${process.pid % 100000}`;
const cidr = (i: number): string => `10.244.${i}.0/24`;
const podIP = (i: number): string => `10.244.${i}.2`;
const pod = (i: number): string => `${prefix}-${NODES[i]}-pod`;
const ROLES: Record<string, string>[] = [
  { 'kube-router.io/rr.server': '42' },
  { 'kube-router.io/rr.client': '42' },
  { 'kube-router.io/rr.client': '42' },
];
let lab: Lab;
const processes: ChildProcess[] = [];
const lines: Record<string, unknown>[][] = NODES.map(() => []);
const controllers: ChildProcess[] = [];

const ip = (...args: string[]): string =>
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const bgpRoutes = (i: number): string => ip('-n', lab.nodes[i].netns, 'route', 'show', 'proto', '196');

function nodes(annotations: Record<string, string>[] = ROLES) {
  return lab.nodes.map((n, i) => ({
    metadata: { name: n.name, annotations: annotations[i] },
    spec: { podCIDR: cidr(i), podCIDRs: [cidr(i)] },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
  }));
}

function send(i: number, m: unknown): void {
  controllers[i].stdin!.write(`${JSON.stringify(m)}\n`);
}

type Dump = {
  neighbors: { address: string; state: string }[];
  received: Record<
    string,
    { prefix: string; nextHop: string; attributes: { originatorId?: string; clusterList?: string[] } }[]
  >;
};

async function dump(i: number): Promise<Dump> {
  const seen = lines[i].length;
  send(i, { dump: true });
  await waitFor('a dump', () => lines[i].slice(seen).some((l) => l.type === 'dump'), 5000);
  return lines[i].slice(seen).find((l) => l.type === 'dump') as unknown as Dump;
}

/** The reply of the server in pod `to`, asked from pod `from`, or '' when unreachable. */
function reach(from: number, to: number): string {
  const script = `const s = require('node:net').connect(8080, '${podIP(to)}'); let d = '';
s.setTimeout(1500, () => process.exit(2)); s.on('data', (c) => (d += c));
s.on('end', () => console.log(d)); s.on('error', () => process.exit(1));`;
  const r = spawnSync('ip', ['netns', 'exec', pod(from), process.execPath, '-e', script], { timeout: 5000 });
  return r.status === 0 ? r.stdout.toString().trim() : '';
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) {
      const logs = lines.map(
        (l, i) =>
          `--- n${i}\n${l
            .slice(-20)
            .map((x) => JSON.stringify(x))
            .join('\n')}`,
      );
      assert.fail(`timed out waiting for ${what}\n${logs.join('\n')}`);
    }
    await sleep(100);
  }
}

before(async () => {
  lab = await createLab({ prefix, nodes: NODES });
  for (const [i, n] of lab.nodes.entries()) {
    await lab.setPodCIDR(n.name, cidr(i));
    // The lab's static route on the underlay is what BGP replaces.
    ip('-n', lab.underlayNetns, 'route', 'del', cidr(i));
    const p = pod(i);
    ip('netns', 'add', p);
    ip('-n', p, 'link', 'set', 'lo', 'up');
    ip('-n', n.netns, 'link', 'add', `vp${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p);
    ip('-n', n.netns, 'link', 'set', `vp${i}`, 'master', n.bridge, 'up');
    ip('-n', p, 'addr', 'add', `${podIP(i)}/24`, 'dev', 'eth0');
    ip('-n', p, 'link', 'set', 'eth0', 'up');
    ip('-n', p, 'route', 'add', 'default', 'via', n.gateway!);
    const server = `require('node:net').createServer((s) => s.end('${n.name}')).listen(8080, '${podIP(i)}');`;
    processes.push(spawn('ip', ['netns', 'exec', p, process.execPath, '-e', server], { stdio: 'ignore' }));
  }
  ip('netns', 'exec', lab.underlayNetns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
  for (const [i, n] of lab.nodes.entries()) {
    const child = spawn('ip', ['netns', 'exec', n.netns, process.execPath, CHILD], {
      env: {
        ...process.env,
        NODE_NAME: n.name,
        OPTIONS: JSON.stringify({ serviceCIDRs: ['10.96.0.0/16'], gracefulRestartSeconds: 5 }),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: child.stdout! }).on('line', (l) =>
      lines[i].push(JSON.parse(l) as Record<string, unknown>),
    );
    controllers.push(child);
    processes.push(child);
  }
});

after(async () => {
  for (const c of processes) if (c.exitCode === null) c.kill('SIGKILL');
  await lab?.destroy();
});

test('rr.client nodes peer only with the rr.server node and learn each other through it', async () => {
  await waitFor('the pod servers', () => [0, 1, 2].every((i) => reach(i, i) === NODES[i]));
  assert.equal(reach(1, 2), '', 'no path between nodes before BGP');
  for (const i of [0, 1, 2]) send(i, { nodes: nodes() });
  for (const i of [0, 1, 2]) {
    const others = [0, 1, 2].filter((j) => j !== i);
    await waitFor(`node ${i}'s routes`, () =>
      others.every((j) => bgpRoutes(i).includes(`${cidr(j)} via ${lab.nodes[j].ip}`)),
    );
  }
  const [d0, d1, d2] = [await dump(0), await dump(1), await dump(2)];
  assert.deepEqual(
    d0.neighbors.map((n) => [n.address, n.state]),
    [
      ['10.250.0.11', 'established'],
      ['10.250.0.12', 'established'],
    ],
  );
  assert.deepEqual(
    d1.neighbors.map((n) => n.address),
    ['10.250.0.10'],
    'a client peers with the server only',
  );
  assert.deepEqual(
    d2.neighbors.map((n) => n.address),
    ['10.250.0.10'],
  );
  const reflected = d1.received['10.250.0.10'].find((r) => r.prefix === cidr(2));
  assert.equal(reflected?.nextHop, '10.250.0.12', 'the next hop is kept');
  assert.equal(reflected?.attributes.originatorId, '10.250.0.12');
  assert.deepEqual(reflected?.attributes.clusterList, ['0.0.0.42']);
  for (const from of [0, 1, 2])
    for (const to of [0, 1, 2]) assert.equal(reach(from, to), NODES[to], `pod ${from} → pod ${to}`);
});

test('a wrong annotation names its Node, and every session stays up', async () => {
  const rebuilds = (i: number): number => lines[i].filter((l) => l.type === 'routing-speaker').length;
  const before = [rebuilds(0), rebuilds(1)];
  // On a peer's Node (n2's ASN, as n0 sees it) and on the node's own Node (n1's cluster id).
  const wrong = ROLES.map((r) => ({ ...r }));
  wrong[2]['kube-router.io/node.asn'] = '64512x';
  wrong[1]['kube-router.io/rr.server'] = 'blue';
  send(0, { nodes: nodes(wrong) });
  send(1, { nodes: nodes(wrong) });
  const problem = (i: number, node: string, annotation: string) =>
    lines[i].some(
      (l) =>
        l.type === 'problems' &&
        (l.problems as { object: { name: string }; field: string }[]).some(
          (p) => p.object.name === node && p.field.includes(annotation),
        ),
    );
  await waitFor("n0 reports n2's node.asn", () => problem(0, lab.nodes[2].name, 'kube-router.io/node.asn'));
  await waitFor('n1 reports its own rr.server', () =>
    problem(1, lab.nodes[1].name, 'kube-router.io/rr.server'),
  );
  await sleep(1000);
  assert.deepEqual([rebuilds(0), rebuilds(1)], before, 'no speaker rebuilt');
  for (const i of [0, 1]) assert.ok((await dump(i)).neighbors.every((n) => n.state === 'established'));
  assert.equal(reach(1, 2), NODES[2]);
  assert.equal(reach(2, 1), NODES[1]);
});
