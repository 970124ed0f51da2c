import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stopChild } from './haproxy.ts';
import { deleteTables, type ServiceProxy } from './service-proxy.ts';

const run = promisify(execFile);

// kube-proxy (tools/e2e-suites/provide.sh builds v1.37.2) in a node namespace of a `kubegate dev`
// lab, as it runs on a real node: a process in the node's network namespace, nftables mode.

export interface KubeProxyOptions {
  /** kube-proxy's binary. */
  bin: string;
  netns: string;
  nodeName: string;
  /** A kubeconfig whose server is `https://127.0.0.1:<port>` (kubegate's endpoint in the root namespace). */
  kubeconfig: string;
  /** That port: inside the namespace, a forwarder listens on 127.0.0.1:<port> and joins `apiSocket`. */
  apiPort: number;
  /** A unix socket in the root namespace joined to 127.0.0.1:<apiPort> (see RootAPISocket). */
  apiSocket: string;
  clusterCIDR: string;
  logDir: string;
}

/** kube-proxy's default metrics port, in each node namespace. */
export const KUBE_PROXY_METRICS_PORT = 10249;
const TABLES = ['ip kube-proxy', 'ip6 kube-proxy'];

export interface RunningKubeProxy {
  readonly proxy: ChildProcess;
  readonly forwarder: ChildProcess;
  stop(): Promise<void>;
}

function start(cmd: string, args: readonly string[], log: string): ChildProcess {
  const fd = openSync(log, 'a');
  const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', cmd, ...args], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

/** A unix socket in the root namespace whose connections go to 127.0.0.1:<port> (socat). */
export function rootAPISocket(path: string, port: number, log: string): ChildProcess {
  return start('socat', [`UNIX-LISTEN:${path},fork,unlink-early`, `TCP:127.0.0.1:${port}`], log);
}

/**
 * Starts kube-proxy in `netns`. Conntrack sysctls are left alone (`--conntrack-*=0`): a network
 * namespace may not write them, and the lab shares the host's conntrack table sizes.
 */
export function startKubeProxy(o: KubeProxyOptions): RunningKubeProxy {
  const forwarder = start(
    'ip',
    ['netns', 'exec', o.netns, 'socat', `TCP-LISTEN:${o.apiPort},bind=127.0.0.1,fork,reuseaddr`,
      `UNIX-CONNECT:${o.apiSocket}`], // prettier-ignore
    join(o.logDir, `socat-${o.nodeName}.log`),
  );
  const proxy = start(
    'ip',
    ['netns', 'exec', o.netns, o.bin, '--proxy-mode=nftables', `--hostname-override=${o.nodeName}`,
      `--cluster-cidr=${o.clusterCIDR}`, `--kubeconfig=${o.kubeconfig}`, '--conntrack-max-per-core=0',
      '--conntrack-min=0', '--conntrack-tcp-timeout-established=0', '--conntrack-tcp-timeout-close-wait=0',
      `--metrics-bind-address=127.0.0.1:${KUBE_PROXY_METRICS_PORT}`, '--v=2'], // prettier-ignore
    join(o.logDir, `kube-proxy-${o.nodeName}.log`),
  );
  return {
    proxy,
    forwarder,
    async stop() {
      await stopChild(proxy, 5000);
      await stopChild(forwarder, 2000);
    },
  };
}

/** kube-proxy on every node of a lab (see startKubeProxy); `stop` runs its `--cleanup` in each. */
export class KubeProxyNodes implements ServiceProxy {
  readonly name = 'kube-proxy';
  readonly tables = TABLES;
  // The IPv4 proxier's: every Service here is IPv4 (the IPv6 one only makes its periodic syncs).
  readonly syncMetric = 'kubeproxy_sync_proxy_rules_duration_seconds{ip_family="IPv4"}';
  readonly metricsPort = KUBE_PROXY_METRICS_PORT;
  /** Tables its `--cleanup` left behind (and the bench then deleted), by namespace. */
  readonly leftBehind: string[] = [];
  readonly #opts: Omit<KubeProxyOptions, 'netns' | 'nodeName'>;
  readonly #nodes: readonly { name: string; netns: string }[];
  #running: RunningKubeProxy[] = [];

  constructor(
    opts: Omit<KubeProxyOptions, 'netns' | 'nodeName'>,
    nodes: readonly { name: string; netns: string }[],
  ) {
    this.#opts = opts;
    this.#nodes = nodes;
  }

  async start(): Promise<void> {
    this.#running = this.#nodes.map((n) =>
      startKubeProxy({ ...this.#opts, netns: n.netns, nodeName: n.name }),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(this.#running.map((r) => r.stop()));
    this.#running = [];
    for (const n of this.#nodes) {
      await run('ip', ['netns', 'exec', n.netns, this.#opts.bin, '--cleanup', '--proxy-mode=nftables'], {
        timeout: 60_000,
      }).catch(() => undefined);
      for (const t of await deleteTables(n.netns, TABLES)) this.leftBehind.push(`${n.name}: ${t}`);
    }
  }
}
