// Service addresses announced over BGP to a real external router: gobgpd in the lab's underlay
// namespace (10.250.0.1, AS 65000) peers with the routing controller of two lab nodes (AS 64512,
// `--peer-router-ips 10.250.0.1 --peer-router-asns 65000 --advertise-cluster-ip …`). A ClusterIP
// Service shows up in gobgpd's RIB as a /32 from both nodes; with externalTrafficPolicy Local only
// from the node with a ready endpoint, and from none once that endpoint goes; an external IP follows
// `kube-router.io/service.advertise.externalip`; the nodes never send service routes to each other
// and never import service addresses gobgpd announces; `--advertise-service-cluster-ip-range`
// announces the range. Root needed; the controllers are fed the objects as informers would, except
// in the last test, which runs `kubegate node --bgp` against the real API server (skipped without
// the e2e global setup): a real Service and EndpointSlice, and a Warning Event on a Node whose
// annotation is wrong while the router's sessions stay up.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createLab, type Lab } from '../../../src/dev/lab/index.ts';
import { devDir, kubectl } from '../env.ts';
import type { EndpointSlice, Service } from '../../../src/node/service/index.ts';

const NODES = ['n0', 'n1'];
const ROUTER = '10.250.0.1';
const CHILD = fileURLToPath(new URL('./bgp-routing-child.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const prefix = `kgbgpsvc${process.pid % 100000}`;
const dir = mkdtempSync(join(tmpdir(), 'kg-bgp-svc-'));
let lab: Lab;
let gobgpd: ChildProcess | undefined;
const controllers: Controller[] = [];
const agents: ChildProcess[] = [];
const agentLogs = NODES.map(() => '');
const apiNodes = (): string[] => NODES.map((n) => `${prefix}-${n}`);

class Controller {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];

  constructor(i: number, options: Record<string, unknown>) {
    const n = lab.nodes[i];
    this.child = spawn('ip', ['netns', 'exec', n.netns, process.execPath, CHILD], {
      env: { ...process.env, NODE_NAME: n.name, OPTIONS: JSON.stringify(options) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) =>
      this.lines.push(JSON.parse(l) as Record<string, unknown>),
    );
  }

  send(m: unknown): void {
    this.child.stdin!.write(`${JSON.stringify(m)}\n`);
  }

  async dump(): Promise<{
    neighbors: { address: string; state: string; advertised: number }[];
    received: Record<string, { prefix: string }[]>;
  }> {
    const seen = this.lines.length;
    this.send({ dump: true });
    await waitFor('a dump', () => this.lines.slice(seen).some((l) => l.type === 'dump'), 5000);
    return this.lines.slice(seen).find((l) => l.type === 'dump') as never;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await waitFor('controller exit', () => this.child.exitCode !== null || this.child.signalCode !== null);
  }
}

const cidr = (i: number): string => `10.244.${i}.0/24`;
const nodes = () =>
  lab.nodes.map((n, i) => ({
    metadata: { name: n.name },
    spec: { podCIDR: cidr(i), podCIDRs: [cidr(i)] },
    status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
  }));

function service(spec: NonNullable<Service['spec']>, annotations?: Record<string, string>): Service {
  return {
    metadata: { name: 'web', namespace: 'default', ...(annotations ? { annotations } : {}) },
    spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ...spec },
  };
}

function slice(onNodes: string[]): EndpointSlice {
  return {
    metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: onNodes.map((node, i) => ({
      addresses: [`10.244.${i}.5`],
      nodeName: node,
      conditions: { ready: true },
    })),
  };
}

function feed(services: Service[], slices: EndpointSlice[] = []): void {
  for (const c of controllers) c.send({ services, slices });
}

const gobgp = (...args: string[]): string =>
  execFileSync(
    'ip',
    ['netns', 'exec', lab.underlayNetns, 'gobgp', '-u', '127.0.0.1', '-p', '50051', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    },
  ).toString();

/** gobgpd's RIB: prefix → next hops of its paths. */
function rib(): Map<string, string[]> {
  let json: Record<string, { attrs?: { type: number; nexthop?: string }[] }[]>;
  try {
    json = JSON.parse(gobgp('global', 'rib', '-a', 'ipv4', '-j')) as typeof json;
  } catch {
    return new Map();
  }
  return new Map(
    Object.entries(json).map(([p, paths]) => [
      p,
      paths
        .map((x) => x.attrs?.find((a) => a.type === 3)?.nexthop ?? '')
        .filter((h) => h !== '0.0.0.0')
        .sort(),
    ]),
  );
}

function hops(p: string): string {
  return (rib().get(p) ?? []).join(',');
}

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) {
      const logs = controllers.map(
        (c, i) =>
          `--- n${i}\n${c.lines
            .slice(-30)
            .map((l) => JSON.stringify(l))
            .join('\n')}`,
      );
      assert.fail(`timed out waiting for ${what}\nrib: ${JSON.stringify([...rib()])}\n${logs.join('\n')}`);
    }
    await sleep(100);
  }
}

const options = {
  serviceCIDRs: ['10.96.0.0/16'],
  peerRouters: [{ address: ROUTER, asn: 65000 }],
  advertiseClusterIP: true,
  advertiseLoadBalancerIP: true,
  gracefulRestartSeconds: 0,
};

before(async () => {
  lab = await createLab({ prefix, nodes: NODES });
  const neighbor = (address: string) => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${address}"
    peer-as = 64512
  [neighbors.timers.config]
    connect-retry = 1`;
  writeFileSync(
    join(dir, 'gobgpd.toml'),
    `[global.config]
  as = 65000
  router-id = "${ROUTER}"
  local-address-list = ["${ROUTER}"]
${lab.nodes.map((n) => neighbor(n.ip)).join('\n')}
`,
  );
  gobgpd = spawn(
    'ip',
    ['netns', 'exec', lab.underlayNetns, 'gobgpd', '-f', join(dir, 'gobgpd.toml'), '-p',
      '--api-hosts', '127.0.0.1:50051', '--pprof-disable'], // prettier-ignore
    { stdio: 'ignore' },
  );
  for (const i of [0, 1]) controllers.push(new Controller(i, options));
  for (const c of controllers) c.send({ nodes: nodes() });
  feed([]);
  await waitFor('both pod CIDRs at the router', () => hops(cidr(0)) !== '' && hops(cidr(1)) !== '', 30_000);
});

after(async () => {
  for (const c of controllers) await c.stop().catch(() => c.child.kill('SIGKILL'));
  for (const a of agents) if (a.exitCode === null) a.kill('SIGKILL');
  if (process.env.KUBEGATE_DEV_DIR)
    await kubectl('gateway.kubeconfig', ['delete', 'namespace', prefix, '--ignore-not-found', '--wait=false'])
      .then(() => kubectl('gateway.kubeconfig', ['delete', 'node', '--ignore-not-found', ...apiNodes()]))
      .catch((err: unknown) => console.error(`deleting the test's objects: ${String(err)}`));
  gobgpd?.kill('SIGKILL');
  await lab?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

test('a ClusterIP Service is a /32 at the external router from every node, not sent to the mesh', async () => {
  feed([service({})]);
  await waitFor('10.96.0.10/32 from both nodes', () => hops('10.96.0.10/32') === '10.250.0.10,10.250.0.11');
  const d = await controllers[0].dump();
  const mesh = d.neighbors.find((n) => n.address === '10.250.0.11');
  const router = d.neighbors.find((n) => n.address === ROUTER);
  assert.equal(mesh?.state, 'established');
  assert.equal(mesh?.advertised, 1, 'the mesh gets the pod CIDR only');
  assert.equal(router?.advertised, 2, 'the router gets the pod CIDR and the service /32');
});

test('switching to externalTrafficPolicy Local announces only where a ready endpoint is, and withdraws at once', async () => {
  feed([service({ type: 'NodePort', externalTrafficPolicy: 'Local' })], [slice(['n0'])]);
  await waitFor('10.96.0.10/32 from n0 only', () => hops('10.96.0.10/32') === '10.250.0.10');
  const started = Date.now();
  feed([service({ type: 'NodePort', externalTrafficPolicy: 'Local' })], [slice([])]);
  await waitFor('10.96.0.10/32 withdrawn', () => !rib().has('10.96.0.10/32'), 5000);
  const ms = Date.now() - started;
  assert.ok(ms < 2000, `withdrawn in ${ms} ms`);
});

test('an external IP is announced when its Service says so, and a LoadBalancer IP by the flag', async () => {
  const s: Service = {
    ...service({ externalIPs: ['192.0.2.7'] }, { 'kube-router.io/service.advertise.externalip': 'true' }),
  };
  const lb: Service = {
    metadata: { name: 'lb', namespace: 'default' },
    spec: { type: 'LoadBalancer', clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11'] },
    status: { loadBalancer: { ingress: [{ ip: '198.51.100.1' }] } },
  };
  feed([s, lb]);
  for (const p of ['10.96.0.10/32', '192.0.2.7/32', '10.96.0.11/32', '198.51.100.1/32'])
    await waitFor(`${p} from both nodes`, () => hops(p) === '10.250.0.10,10.250.0.11');
  feed([service({ externalIPs: ['192.0.2.7'] })]);
  await waitFor('the external IP and the LoadBalancer withdrawn', () => {
    const r = rib();
    return !r.has('192.0.2.7/32') && !r.has('198.51.100.1/32') && !r.has('10.96.0.11/32');
  });
  assert.equal(hops('10.96.0.10/32'), '10.250.0.10,10.250.0.11');
});

test('service addresses announced by the router are never imported; other prefixes are', async () => {
  feed([service({ externalIPs: ['192.0.2.7'] })]);
  for (const p of ['10.96.0.10/32', '10.96.7.0/24', '192.0.2.7/32', '203.0.113.0/24'])
    gobgp('global', 'rib', 'add', p, '-a', 'ipv4');
  const routes = (i: number): string =>
    execFileSync('ip', ['-n', lab.nodes[i].netns, 'route', 'show', 'proto', '196']).toString();
  await waitFor('203.0.113.0/24 in both nodes', () =>
    [0, 1].every((i) => routes(i).includes('203.0.113.0/24')),
  );
  for (const i of [0, 1]) {
    assert.doesNotMatch(routes(i), /10\.96\.|192\.0\.2\.7/, `node ${i}: no service address imported`);
    const d = await controllers[i].dump();
    assert.deepEqual(
      d.received[ROUTER].map((r) => r.prefix).filter((p) => !p.startsWith('10.244.')),
      ['203.0.113.0/24'],
    );
  }
  for (const p of ['10.96.0.10/32', '10.96.7.0/24', '192.0.2.7/32', '203.0.113.0/24'])
    gobgp('global', 'rib', 'del', p, '-a', 'ipv4');
});

/** The AS path and communities gobgpd holds for `p` from `nextHop`. */
function pathAt(p: string, nextHop: string): { asPath: string; communities: string } | null {
  let json: Record<
    string,
    {
      attrs?: { type: number; nexthop?: string; as_paths?: { asns: number[] }[]; communities?: number[] }[];
    }[]
  >;
  try {
    json = JSON.parse(gobgp('global', 'rib', '-a', 'ipv4', '-j')) as typeof json;
  } catch {
    return null;
  }
  const path = (json[p] ?? []).find((x) => x.attrs?.some((a) => a.type === 3 && a.nexthop === nextHop));
  if (!path) return null;
  const asPath = (path.attrs?.find((a) => a.type === 2)?.as_paths ?? []).flatMap((s) => s.asns).join(' ');
  const communities = (path.attrs?.find((a) => a.type === 8)?.communities ?? [])
    .map((c) => (c === 0xffffff01 ? 'no-export' : `${c >>> 16}:${c & 0xffff}`))
    .join(',');
  return { asPath, communities };
}

test("a Node's node.bgp.communities and path-prepend.* go on its routes to the router; its customimportreject is never imported", async () => {
  feed([service({})]);
  const annotated = nodes().map((n, i) =>
    i === 0
      ? {
          ...n,
          metadata: {
            ...n.metadata,
            annotations: {
              'kube-router.io/node.bgp.communities': '65010:200, no-export',
              'kube-router.io/path-prepend.as': '64512',
              'kube-router.io/path-prepend.repeat-n': '2',
              'kube-router.io/node.bgp.customimportreject': '203.0.113.0/24',
            },
          },
        }
      : n,
  );
  for (const c of controllers) c.send({ nodes: annotated });
  const n0 = lab.nodes[0].ip;
  const n1 = lab.nodes[1].ip;
  const tagged = { asPath: '64512 64512 64512', communities: '65010:200,no-export' };
  for (const p of [cidr(0), '10.96.0.10/32'])
    await waitFor(
      `${p} from n0 prepended and with its communities`,
      () => {
        const got = pathAt(p, n0);
        return got?.asPath === tagged.asPath && got.communities === tagged.communities;
      },
      45_000,
    ); // a policy change restarts the speaker gracefully: the router sees a new session
  assert.deepEqual(pathAt(cidr(1), n1), { asPath: '64512', communities: '' }, 'n1 is not annotated');
  gobgp('global', 'rib', 'add', '203.0.113.0/25', '-a', 'ipv4');
  gobgp('global', 'rib', 'add', '198.18.0.0/24', '-a', 'ipv4');
  const received = async (i: number): Promise<string[]> =>
    ((await controllers[i].dump()).received[ROUTER] ?? [])
      .map((r) => r.prefix)
      .filter((p) => !p.startsWith('10.244.'));
  const importedBy = async (i: number, want: string): Promise<string[]> => {
    const end = Date.now() + 45_000;
    for (;;) {
      const got = await received(i);
      if (got.includes(want)) return got;
      if (Date.now() > end) assert.fail(`node ${i} did not import ${want}: ${got.join(' ')}`);
      await sleep(200);
    }
  };
  await importedBy(1, '203.0.113.0/25');
  await importedBy(1, '198.18.0.0/24');
  const r0 = await importedBy(0, '198.18.0.0/24');
  assert.ok(
    !r0.includes('203.0.113.0/25'),
    `n0 never imports inside its customimportreject: ${r0.join(' ')}`,
  );
  gobgp('global', 'rib', 'del', '203.0.113.0/25', '-a', 'ipv4');
  gobgp('global', 'rib', 'del', '198.18.0.0/24', '-a', 'ipv4');
  for (const c of controllers) c.send({ nodes: nodes() });
  await waitFor('n0 back to a plain path', () => pathAt(cidr(0), n0)?.asPath === '64512', 45_000);
});

test('a bad Service annotation is a problem on the Service, and the other sessions stay', async () => {
  feed([service({}, { 'kube-router.io/service.advertise.clusterip': 'sure' })]);
  await waitFor('the problem', () =>
    controllers[0].lines.some(
      (l) =>
        l.type === 'problems' && JSON.stringify(l).includes('kube-router.io/service.advertise.clusterip'),
    ),
  );
  await waitFor('10.96.0.10/32 withdrawn', () => !rib().has('10.96.0.10/32'));
  const d = await controllers[0].dump();
  assert.ok(d.neighbors.every((n) => n.state === 'established'));
  assert.equal(hops(cidr(0)), '10.250.0.10');
});

test('--advertise-service-cluster-ip-range announces the range instead of each cluster IP', async () => {
  await controllers[0].stop();
  await waitFor('n0 gone from the router', () => !rib().has(cidr(0)));
  controllers[0] = new Controller(0, { ...options, advertiseServiceClusterIPRanges: ['10.96.0.0/16'] });
  controllers[0].send({ nodes: nodes() });
  feed([service({})]);
  await waitFor('10.96.0.0/16 from n0', () => hops('10.96.0.0/16') === '10.250.0.10');
  await waitFor('10.96.0.10/32 from n1 only', () => hops('10.96.0.10/32') === '10.250.0.11');
});

async function apply(manifest: unknown): Promise<void> {
  const file = join(dir, `m-${Date.now()}-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify(manifest));
  await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
  rmSync(file);
}

test(
  'kubegate node --bgp announces a real Service, Local by its EndpointSlice, and reports a bad Node annotation as an Event',
  { skip: process.env.KUBEGATE_DEV_DIR ? false : 'needs the control plane (run with the e2e global setup)' },
  async () => {
    for (const c of controllers) await c.stop();
    await waitFor('the nodes gone from the router', () => !rib().has(cidr(0)) && !rib().has(cidr(1)));
    // Their own ASN, so the cluster's real nodes (64512) stay out of their mesh; the router follows.
    for (const n of lab.nodes) {
      gobgp('neighbor', 'del', n.ip);
      gobgp('neighbor', 'add', n.ip, 'as', '65100');
    }
    for (const [i, n] of lab.nodes.entries()) {
      const name = apiNodes()[i];
      await apply({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, annotations: { 'kube-router.io/node.asn': '65100' } },
        spec: { podCIDR: cidr(i), podCIDRs: [cidr(i)] },
      });
      await kubectl('gateway.kubeconfig', ['patch', 'node', name, '--subresource=status', '--type=merge', '-p',
        JSON.stringify({ status: { addresses: [{ type: 'InternalIP', address: n.ip }] } })]); // prettier-ignore
    }
    await kubectl('gateway.kubeconfig', ['create', 'namespace', prefix]);
    await apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: prefix },
      spec: { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ port: 80, protocol: 'TCP' }] },
    });
    const clusterIP = (
      await kubectl('gateway.kubeconfig', [
        '-n',
        prefix,
        'get',
        'service',
        'web',
        '-o',
        'jsonpath={.spec.clusterIP}',
      ])
    ).trim();
    await apply({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-1', namespace: prefix, labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.5'], nodeName: apiNodes()[0], conditions: { ready: true } }],
      ports: [{ port: 80, protocol: 'TCP' }],
    });
    const kdir = devDir();
    for (const [i, n] of lab.nodes.entries()) {
      const args = ['node', '--node-name', apiNodes()[i], '--kubeconfig', join(kdir, 'node-agent.kubeconfig'),
        '--api-socket', join(kdir, 'node-api.sock'), '--bgp', '--service-cluster-ip-range', '10.96.0.0/16',
        '--peer-router-ips', ROUTER, '--peer-router-asns', '65000', '--advertise-cluster-ip',
        '--log-level', 'warn']; // prettier-ignore
      const child = spawn('ip', ['netns', 'exec', n.netns, process.execPath, MAIN, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout?.on('data', (d: Buffer) => (agentLogs[i] += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (agentLogs[i] += d.toString()));
      agents.push(child);
    }
    const show = (): string => agentLogs.map((l, i) => `--- n${i}\n${l.slice(-3000)}`).join('\n');
    await waitFor(
      `${clusterIP}/32 from n0 only\n${show()}`,
      () => hops(`${clusterIP}/32`) === '10.250.0.10',
      60_000,
    );
    // n1's own pod CIDR comes from n1's session, which may come up a moment after n0's.
    await waitFor(`${cidr(1)} from n1\n${show()}`, () => hops(cidr(1)) === '10.250.0.11', 30_000);
    await kubectl('gateway.kubeconfig', ['-n', prefix, 'delete', 'endpointslice', 'web-1']);
    await waitFor(`${clusterIP}/32 withdrawn`, () => !rib().has(`${clusterIP}/32`), 10_000);

    const up = (): string => gobgp('neighbor');
    await kubectl('gateway.kubeconfig', ['annotate', 'node', apiNodes()[1], 'kube-router.io/rr.server=blue']);
    const events = async (): Promise<string> =>
      kubectl('gateway.kubeconfig', ['get', 'events', '-A', '--field-selector',
        `involvedObject.kind=Node,involvedObject.name=${apiNodes()[1]}`, '-o', 'json']); // prettier-ignore
    const deadline = Date.now() + 20_000;
    let seen = '';
    while (!seen.includes('kube-router.io/rr.server') && Date.now() < deadline) {
      seen = await events();
      await sleep(300);
    }
    assert.match(
      seen,
      /kube-router\.io\/rr\.server.*blue|blue.*kube-router\.io\/rr\.server/,
      'a Warning Event on the Node',
    );
    assert.match(seen, /"type": "Warning"/);
    await sleep(2000);
    assert.equal(hops(cidr(0)), '10.250.0.10', 'the router keeps its sessions');
    assert.equal(hops(cidr(1)), '10.250.0.11');
    assert.doesNotMatch(up(), /Idle|Active|Connect/, 'every neighbor of the router established');
  },
);
