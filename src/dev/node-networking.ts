import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { KubeClient } from '../kube/client.ts';
import { APISocket } from './api-socket.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import type { LocalNode } from './nodes.ts';
import { issueCert, type CertFiles } from './pki.ts';
import { startProcess, stopProcess, type ManagedProcess } from './process.ts';
import { NODE_AGENT_USER, nodeAgentClusterRole, nodeAgentClusterRoleBinding } from './rbac.ts';

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

export interface LocalNodeNetworkingOptions {
  dir: string;
  nodes: readonly LocalNode[];
  /** kubegate's API endpoint (`https://127.0.0.1:<port>`), which the agents talk to. */
  server: string;
  ca: CertFiles;
  admin: KubeClient;
  log: (msg: string) => void;
}

/** One node's `kubegate node`, running in the node's network namespace. */
export interface NodeAgent {
  readonly node: string;
  readonly netns: string;
  readonly process: ManagedProcess;
}

export class NodeNetworkingError extends Error {
  override name = 'NodeNetworkingError';
  readonly code = 'NodeNetworkingFailed';
}

/**
 * Node networking in the local cluster: `kubegate node` (the Service proxy and NetworkPolicy) in
 * every node's network namespace, as a DaemonSet would run it, reaching the API through a unix
 * socket joined to kubegate's loopback port. Stopping runs `kubegate node --cleanup` in each
 * namespace, so no table of the agent's is left behind.
 */
export class LocalNodeNetworking {
  readonly agents: NodeAgent[] = [];
  readonly #opts: LocalNodeNetworkingOptions;
  readonly #socket: APISocket;
  readonly #kubeconfig: string;

  private constructor(opts: LocalNodeNetworkingOptions, socket: APISocket, kubeconfig: string) {
    this.#opts = opts;
    this.#socket = socket;
    this.#kubeconfig = kubeconfig;
  }

  static async start(opts: LocalNodeNetworkingOptions): Promise<LocalNodeNetworking> {
    const { admin, dir } = opts;
    await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterroles', nodeAgentClusterRole);
    await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', nodeAgentClusterRoleBinding);
    const cert = await issueCert(join(dir, 'pki', 'node-agent'), 'client', opts.ca, {
      cn: NODE_AGENT_USER,
      usage: 'client',
    });
    const kubeconfig = join(dir, 'node-agent.kubeconfig');
    await writeKubeconfig(kubeconfig, NODE_AGENT_USER, opts.server, opts.ca.cert, cert);
    const socket = await APISocket.start(join(dir, 'node-api.sock'), Number(new URL(opts.server).port));
    const nn = new LocalNodeNetworking(opts, socket, kubeconfig);
    try {
      for (const node of opts.nodes) {
        opts.log(`starting kubegate node in ${node.netns} (logs/node-${node.name}.log)`);
        const proc = startProcess(
          `node-${node.name}`,
          'ip',
          ['netns', 'exec', node.netns, process.execPath, MAIN, ...nn.#args(node.name)],
          join(dir, 'logs', `node-${node.name}.log`),
        );
        nn.agents.push({ node: node.name, netns: node.netns, process: proc });
      }
      await nn.#waitTables();
    } catch (err) {
      await nn.stop();
      throw err;
    }
    return nn;
  }

  #args(node: string): string[] {
    // --fix-prerequisites: hairpin on the pods' bridge ports, as a kubelet's hairpin mode sets it.
    return ['node', '--kubeconfig', this.#kubeconfig, '--api-socket', this.#socket.path, '--node-name', node,
      '--fix-prerequisites']; // prettier-ignore
  }

  /** Until every agent has programmed a table of its own (`kubegate…`) in its namespace. */
  async #waitTables(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(this.agents);
    while (pending.size > 0) {
      for (const a of pending) {
        if (a.process.child.exitCode !== null || a.process.child.signalCode !== null)
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

  /** Stops the agents, then removes their tables with `kubegate node --cleanup`. */
  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => stopProcess(a.process, 5000)));
    await Promise.all(
      this.agents.map((a) =>
        run('ip', ['netns', 'exec', a.netns, process.execPath, MAIN, 'node', '--cleanup'], {
          timeout: 30_000,
        }).catch((err: Error) =>
          this.#opts.log(`kubegate node --cleanup on ${a.node} failed: ${err.message}`),
        ),
      ),
    );
    await this.#socket.stop();
  }
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
