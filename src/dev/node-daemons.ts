import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeClient } from '../kube/client.ts';
import { APISocket } from './api-socket.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import type { LocalNode } from './nodes.ts';
import { issueCert, type CertFiles } from './pki.ts';
import { startProcess, stopProcess, type ManagedProcess } from './process.ts';

const MAIN = fileURLToPath(new URL('../cli/main.ts', import.meta.url));

/** Where per-node daemons run and how they reach the API: what every caller of NodeDaemons has. */
export interface NodeDaemonsBase {
  dir: string;
  nodes: readonly LocalNode[];
  /** kubegate's API endpoint (`https://127.0.0.1:<port>`), which the daemons talk to. */
  server: string;
  ca: CertFiles;
  admin: KubeClient;
  log: (msg: string) => void;
}

export interface NodeDaemonsOptions extends NodeDaemonsBase {
  /** The `kubegate` command each runs (`node`, `dns`): also names its logs, socket and kubeconfig. */
  command: string;
  /** Their user (client certificate CN), and the ClusterRole and binding that user needs. */
  user: string;
  /** Names its client certificate's folder under `pki/` and its `<identity>.kubeconfig`. */
  identity: string;
  clusterRole: { metadata: { name: string } };
  clusterRoleBinding: { metadata: { name: string } };
  /** The command's flags on one node; `--kubeconfig` and `--api-socket` come first. */
  args: (node: LocalNode) => string[];
}

/** One node's daemon, running in the node's network namespace. */
export interface NodeDaemon {
  readonly node: string;
  readonly netns: string;
  readonly process: ManagedProcess;
}

/**
 * A `kubegate` command run in every node's network namespace, as a DaemonSet would run it, with a
 * user of its own, reaching the API through a unix socket joined to kubegate's loopback port.
 */
export class NodeDaemons {
  readonly daemons: NodeDaemon[] = [];
  readonly #socket: APISocket;

  private constructor(socket: APISocket) {
    this.#socket = socket;
  }

  static async start(opts: NodeDaemonsOptions): Promise<NodeDaemons> {
    const { admin, dir, command } = opts;
    await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterroles', opts.clusterRole);
    await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', opts.clusterRoleBinding);
    const cert = await issueCert(join(dir, 'pki', opts.identity), 'client', opts.ca, {
      cn: opts.user,
      usage: 'client',
    });
    const kubeconfig = join(dir, `${opts.identity}.kubeconfig`);
    await writeKubeconfig(kubeconfig, opts.user, opts.server, opts.ca.cert, cert);
    const socket = await APISocket.start(join(dir, `${command}-api.sock`), Number(new URL(opts.server).port));
    const set = new NodeDaemons(socket);
    for (const node of opts.nodes) {
      opts.log(`starting kubegate ${command} in ${node.netns} (logs/${command}-${node.name}.log)`);
      const args = [command, '--kubeconfig', kubeconfig, '--api-socket', socket.path, ...opts.args(node)];
      const proc = startProcess(
        `${command}-${node.name}`,
        'ip',
        ['netns', 'exec', node.netns, process.execPath, MAIN, ...args],
        join(dir, 'logs', `${command}-${node.name}.log`),
      );
      set.daemons.push({ node: node.name, netns: node.netns, process: proc });
    }
    return set;
  }

  /** The daemon that has exited, if any. */
  exited(): NodeDaemon | undefined {
    return this.daemons.find((d) => d.process.child.exitCode !== null || d.process.child.signalCode !== null);
  }

  async stop(): Promise<void> {
    await Promise.all(this.daemons.map((d) => stopProcess(d.process, 5000)));
    await this.#socket.stop();
  }
}

export { MAIN as KUBEGATE_MAIN };
