import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1Node } from '@kubernetes/client-node';
import type { KubeClient } from '../kube/client.ts';
import { CLUSTER_DOMAIN } from './cluster-dns.ts';
import { kubeletSocket } from './egress-proxy.ts';
import { createLab, sweepLabs, type Lab } from './lab/index.ts';
import { issueCert, type CertFiles } from './pki.ts';
import type { PodletConfig } from './podlet/podlet.ts';
import { startProcess, stopProcess, type ManagedProcess } from './process.ts';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface LocalNodesOptions {
  dir: string;
  count: number;
  /** The API server URL the podlets talk to (the gateway, as real kubelets would). */
  server: string;
  ca: CertFiles;
  binDir: string;
  /**
   * False: the underlay gets no static routes to the nodes' pod CIDRs; the nodes announce them
   * over BGP (`LocalNodeNetworking` with `bgp`).
   */
  underlayPodRoutes?: boolean;
  log: (msg: string) => void;
}

/** One node of the local cluster: a network namespace on the lab's underlay and its podlet. */
export interface LocalNode {
  readonly name: string;
  readonly ip: string;
  readonly netns: string;
  readonly process: ManagedProcess;
}

/**
 * The local cluster's nodes: the lab network (an underlay namespace joining one namespace per node)
 * and a podlet process per node. Every namespace carries a prefix of this run's own, so a second
 * `kubegate dev` on the machine never meets them; a crashed run's leftovers are swept at start.
 */
export class LocalNodes {
  readonly nodes: LocalNode[] = [];
  readonly lab: Lab;

  private constructor(lab: Lab) {
    this.lab = lab;
  }

  static async start(opts: LocalNodesOptions): Promise<LocalNodes> {
    await sweepLabs();
    const prefix = `kgd${process.pid.toString(36)}`;
    const names = Array.from({ length: opts.count }, (_, i) => `node-${i + 1}`);
    opts.log(`creating the lab network for ${names.join(', ')} (network namespaces ${prefix}-*)`);
    const lab = await createLab({ prefix, nodes: names });
    const nodes = new LocalNodes(lab);
    try {
      for (const labNode of lab.nodes) nodes.nodes.push(await startPodlet(opts, lab, labNode));
    } catch (err) {
      await nodes.stop();
      throw err;
    }
    return nodes;
  }

  /** Until every node is Ready with a podCIDR, as seen through `client`. */
  async waitReady(client: KubeClient, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      for (const n of this.nodes)
        if (n.process.child.exitCode !== null || n.process.child.signalCode !== null)
          throw new Error(`podlet ${n.name} exited during start; see logs/podlet-${n.name}.log`);
      const list = await client
        .json<{ items: V1Node[] }>('GET', '/api/v1/nodes')
        .catch(() => ({ items: [] }));
      const ready = list.items.filter(
        (n) =>
          n.spec?.podCIDR && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      if (ready.length >= this.nodes.length) return;
      last = `${ready.length} of ${this.nodes.length} nodes ready`;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`nodes not ready within ${timeoutMs / 1000}s (${last})`);
  }

  /** Stops the podlets (their pods with them), then removes every namespace of the lab. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => stopProcess(n.process, 15_000)));
    await this.lab.destroy();
  }
}

async function startPodlet(
  opts: LocalNodesOptions,
  lab: Lab,
  node: Lab['nodes'][number],
): Promise<LocalNode> {
  const dir = join(opts.dir, 'nodes', node.name);
  await mkdir(join(dir, 'pods'), { recursive: true });
  const pki = join(dir, 'pki');
  await mkdir(pki, { recursive: true });
  const ca = { cert: opts.ca.cert, key: opts.ca.key };
  const client = await issueCert(pki, 'kubelet-client', ca, {
    cn: `system:node:${node.name}`,
    orgs: ['system:nodes'],
    usage: 'client',
  });
  const serving = await issueCert(pki, 'kubelet', ca, {
    cn: node.name,
    usage: 'server',
    dns: [node.name],
    ips: [node.ip],
  });
  const cfg: PodletConfig = {
    nodeName: node.name,
    nodeIP: node.ip,
    nodeNetns: node.netns,
    underlayNetns: lab.underlayNetns,
    underlayPodRoute: opts.underlayPodRoutes !== false,
    bridge: node.bridge,
    server: opts.server,
    caFile: opts.ca.cert,
    certFile: client.cert,
    keyFile: client.key,
    servingCertFile: serving.cert,
    servingKeyFile: serving.key,
    kubeletSocket: kubeletSocket(opts.dir, node.ip),
    binDir: opts.binDir,
    podsDir: join(dir, 'pods'),
    maxPods: 110,
    // Node-local cluster DNS (src/dev/cluster-dns.ts) listens on the node's own address.
    clusterDNS: [node.ip],
    clusterDomain: CLUSTER_DOMAIN,
  };
  const file = join(dir, 'podlet.json');
  await writeFile(file, JSON.stringify(cfg, null, 2));
  const proc = startProcess(
    `podlet-${node.name}`,
    process.execPath,
    [MAIN, 'podlet', '--config', file],
    join(opts.dir, 'logs', `podlet-${node.name}.log`),
  );
  return { name: node.name, ip: node.ip, netns: node.netns, process: proc };
}
