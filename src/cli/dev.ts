import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { BinariesError, provideBinaries } from '../dev/binaries.ts';
import { APISERVICE_ADDRESS, APISERVICE_NAME, registerClusterGatewayAPIService } from '../dev/apiservice.ts';
import { ControlPlane } from '../dev/control-plane.ts';
import { writeKubeconfig } from '../dev/kubeconfig.ts';
import { DEV_GATEWAY_CLASS, LocalGatewayAPI } from '../dev/gateway-api.ts';
import { CLUSTER_DOMAIN, LocalClusterDns } from '../dev/cluster-dns.ts';
import { LocalNodeNetworking } from '../dev/node-networking.ts';
import { LocalNodes } from '../dev/nodes.ts';
import { SERVICE_CIDR } from '../dev/flags.ts';
import { freePort } from '../dev/ports.ts';
import type { RunningGateway } from '../gateway.ts';
import { KubeClient } from '../kube/client.ts';
import { CLUSTER_SECRETS_NAMESPACE } from '../dev/rbac.ts';
import { UsageError } from './errors.ts';
import { serveFile, type ServingGateway } from './serve.ts';

const MARKER = '.kubegate-dev';
const PIDFILE = 'kubegate-dev.pid';
/**
 * kubegate's log, access log included, relative to the folder. Not beside kubegate.yaml: the
 * configuration watcher watches that folder, and each log write would wake it.
 */
const DEV_GATEWAY_LOG = join('logs', 'kubegate.log');

function say(msg: string): void {
  process.stdout.write(`kubegate dev: ${msg}\n`);
}

function intFlag(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`dev: --${name} must be an integer from ${min} to ${max}, got "${String(v)}"`);
  return n;
}

/** Refuses a folder another kubegate dev is using, or one with someone else's files in it. */
function claimDir(dir: string): void {
  if (!existsSync(dir)) return;
  const entries = readdirSync(dir);
  if (entries.length === 0) return;
  if (!entries.includes(MARKER))
    throw new UsageError(`dev: --dir ${dir} is not empty and was not made by kubegate dev`);
  const pid = Number(existsSync(join(dir, PIDFILE)) ? readFileSync(join(dir, PIDFILE), 'utf8') : NaN);
  if (Number.isInteger(pid) && pid !== process.pid && alive(pid))
    throw new UsageError(`dev: --dir ${dir} is busy: kubegate dev (pid ${pid}) is using it`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The binaries `kubegate dev` runs: the control plane, and the programs its pods' images map to. */
const DEV_BINARIES = [
  'kube-apiserver',
  'etcd',
  'kube-controller-manager',
  'kube-scheduler',
  'agnhost',
  'echo-basic',
];

/**
 * `kubegate dev`: etcd + N kube-apiservers + controller-manager + scheduler, with kubegate in
 * front, and nodes (podlets in network namespaces), until Ctrl-C.
 */
export async function dev(v: Record<string, unknown>): Promise<number> {
  const n = intFlag(v.apiservers, 'apiservers', 3, 1, 9);
  const nodeCount = intFlag(v.nodes, 'nodes', 1, 0, 16);
  const port = intFlag(v.port, 'port', 0, 0, 65535);
  const withGatewayAPI = v['gateway-api'] === true;
  if (withGatewayAPI && nodeCount === 0)
    throw new UsageError('dev: --gateway-api needs nodes (its Gateways serve pods): drop --nodes 0');
  const withNodeNetworking = v['node-networking'] === true;
  if (withNodeNetworking && nodeCount === 0)
    throw new UsageError('dev: --node-networking needs nodes (it runs in each): drop --nodes 0');
  if (v['static-pod-routes'] === true && !withNodeNetworking)
    throw new UsageError('dev: --static-pod-routes is for --node-networking (without it routes are static)');
  // With node networking the nodes announce their pod CIDRs over BGP (to each other and to the
  // underlay's router) instead of the podlets' static routes on the underlay.
  const withBgp = withNodeNetworking && v['static-pod-routes'] !== true;
  const dir = typeof v.dir === 'string' ? resolve(v.dir) : await mkdtemp(join(tmpdir(), 'kubegate-dev-'));
  claimDir(dir);
  // A previous run's cluster is not reused: start clean, keep only what is ours to remove
  // (kubegate.log: where kubegate's log was before it moved to logs/).
  for (const d of ['pki', 'etcd', 'audit', 'logs', 'nodes', 'kubelets'])
    await rm(join(dir, d), { recursive: true, force: true });
  for (const f of ['kubegate.log', 'admin.url']) await rm(join(dir, f), { force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MARKER), 'made by kubegate dev\n');
  await writeFile(join(dir, PIDFILE), String(process.pid));

  let bin: string;
  try {
    bin = await provideBinaries(DEV_BINARIES);
  } catch (err) {
    if (err instanceof BinariesError) throw new UsageError(`dev: ${err.message}`);
    throw err;
  }

  let stopping = false;
  let cp: ControlPlane | null = null;
  let serving: ServingGateway | null = null;
  let nodes: LocalNodes | null = null;
  let gatewayAPI: LocalGatewayAPI | null = null;
  let nodeNetworking: LocalNodeNetworking | null = null;
  let clusterDns: LocalClusterDns | null = null;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    await gatewayAPI?.stop();
    await nodeNetworking?.stop();
    await clusterDns?.stop();
    await nodes?.stop();
    await serving?.stop(2000);
    await cp?.stop();
    await rm(join(dir, PIDFILE), { force: true });
  };
  let ready = false;
  const signalled = new Promise<void>((res) => {
    const onSignal = () => {
      if (ready) return res();
      // Still starting: stop what is up and leave.
      void stop().then(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });

  try {
    say(`starting in ${dir}`);
    cp = await ControlPlane.start({ dir, apiservers: n, binDir: bin, log: (m) => say(m) });
    const gwPort = port || (await freePort());
    // The gateway's own identity, pointed at the gateway itself: its UpstreamCluster watch rides the
    // same balanced upstream sessions as client traffic (no replica of its own, no extra connections).
    const upstreamKubeconfig = join(dir, 'gateway-upstream.kubeconfig');
    await writeKubeconfig(
      upstreamKubeconfig,
      'kubegate-upstream',
      `https://127.0.0.1:${gwPort}`,
      cp.pki.ca.cert,
      cp.pki.gatewayUpstream,
    );
    const cfg = devConfiguration(cp, gwPort, await freePort(), dir, upstreamKubeconfig);
    const file = join(dir, 'kubegate.yaml');
    await writeFile(file, DEV_CONFIG_HEADER + stringify(cfg));
    const dest = join(dir, DEV_GATEWAY_LOG);
    const log = pino({ base: undefined }, pino.destination({ dest, mkdir: true, sync: true }));
    serving = await serveFile(file, log);
    const gw: RunningGateway = serving.gateway;
    const url = `https://127.0.0.1:${gw.address.port}`;
    const kubeconfig = join(dir, 'gateway.kubeconfig');
    await writeKubeconfig(kubeconfig, 'kubegate-dev', url, cp.pki.ca.cert, cp.pki.admin);
    await waitReady(url, cp, gw, n);
    // The ClusterGateway API as an aggregated API of this cluster, served by the gateway.
    cp.exposeToAPIServers(APISERVICE_ADDRESS, gw.address.port);
    const registrar = cp.adminClient(0);
    try {
      await registerClusterGatewayAPIService(
        registrar,
        gw.address.port,
        readFileSync(cp.pki.ca.cert, 'utf8'),
      );
    } finally {
      registrar.close();
    }
    if (nodeCount > 0) {
      nodes = await LocalNodes.start({
        dir,
        count: nodeCount,
        server: url,
        ca: cp.pki.ca,
        binDir: bin,
        underlayPodRoutes: !withBgp,
        log: (m) => say(m),
      });
      const admin = cp.adminClient(0);
      try {
        await nodes.waitReady(admin);
        const perNode = { dir, nodes: nodes.nodes, server: url, ca: cp.pki.ca, admin, log: say };
        clusterDns = await LocalClusterDns.start(perNode);
        if (withNodeNetworking)
          nodeNetworking = await LocalNodeNetworking.start({
            ...perNode,
            bgp: withBgp ? { underlayNetns: nodes.lab.underlayNetns, serviceCIDR: SERVICE_CIDR } : null,
          });
        if (withGatewayAPI)
          gatewayAPI = await LocalGatewayAPI.start({
            dir,
            lab: nodes.lab,
            server: url,
            ca: cp.pki.ca,
            admin,
            log: (m) => say(m),
          });
      } finally {
        admin.close();
      }
    }
    const cpNow = cp;
    const nodesNow = nodes;
    const gatewayAPINow = gatewayAPI as LocalGatewayAPI | null;
    const nodeNetworkingNow = nodeNetworking as LocalNodeNetworking | null;
    const clusterDnsNow = clusterDns as LocalClusterDns | null;
    // Rewritten when apiservers restart, while tests read it: a whole file, swapped in by rename.
    const writeState = () =>
      writeWhole(
        join(dir, 'state.json'),
        JSON.stringify(
          {
            gateway: url,
            apiservers: cpNow.apiservers.map((a) => a.url),
            pids: {
              kubegate: process.pid,
              ...cpNow.pids(),
              ...Object.fromEntries((nodesNow?.nodes ?? []).map((x) => [`podlet-${x.name}`, x.process.pid])),
              ...(gatewayAPINow ? { 'gateway-api': gatewayAPINow.process.pid } : {}),
              ...Object.fromEntries(
                (nodeNetworkingNow?.agents ?? []).map((a) => [`node-${a.node}`, a.process.pid]),
              ),
              ...Object.fromEntries(
                (clusterDnsNow?.daemons ?? []).map((a) => [`dns-${a.node}`, a.process.pid]),
              ),
            },
            nodes: (nodesNow?.nodes ?? []).map((x) => ({ name: x.name, internalIP: x.ip, netns: x.netns })),
            lab: nodesNow ? { underlayNetns: nodesNow.lab.underlayNetns } : null,
            nodeNetworking: nodeNetworkingNow !== null,
            podRoutes: nodeNetworkingNow === null ? null : withBgp ? 'bgp' : 'static',
            clusterDNS: clusterDnsNow
              ? { domain: CLUSTER_DOMAIN, servers: 'each node on its InternalIP, port 53' }
              : null,
            gatewayAPI: gatewayAPINow
              ? {
                  gatewayClass: DEV_GATEWAY_CLASS,
                  netns: gatewayAPINow.host.netns,
                  addressPool: gatewayAPINow.host.addressPool,
                }
              : null,
          },
          null,
          2,
        ),
      );
    await writeState();
    const adminURL = gw.admin?.url;
    if (adminURL) await writeFile(join(dir, 'admin.url'), adminURL + '\n');
    say(`gateway       ${url}`);
    if (adminURL) say(`admin         ${adminURL}   (/metrics, /readyz, /status.json, status page at /)`);
    for (const a of cp.apiservers) say(`apiserver-${a.index}   ${a.url}   (audit: ${a.auditLog})`);
    for (const x of nodes?.nodes ?? [])
      say(`node          ${x.name}   ${x.ip} (network namespace ${x.netns})`);
    if (nodeNetworkingNow)
      say(
        `node networking  kubegate node in every node: Services and NetworkPolicies${withBgp ? ', pod routes over BGP (underlay router: logs/underlay-router.log)' : ''} (logs/node-*.log); try examples/node-networking/`,
      );
    say(`kubeconfig    ${kubeconfig}`);
    say(`logs          ${join(dir, 'logs')}   (kubegate.log: the gateway's, access log included)`);
    say(`try:          kubectl --kubeconfig ${kubeconfig} get namespaces`);
    say(
      `clustergateway APIService ${APISERVICE_NAME} → the gateway (Secrets of ${CLUSTER_SECRETS_NAMESPACE}); try:`,
    );
    say(`              kubectl --kubeconfig ${cp.apiservers[0].kubeconfig} get clustergateways -o wide`);
    if (gatewayAPINow && nodesNow) {
      const k = `kubectl --kubeconfig ${kubeconfig}`;
      say(
        `gateway api   GatewayClass ${DEV_GATEWAY_CLASS}, Gateways on ${gatewayAPINow.host.addressPool} (logs/gateway-api.log)`,
      );
      say(`try:          ${k} apply -f ${EXAMPLE_DIR}`);
      say(`              ${k} wait --for=condition=Programmed gateway/example --timeout=60s`);
      say(
        `              ip netns exec ${nodesNow.lab.underlayNetns} curl -H 'Host: echo.example.com' http://$(${k} get gateway example -o jsonpath='{.status.addresses[0].value}')/`,
      );
    }
    // SIGHUP restarts any apiserver that is not running (tests kill one to see the gateway cope).
    process.on('SIGHUP', () => {
      for (const a of cpNow.apiservers) cpNow.startAPIServer(a.index);
      void writeState().then(() => say('restarted stopped apiservers'));
    });
    ready = true;
    say('ready');
  } catch (err) {
    await stop();
    throw err;
  }
  await signalled;
  await stop();
  return 0;
}

/** Until every apiserver is healthy behind the gateway and `/readyz` answers through it. */
async function waitReady(url: string, cp: ControlPlane, gw: RunningGateway, n: number): Promise<void> {
  const client = new KubeClient({
    server: url,
    ca: readFileSync(cp.pki.ca.cert, 'utf8'),
    cert: readFileSync(cp.pki.admin.cert, 'utf8'),
    key: readFileSync(cp.pki.admin.key, 'utf8'),
  });
  let ok = 0;
  const deadline = Date.now() + 60_000;
  try {
    while (Date.now() < deadline) {
      // All replicas healthy, then n answers in a row: round-robin sends one to each.
      const res =
        gw.cluster(DEV_CLUSTER)?.upstream.healthyCount === n
          ? await client.raw('GET', '/readyz', undefined, 5000).catch(() => null)
          : null;
      ok = res?.status === 200 ? ok + 1 : 0;
      if (ok >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
  throw new Error(`the gateway did not become ready within 60s; see ${join(cp.dir, DEV_GATEWAY_LOG)}`);
}

const DEV_CLUSTER = 'dev';
const EXAMPLE_DIR = fileURLToPath(new URL('../../examples/gateway-api/', import.meta.url));
const DEV_CONFIG_HEADER = `# Written by kubegate dev. Edit it while kubegate dev runs: changes apply live
# (see docs/configuration.md); an invalid edit is logged to logs/kubegate.log and changes nothing.
`;

/** The configuration kubegate dev runs with: one listener, one cluster of N apiservers, CRDs watched. */
function devConfiguration(
  cp: ControlPlane,
  port: number,
  adminPort: number,
  dir: string,
  kubeconfig: string,
): Record<string, unknown> {
  return {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [
      {
        name: 'main',
        address: '127.0.0.1',
        port,
        tls: {
          certFile: cp.pki.gatewayServing.cert,
          keyFile: cp.pki.gatewayServing.key,
          clientCAFile: cp.pki.ca.cert,
        },
        cluster: DEV_CLUSTER,
      },
    ],
    clusters: [
      {
        name: DEV_CLUSTER,
        endpoints: cp.apiservers.map((a) => ({ name: `apiserver-${a.index}`, url: a.url })),
        upstreamCA: { file: cp.pki.ca.cert },
        credentials: { certFile: cp.pki.gatewayUpstream.cert, keyFile: cp.pki.gatewayUpstream.key },
        balancer: 'round-robin',
        healthCheck: { intervalSeconds: 1, timeoutSeconds: 1, rise: 1, fall: 2 },
        // The dev apiservers' aggregator (front-proxy-client) may assert identities, as for an
        // APIService of the ClusterGateway API (docs/clustergateway.md).
        frontProxy: { clientCAFile: cp.pki.frontProxyCA.cert, allowedNames: ['front-proxy-client'] },
        rules: [],
      },
    ],
    kubernetes: { kubeconfigFile: kubeconfig, clusterGatewaySecretNamespace: CLUSTER_SECRETS_NAMESPACE },
    accessLog: { path: join(dir, DEV_GATEWAY_LOG) },
    admin: { address: '127.0.0.1', port: adminPort },
  };
}

/** Writes `path` so that a reader sees the old content or the new, never a part. */
async function writeWhole(path: string, text: string): Promise<void> {
  await writeFile(`${path}.tmp`, text);
  await rename(`${path}.tmp`, path);
}
