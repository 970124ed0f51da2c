// Pod-to-pod traffic across three lab nodes over BGP-learned routes only: the lab's static pod-CIDR
// routes on the underlay are deleted and the underlay stops forwarding, so a pod reaches another
// node's pod only through `podCIDR via <node IP>` routes (proto 196) that each node's
// RoutingController learned from the full iBGP mesh. Also: a service address announced by a node is
// never imported, and a node whose speaker dies without a NOTIFICATION keeps its routes for the
// graceful-restart time and then loses them. Root needed; the first two tests need no control plane
// (the Node objects are given to the controllers as the informer would); the last runs
// `kubegate node --bgp` against the real API server and is skipped without the e2e global setup.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../../../src/dev/lab/index.ts';
import { devDir, kubectl } from '../env.ts';
import type { RoutingNode } from '../../../src/node/bgp/controller/index.ts';

const NODES = ['n0', 'n1', 'n2'];
const cidr = (i: number): string => `10.244.${i}.0/24`;
const podIP = (i: number): string => `10.244.${i}.2`;
const GRACEFUL_RESTART_SECONDS = 3;
const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const CONTROLLER = fileURLToPath(new URL('../../../src/node/bgp/controller/index.ts', import.meta.url));

// The controller as `kubegate node --bgp` runs it, fed a fixed Node list; events as JSON lines.
const CHILD = `
const { RoutingController, routingOptions } = await import(process.env.CONTROLLER);
const c = new RoutingController({
  nodeName: process.env.NODE_NAME,
  options: routingOptions({ serviceCIDRs: ['10.96.0.0/16'], gracefulRestartSeconds: ${GRACEFUL_RESTART_SECONDS} }),
  log: (e) => console.log(JSON.stringify(e)),
});
await c.update(JSON.parse(process.env.NODES));
if (process.env.EXTRA) c.speaker.announce(process.env.EXTRA);
// Later Node lists, one JSON line each, as the informer would deliver them.
for await (const line of (await import('node:readline')).createInterface({ input: process.stdin }))
  void c.update(JSON.parse(line));
process.on('SIGTERM', () => void c.stop({ graceful: false }).then(() => process.exit(0)));
`;

let lab: Lab;
const children: ChildProcess[] = [];
/** Each node's controller events, shown when a wait times out. */
const logs = NODES.map(() => '');
const prefix = `kgbgpr${process.pid % 100000}`;
const pod = (i: number): string => `${prefix}-${NODES[i]}-pod`;
const ip = (...args: string[]): string =>
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

function nodeObjects(): RoutingNode[] {
  return lab.nodes.map((n, i) => ({
    metadata: { name: n.name },
    spec: { podCIDR: cidr(i), podCIDRs: [cidr(i)] },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
  }));
}

function startController(i: number, extra?: string, nodes = nodeObjects()): ChildProcess {
  const n = lab.nodes[i];
  const child = spawn(
    'ip',
    ['netns', 'exec', n.netns, process.execPath, '--input-type=module', '-e', CHILD],
    {
      env: {
        ...process.env,
        CONTROLLER,
        NODE_NAME: n.name,
        NODES: JSON.stringify(nodes),
        ...(extra ? { EXTRA: extra } : {}),
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (logs[i] += d.toString()));
  children.push(child);
  return child;
}

/** The reply of the server in pod `to`, asked from pod `from`, or '' when unreachable. */
function reach(from: number, to: number): string {
  const script = `const s = require('node:net').connect(8080, '${podIP(to)}'); let d = '';
s.setTimeout(1500, () => process.exit(2)); s.on('data', (c) => (d += c));
s.on('end', () => console.log(d)); s.on('error', () => process.exit(1));`;
  const r = spawnSync('ip', ['netns', 'exec', pod(from), process.execPath, '-e', script], { timeout: 5000 });
  return r.status === 0 ? r.stdout.toString().trim() : '';
}

function bgpRoutes(i: number): string {
  return ip('-n', lab.nodes[i].netns, 'route', 'show', 'proto', '196');
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end)
      assert.fail(
        `timed out waiting for ${what}\n${logs.map((l, i) => `--- ${NODES[i]}\n${l.slice(-3000)}`).join('\n')}`,
      );
    await sleep(200);
  }
}

before(async () => {
  lab = await createLab({ prefix, nodes: NODES });
  for (const [i, n] of lab.nodes.entries()) {
    await lab.setPodCIDR(n.name, cidr(i));
    // The lab's static route on the underlay is exactly what BGP must replace.
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
    const child = spawn('ip', ['netns', 'exec', p, process.execPath, '-e', server], { stdio: 'ignore' });
    children.push(child);
  }
  // Nothing may cross through the underlay router: nodes must reach each other's pods directly.
  ip('netns', 'exec', lab.underlayNetns, 'sysctl', '-qw', 'net.ipv4.ip_forward=0');
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (process.env.KUBEGATE_DEV_DIR)
    await kubectl('gateway.kubeconfig', ['delete', 'namespace', prefix, '--ignore-not-found', '--wait=false'])
      .then(() => kubectl('gateway.kubeconfig', ['delete', 'node', '--ignore-not-found', ...apiNodes()]))
      .catch((err: unknown) => console.error(`deleting the test's Nodes: ${String(err)}`));
  await lab?.destroy();
});

test('pods on three nodes reach each other only over BGP-learned routes', async () => {
  await waitFor(
    'the pod servers',
    () => reach(0, 0) === 'n0' && reach(1, 1) === 'n1' && reach(2, 2) === 'n2',
  );
  assert.equal(reach(0, 1), '', 'no path between nodes before BGP');

  startController(0);
  startController(1);
  startController(2, '10.96.0.10/32');

  for (const i of [0, 1, 2]) {
    const others = [0, 1, 2].filter((j) => j !== i);
    await waitFor(`node ${i}'s BGP routes`, () =>
      others.every((j) => bgpRoutes(i).includes(`${cidr(j)} via ${lab.nodes[j].ip}`)),
    );
  }
  for (const from of [0, 1, 2])
    for (const to of [0, 1, 2]) assert.equal(reach(from, to), NODES[to], `pod ${from} → pod ${to}`);
  assert.doesNotMatch(bgpRoutes(0), /10\.96\./, 'a service address is never imported');
  assert.doesNotMatch(bgpRoutes(0), new RegExp(cidr(0).replace(/\./g, '\\.')), 'own pod CIDR not learned');
});

test('a node whose speaker dies keeps its routes for the restart time, then loses them', async () => {
  const n2 = children.at(-1)!;
  n2.kill('SIGKILL');
  await sleep(500);
  assert.match(bgpRoutes(0), /10\.244\.2\.0\/24 via 10\.250\.0\.12/, 'kept while the peer may restart');
  assert.equal(reach(0, 2), 'n2', 'forwarding goes on while the peer restarts');
  const started = Date.now();
  await waitFor(
    'the route of the dead node to go',
    () => !bgpRoutes(0).includes(cidr(2)) && !bgpRoutes(1).includes(cidr(2)),
    (GRACEFUL_RESTART_SECONDS + 10) * 1000,
  );
  assert.ok(Date.now() - started >= (GRACEFUL_RESTART_SECONDS - 1) * 1000, 'not before the restart time');
  assert.equal(reach(0, 2), '');
  assert.equal(reach(0, 1), 'n1', 'the other nodes are unaffected');
});

test('a Node leaving and joining is a neighbor removed and added: no speaker is rebuilt, the other routes never go', async () => {
  const [c0, c1] = children.slice(3, 5);
  const gaps: string[] = [];
  let watching = true;
  // Every 50 ms: n0's and n1's routes to each other must be there all along.
  const watch = (async () => {
    while (watching) {
      if (!bgpRoutes(0).includes(`${cidr(1)} via`)) gaps.push(`n0 lost ${cidr(1)}`);
      if (!bgpRoutes(1).includes(`${cidr(0)} via`)) gaps.push(`n1 lost ${cidr(0)}`);
      await sleep(50);
    }
  })();
  const send = (c: ChildProcess, nodes: RoutingNode[]): void =>
    void c.stdin?.write(`${JSON.stringify(nodes)}\n`);
  const rebuilds = (i: number): number => logs[i].split('"restarting":true').length;
  const renewals = (i: number): number => logs[i].split('"type":"routing-neighbors"').length;
  const before = [rebuilds(0), rebuilds(1)];
  const renewed = [renewals(0), renewals(1)];
  const two = nodeObjects().slice(0, 2);
  send(c0, two);
  send(c1, two);
  await waitFor(
    'n0 and n1 to remove n2 as a neighbor',
    () => renewals(0) > renewed[0] && renewals(1) > renewed[1],
  );
  await sleep(3000);
  // n2 joins: a new controller there, and the new list to the others.
  startController(2);
  send(c0, nodeObjects());
  send(c1, nodeObjects());
  for (const i of [0, 1, 2]) {
    const others = [0, 1, 2].filter((j) => j !== i);
    await waitFor(`node ${i}'s routes after n2 joined`, () =>
      others.every((j) => bgpRoutes(i).includes(`${cidr(j)} via ${lab.nodes[j].ip}`)),
    );
  }
  watching = false;
  await watch;
  assert.deepEqual(gaps, [], 'no gap while n2 left and joined');
  assert.deepEqual([rebuilds(0), rebuilds(1)], before, 'no speaker was rebuilt');
  for (const from of [0, 1, 2])
    for (const to of [0, 1, 2]) assert.equal(reach(from, to), NODES[to], `pod ${from} → pod ${to}`);
});

const apiNodes = (): string[] => NODES.map((n) => `${prefix}-${n}`);

test(
  'kubegate node --bgp learns the pod routes from the Node objects in the API',
  { skip: process.env.KUBEGATE_DEV_DIR ? false : 'needs the control plane (run with the e2e global setup)' },
  async () => {
    for (const c of children.splice(3)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const n of lab.nodes) ip('-n', n.netns, 'route', 'flush', 'proto', '196');
    await waitFor('no path between nodes', () => reach(0, 1) === '');
    // Their own ASN: the cluster's real nodes (64512) do not mesh with them.
    for (const [i, n] of lab.nodes.entries()) {
      const name = apiNodes()[i];
      const manifest = {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, annotations: { 'kube-router.io/node.asn': '65100' } },
        spec: { podCIDR: cidr(i), podCIDRs: [cidr(i)] },
      };
      const file = `/tmp/${prefix}-${name}.json`;
      writeFileSync(file, JSON.stringify(manifest));
      await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
      rmSync(file);
      const status = { status: { addresses: [{ type: 'InternalIP', address: n.ip }] } };
      await kubectl('gateway.kubeconfig', [
        'patch',
        'node',
        name,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      ]);
    }
    // Pod objects for the pod netns: the agent's NetworkPolicy table drops pod-CIDR addresses that
    // are no known pod's (anti-spoofing). No podlet runs on these nodes; the status says where they are.
    await kubectl('gateway.kubeconfig', ['create', 'namespace', prefix]);
    for (const [i, name] of apiNodes().entries()) {
      const manifest = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${i}`, namespace: prefix },
        spec: { nodeName: name, containers: [{ name: 'c', image: 'pause' }] },
      };
      const file = `/tmp/${prefix}-p${i}.json`;
      writeFileSync(file, JSON.stringify(manifest));
      await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
      rmSync(file);
      const status = { status: { phase: 'Running', podIP: podIP(i), podIPs: [{ ip: podIP(i) }] } };
      await kubectl('gateway.kubeconfig', ['-n', prefix, 'patch', 'pod', `p${i}`, '--subresource=status',
        '--type=merge', '-p', JSON.stringify(status)]); // prettier-ignore
    }
    const dir = devDir();
    for (const [i, n] of lab.nodes.entries()) {
      const args = ['node', '--node-name', apiNodes()[i], '--kubeconfig', join(dir, 'node-agent.kubeconfig'),
        '--api-socket', join(dir, 'node-api.sock'), '--bgp', '--service-cluster-ip-range', '10.96.0.0/16',
        '--log-level', 'warn']; // prettier-ignore
      const child = spawn('ip', ['netns', 'exec', n.netns, process.execPath, MAIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (d: Buffer) => (logs[i] += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (logs[i] += d.toString()));
      children.push(child);
    }
    for (const i of [0, 1, 2]) {
      const others = [0, 1, 2].filter((j) => j !== i);
      await waitFor(
        `node ${i}'s BGP routes from kubegate node`,
        () => others.every((j) => bgpRoutes(i).includes(`${cidr(j)} via ${lab.nodes[j].ip}`)),
        60_000,
      );
    }
    for (const from of [0, 1, 2])
      for (const to of [0, 1, 2])
        await waitFor(
          `pod ${from} → pod ${to} through kubegate node's tables`,
          () => reach(from, to) === NODES[to],
        );
  },
);
