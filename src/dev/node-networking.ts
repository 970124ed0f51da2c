import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { V1Node } from '@kubernetes/client-node';
import { DEFAULT_CLUSTER_ASN } from '../node/bgp/controller/options.ts';
import { ROUTE_PROTOCOL } from '../node/bgp/kernel-routes.ts';
import { UNDERLAY_GATEWAY } from './lab/constants.ts';
import type { UnderlayRouterConfig } from './lab/underlay-router.ts';
import { KUBEGATE_MAIN, NodeDaemons, type NodeDaemon, type NodeDaemonsBase } from './node-daemons.ts';
import { startProcess, stopProcess, type ManagedProcess } from './process.ts';
import { NODE_AGENT_USER, nodeAgentClusterRole, nodeAgentClusterRoleBinding } from './rbac.ts';

const run = promisify(execFile);
const UNDERLAY_ROUTER = fileURLToPath(new URL('./lab/underlay-router.ts', import.meta.url));
/** The underlay router's AS: the nodes' external peer (kube-router's `--peer-router-asns`). */
const UNDERLAY_ASN = 64513;

export interface LocalNodeNetworkingOptions extends NodeDaemonsBase {
  /**
   * Pod routes by BGP: every agent runs `--bgp` (an iBGP mesh in the cluster ASN, and the
   * underlay's router as its peer router), and the underlay namespace runs a router that
   * installs the pod CIDRs the nodes announce. Null: the podlets' static routes carry pods.
   */
  bgp: { underlayNetns: string; serviceCIDR: string } | null;
}

export class NodeNetworkingError extends Error {
  override name = 'NodeNetworkingError';
  readonly code = 'NodeNetworkingFailed';
}

/**
 * Node networking in the local cluster: `kubegate node` (the Service proxy and NetworkPolicy) in
 * every node's network namespace. Stopping runs `kubegate node --cleanup` in each namespace, so no
 * table of the agent's is left behind.
 */
export class LocalNodeNetworking {
  readonly #opts: LocalNodeNetworkingOptions;
  readonly #daemons: NodeDaemons;
  #router: ManagedProcess | null = null;

  private constructor(opts: LocalNodeNetworkingOptions, daemons: NodeDaemons) {
    this.#opts = opts;
    this.#daemons = daemons;
  }

  get agents(): readonly NodeDaemon[] {
    return this.#daemons.daemons;
  }

  static async start(opts: LocalNodeNetworkingOptions): Promise<LocalNodeNetworking> {
    const daemons = await NodeDaemons.start({
      ...opts,
      command: 'node',
      user: NODE_AGENT_USER,
      identity: 'node-agent',
      clusterRole: nodeAgentClusterRole,
      clusterRoleBinding: nodeAgentClusterRoleBinding,
      // --fix-prerequisites: hairpin on the pods' bridge ports, as a kubelet's hairpin mode sets it.
      args: (node) => [
        '--node-name',
        node.name,
        '--fix-prerequisites',
        ...(opts.bgp
          ? [
              '--bgp',
              '--peer-router-ips',
              UNDERLAY_GATEWAY,
              '--peer-router-asns',
              String(UNDERLAY_ASN),
              '--service-cluster-ip-range',
              opts.bgp.serviceCIDR,
            ]
          : []),
      ],
    });
    const nn = new LocalNodeNetworking(opts, daemons);
    try {
      if (opts.bgp) nn.#startRouter(opts.bgp.underlayNetns);
      await nn.#waitTables();
      if (opts.bgp) await nn.#waitPodRoutes(opts.bgp.underlayNetns);
    } catch (err) {
      await nn.stop();
      throw err;
    }
    return nn;
  }

  /** Until every agent has programmed a table of its own (`kubegate…`) in its namespace. */
  async #waitTables(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.agents);
    while (pending.size > 0) {
      for (const a of pending) {
        if (this.#daemons.exited() === a)
          throw new NodeNetworkingError(`kubegate node exited during start; see logs/node-${a.node}.log`);
        if ((await ownTables(a.netns)).length > 0) pending.delete(a);
      }
      if (pending.size === 0) return;
      if (Date.now() > deadline)
        throw new NodeNetworkingError(
          `kubegate node programmed no table within ${timeoutMs / 1000}s on ${[...pending].map((a) => a.node).join(', ')}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The underlay's BGP router, peering with every node. */
  #startRouter(underlayNetns: string): void {
    const cfg: UnderlayRouterConfig = {
      asn: UNDERLAY_ASN,
      address: UNDERLAY_GATEWAY,
      port: 179,
      neighbors: this.#opts.nodes.map((n) => ({ address: n.ip, asn: DEFAULT_CLUSTER_ASN })),
    };
    this.#opts.log(`starting the underlay's BGP router in ${underlayNetns} (logs/underlay-router.log)`);
    this.#router = startProcess(
      'underlay-router',
      'ip',
      ['netns', 'exec', underlayNetns, process.execPath, UNDERLAY_ROUTER, JSON.stringify(cfg)],
      join(this.#opts.dir, 'logs', 'underlay-router.log'),
    );
  }

  /**
   * Until the underlay and every node route each node's pod CIDR over BGP (`proto 196`): pods
   * reach each other, and the underlay reaches them, only by what the nodes announced.
   */
  async #waitPodRoutes(underlayNetns: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let missing: string[] = [];
    while (Date.now() < deadline) {
      if (this.#router?.child.exitCode !== null)
        throw new NodeNetworkingError('the underlay router exited; see logs/underlay-router.log');
      const exited = this.#daemons.exited();
      if (exited) throw new NodeNetworkingError(`kubegate node exited; see logs/node-${exited.node}.log`);
      const list = await this.#opts.admin.json<{ items: V1Node[] }>('GET', '/api/v1/nodes');
      const cidrs = new Map(
        list.items
          .filter((n) => this.#opts.nodes.some((x) => x.name === n.metadata?.name))
          .map((n) => [n.metadata!.name!, n.spec?.podCIDR ?? '']),
      );
      missing = [];
      const underlay = await bgpRoutes(underlayNetns);
      for (const [name, cidr] of cidrs) if (!underlay.has(cidr)) missing.push(`underlay → ${name} ${cidr}`);
      for (const n of this.#opts.nodes) {
        const own = await bgpRoutes(n.netns);
        for (const [name, cidr] of cidrs)
          if (name !== n.name && !own.has(cidr)) missing.push(`${n.name} → ${name} ${cidr}`);
      }
      if (missing.length === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new NodeNetworkingError(
      `pod routes not learned over BGP within ${timeoutMs / 1000}s: ${missing.join(', ')} (logs/node-*.log, logs/underlay-router.log)`,
    );
  }

  /** Stops the agents, then removes their tables with `kubegate node --cleanup`. */
  async stop(): Promise<void> {
    if (this.#router) await stopProcess(this.#router, 5000);
    await this.#daemons.stop();
    await Promise.all(
      this.agents.map((a) =>
        run('ip', ['netns', 'exec', a.netns, process.execPath, KUBEGATE_MAIN, 'node', '--cleanup'], {
          timeout: 30_000,
        }).catch((err: Error) =>
          this.#opts.log(`kubegate node --cleanup on ${a.node} failed: ${err.message}`),
        ),
      ),
    );
  }
}

/** The destinations a namespace routes by kubegate's BGP (`proto 196`). */
async function bgpRoutes(netns: string): Promise<Set<string>> {
  const { stdout } = await run('ip', ['-n', netns, '-4', 'route', 'show', 'proto', String(ROUTE_PROTOCOL)], {
    timeout: 10_000,
  }).catch(() => ({ stdout: '' }));
  return new Set(
    stdout
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((d) => d !== ''),
  );
}

/** The nftables tables of kubegate's node agent in a namespace (`ip kubegate-…`, `inet kubegate…`). */
export async function ownTables(netns: string): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'exec', netns, 'nft', 'list', 'tables'], {
    timeout: 10_000,
  }).catch(() => ({ stdout: '' }));
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^table \S+ kubegate/.test(l));
}
