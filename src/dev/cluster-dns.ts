import { NodeDaemons, type NodeDaemonsBase } from './node-daemons.ts';
import { DNS_USER, dnsClusterRole, dnsClusterRoleBinding } from './rbac.ts';

/** The cluster domain of the local cluster (kubelet `--cluster-domain`). */
export const CLUSTER_DOMAIN = 'cluster.local';

export type LocalClusterDnsOptions = NodeDaemonsBase;

/**
 * Cluster DNS in the local cluster, node-local as NodeLocal DNSCache places it: `kubegate dns` in
 * every node's network namespace on the node's address, port 53, which the podlet writes into its
 * pods' resolv.conf. A pod reaches it through its default route, whatever the node's networking.
 */
export class LocalClusterDns {
  readonly #daemons: NodeDaemons;

  private constructor(daemons: NodeDaemons) {
    this.#daemons = daemons;
  }

  static async start(opts: LocalClusterDnsOptions): Promise<LocalClusterDns> {
    const daemons = await NodeDaemons.start({
      ...opts,
      command: 'dns',
      user: DNS_USER,
      identity: 'dns',
      clusterRole: dnsClusterRole,
      clusterRoleBinding: dnsClusterRoleBinding,
      args: (node) => ['--listen', `${node.ip}:53`, '--cluster-domain', CLUSTER_DOMAIN],
    });
    return new LocalClusterDns(daemons);
  }

  get daemons(): NodeDaemons['daemons'] {
    return this.#daemons.daemons;
  }

  stop(): Promise<void> {
    return this.#daemons.stop();
  }
}
