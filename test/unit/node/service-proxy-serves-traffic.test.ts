// The Service proxy's tables, applied by the applier into a node namespace with a bridge and three
// pod namespaces, carry real connections: balanced, sticky with ClientIP affinity, rejected without
// endpoints, hairpinned, reached on a NodePort, and re-balanced by an element-only transaction.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { UDPConntrackCleaner } from '../../../src/node/conntrack.ts';
import { Applier, type AppliedTransaction } from '../../../src/node/nft/apply.ts';
import { serviceProxyTables, type EndpointSlice, type Service } from '../../../src/node/service/index.ts';
import { createNetns, type TestNetns } from './netns.ts';

const run = promisify(execFile);
const log = pino({ level: 'silent' });
const NODE_IP = '10.244.0.1';
const PODS = { a: '10.244.0.2', b: '10.244.0.3', c: '10.244.0.4' } as const;
const PODS6 = { a: 'fd00:244::2', b: 'fd00:244::3', c: 'fd00:244::4' } as const;

let nodeNs: TestNetns;
const pods = new Map<string, TestNetns>();
const servers: ChildProcess[] = [];
const txs: AppliedTransaction[] = [];
let applier: Applier;

before(async () => {
  nodeNs = await createNetns('node');
  await nodeNs.exec('ip', 'link', 'add', 'kgbr0', 'type', 'bridge');
  await nodeNs.exec('ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', 'kgbr0');
  await nodeNs.exec('ip', '-6', 'addr', 'add', 'fd00:244::1/64', 'dev', 'kgbr0', 'nodad');
  await nodeNs.exec('ip', 'link', 'set', 'kgbr0', 'up');
  await nodeNs.exec('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
  await nodeNs.exec('sysctl', '-qw', 'net.bridge.bridge-nf-call-ip6tables=1');
  await nodeNs.exec('sysctl', '-qw', 'net.ipv4.ip_forward=1');
  await nodeNs.exec('sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=1');
  for (const [name, ip] of Object.entries(PODS)) {
    const ns = await createNetns(`pod${name}`);
    pods.set(name, ns);
    const host = `kgn1v${name}${process.pid % 10000}`;
    await run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name]);
    await run('ip', ['link', 'set', host, 'netns', nodeNs.name]);
    await nodeNs.exec('ip', 'link', 'set', host, 'master', 'kgbr0', 'up');
    await nodeNs.exec('bridge', 'link', 'set', 'dev', host, 'hairpin', 'on');
    await ns.exec('ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await ns.exec('ip', 'link', 'set', 'eth0', 'up');
    await ns.exec('ip', 'route', 'add', 'default', 'via', NODE_IP);
    await ns.exec(
      'ip',
      '-6',
      'addr',
      'add',
      `${PODS6[name as keyof typeof PODS6]}/64`,
      'dev',
      'eth0',
      'nodad',
    );
    await ns.exec('ip', '-6', 'route', 'add', 'default', 'via', 'fd00:244::1');
    if (name !== 'c') {
      const s = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns.name,
          'socat',
          'TCP6-LISTEN:8080,fork,reuseaddr,ipv6only=0',
          `SYSTEM:echo ${name}`,
        ],
        {
          stdio: 'ignore',
        },
      );
      servers.push(s);
      const u = spawn(
        'ip',
        ['netns', 'exec', ns.name, 'socat', 'UDP-RECVFROM:5353,fork', `SYSTEM:echo ${name}`],
        {
          stdio: 'ignore',
        },
      );
      servers.push(u);
    }
  }
  applier = new Applier({ log, nft: nodeNs.nft, driftCheckMs: 0, onTransaction: (t) => txs.push(t) });
  await new Promise((r) => setTimeout(r, 300)); // socat listening
});

after(async () => {
  await applier?.close();
  for (const s of servers) s.kill();
  for (const ns of pods.values()) await ns.delete();
  await nodeNs?.delete();
});

function service(name: string, ip: string, extra: Partial<NonNullable<Service['spec']>> = {}): Service {
  return {
    metadata: { name, namespace: 'default' },
    spec: {
      type: 'ClusterIP',
      clusterIP: ip,
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      ...extra,
    },
  };
}

function slice(svc: string, ips: string[]): EndpointSlice {
  return {
    metadata: { name: `${svc}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'n1', conditions: { ready: true } })),
  };
}

async function program(
  services: Service[],
  slices: EndpointSlice[],
): Promise<ReturnType<typeof serviceProxyTables>> {
  const out = serviceProxyTables({
    nodeName: 'n1',
    nodeIPs: [NODE_IP],
    clusterCIDRs: ['10.244.0.0/24'],
    services,
    endpointSlices: slices,
  });
  await applier.apply({ tables: out.tables });
  return out;
}

/** Connects from a pod and returns what the server said (or the error). */
async function connect(from: string, ip: string, port: number): Promise<string> {
  try {
    const { stdout } = await run(
      'ip',
      [
        'netns',
        'exec',
        pods.get(from)!.name,
        'socat',
        '-u',
        '-T2',
        `TCP:${ip}:${port},connect-timeout=2`,
        '-',
      ],
      { timeout: 5000 },
    );
    return stdout.trim();
  } catch (err) {
    return `error: ${(err as { stderr?: string }).stderr ?? (err as Error).message}`;
  }
}

async function tally(from: string, ip: string, port: number, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await connect(from, ip, port);
    counts[r] = (counts[r] ?? 0) + 1;
  }
  return counts;
}

const ALL = [
  service('web', '10.96.0.10'),
  service('sticky', '10.96.0.11', {
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
  }),
  service('empty', '10.96.0.12'),
  service('self', '10.96.0.13'),
  service('np', '10.96.0.14', {
    type: 'NodePort',
    ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
  }),
];
const SLICES = [
  slice('web', [PODS.a, PODS.b]),
  slice('sticky', [PODS.a, PODS.b]),
  slice('self', [PODS.a]),
  slice('np', [PODS.b]),
];

test('a ClusterIP balances new connections over both endpoints round-robin', async () => {
  await program(ALL, SLICES);
  const counts = await tally('c', '10.96.0.10', 80, 12);
  assert.deepEqual(Object.keys(counts).sort(), ['a', 'b'], JSON.stringify(counts));
  assert.ok(counts.a! >= 4 && counts.b! >= 4, JSON.stringify(counts));
});

test('ClientIP session affinity sends one client to one endpoint', async () => {
  const counts = await tally('c', '10.96.0.11', 80, 8);
  assert.equal(Object.keys(counts).length, 1, JSON.stringify(counts));
  assert.ok(['a', 'b'].includes(Object.keys(counts)[0]!));
});

test('a Service without endpoints is rejected at once (TCP reset), not left to time out', async () => {
  const started = Date.now();
  const r = await connect('c', '10.96.0.12', 80);
  assert.match(r, /Connection refused/);
  assert.ok(Date.now() - started < 1500);
});

test('a pod reaches itself through its Service (hairpin)', async () => {
  assert.equal(await connect('a', '10.96.0.13', 80), 'a');
});

test('a NodePort on the node address reaches the endpoint', async () => {
  assert.equal(await connect('c', NODE_IP, 30080), 'b');
});

test('an endpoint removed is one element-only transaction, and traffic stops going to it', async () => {
  const before = txs.length;
  await program(ALL, [slice('web', [PODS.a]), ...SLICES.slice(1)]);
  assert.equal(txs.length, before + 1);
  const tx = txs.at(-1)!;
  assert.equal(tx.kind, 'incremental');
  // Elements only; the shared one-slot chain already existed, the two-slot one is now unused.
  assert.doesNotMatch(tx.script, /add rule|add chain/, tx.script);
  const counts = await tally('c', '10.96.0.10', 80, 4);
  assert.deepEqual(counts, { a: 4 });
});

function udpSlice(ips: string[]): EndpointSlice {
  return {
    metadata: { name: 'dns-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'dns' } },
    addressType: 'IPv4',
    ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], nodeName: 'n1', conditions: { ready: true } })),
  };
}

/** One datagram from a fixed source port (so every call is the same conntrack flow); the reply. */
async function udpAsk(): Promise<string> {
  const { stdout } = await run(
    'ip',
    [
      'netns',
      'exec',
      pods.get('c')!.name,
      'sh',
      '-c',
      'echo q | socat -T1 - UDP:10.96.0.53:53,sourceport=40053,reuseaddr',
    ],
    { timeout: 5000 },
  ).catch((err: { stdout?: string; stderr?: string }) => ({
    stdout: `${err.stdout ?? ''} ${err.stderr ?? ''}`,
  }));
  return stdout.trim();
}

test('a UDP flow follows a removed endpoint until its conntrack entry is deleted, and moves after', async () => {
  const dns: Service = {
    metadata: { name: 'dns', namespace: 'default' },
    spec: { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
  };
  const cleaner = new UDPConntrackCleaner(log, ['ip', 'netns', 'exec', nodeNs.name, 'conntrack']);
  let out = await program([...ALL, dns], [...SLICES, udpSlice([PODS.a, PODS.b])]);
  await cleaner.update(out.udp);
  const first = await udpAsk();
  assert.ok(first === 'a' || first === 'b', `reply: ${JSON.stringify(first)}`);
  assert.equal(await udpAsk(), first, 'the same flow, the same endpoint');
  const other = first === 'a' ? PODS.b : PODS.a;
  out = await program([...ALL, dns], [...SLICES, udpSlice([other])]);
  assert.equal(await udpAsk(), first, 'without cleanup the flow keeps its removed endpoint');
  const gone = await cleaner.update(out.udp);
  assert.deepEqual(gone, [{ ip: '10.96.0.53', port: 53, endpoint: first === 'a' ? PODS.a : PODS.b }]);
  assert.equal(await udpAsk(), first === 'a' ? 'b' : 'a');
});

test('a dual-stack ClusterIP answers on its IPv6 address through the ip6 table', async () => {
  const v6: Service = {
    metadata: { name: 'v6', namespace: 'default' },
    spec: { clusterIPs: ['10.96.0.60', 'fd00:96::60'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
  const v6slice: EndpointSlice = {
    metadata: { name: 'v6-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'v6' } },
    addressType: 'IPv6',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [PODS6.b], nodeName: 'n1', conditions: { ready: true } }],
  };
  await program([...ALL, v6], [...SLICES, v6slice]);
  assert.equal(await connect('c', '[fd00:96::60]', 80), 'b');
  // The IPv4 address of the same Service has no IPv4 endpoints: rejected, not blackholed.
  assert.match(await connect('c', '10.96.0.60', 80), /Connection refused/);
});
