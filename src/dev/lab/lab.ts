import {
  MAX_NODES,
  NODE_BRIDGE,
  NODE_UPLINK,
  UNDERLAY_BRIDGE,
  UNDERLAY_GATEWAY,
  UNDERLAY_PREFIX_LENGTH,
  nodeAddress,
} from './constants.ts';
import { destroyLab } from './destroy.ts';
import { addNetns, ipIn, listNetns, setNetnsSysctl } from './netns.ts';
import { setPodCIDR } from './pod-cidr.ts';
import { markOwner } from './owner.ts';

/** One node of the lab: a network namespace plugged into the underlay, with a bridge for its pods. */
export interface LabNode {
  readonly name: string;
  /** `<prefix>-<name>`. */
  readonly netns: string;
  /** The node's InternalIP on the underlay. */
  readonly ip: string;
  /** The bridge its pods' veths join (`kgbr0`). */
  readonly bridge: string;
  /** The pod CIDR set by `setPodCIDR`, if any. */
  readonly podCIDR: string | undefined;
  /** The pods' gateway (first host of the pod CIDR) once `setPodCIDR` ran. */
  readonly gateway: string | undefined;
}

export interface Lab {
  readonly prefix: string;
  /** `<prefix>-underlay`. */
  readonly underlayNetns: string;
  readonly nodes: readonly LabNode[];
  node(name: string): LabNode;
  /** Gives the node's bridge the CIDR's first host address and routes the CIDR to the node on the underlay. */
  setPodCIDR(node: string, cidr: string): Promise<void>;
  /** Removes every namespace of this lab (and what runs inside). Idempotent. */
  destroy(): Promise<void>;
}

export interface LabOptions {
  /** Run prefix: `[a-z0-9]` only (no `-`, so one run's sweep never matches another run's names). */
  readonly prefix: string;
  readonly nodes: readonly string[];
}

export class LabError extends Error {
  override name = 'LabError';
}

const PREFIX = /^[a-z0-9]{1,16}$/;
const NODE_NAME = /^[a-z0-9]([a-z0-9.-]{0,38}[a-z0-9])?$/;

interface MutableNode {
  name: string;
  netns: string;
  ip: string;
  bridge: string;
  podCIDR: string | undefined;
  gateway: string | undefined;
}

/**
 * Builds the lab: `<prefix>-underlay` (bridge br0, 10.250.0.1/24, forwarding) and per node
 * `<prefix>-<node>` (eth0 10.250.0.(10+i)/24 on the underlay bridge, default route via 10.250.0.1,
 * forwarding, bridge-nf-call-iptables on, and an empty bridge kgbr0 for its pods). Nothing is added to
 * the root namespace: each veth is created inside a lab namespace with its peer moved straight into
 * the other. On failure, whatever was built is removed again.
 */
export async function createLab(opts: LabOptions): Promise<Lab> {
  const { prefix } = opts;
  if (!PREFIX.test(prefix)) throw new LabError(`lab prefix ${JSON.stringify(prefix)} must match ${PREFIX}`);
  if (opts.nodes.length > MAX_NODES) throw new LabError(`at most ${MAX_NODES} nodes`);
  for (const n of opts.nodes) {
    if (!NODE_NAME.test(n) || n === 'underlay') throw new LabError(`bad lab node name ${JSON.stringify(n)}`);
  }
  if (new Set(opts.nodes).size !== opts.nodes.length) throw new LabError('duplicate lab node names');

  const taken = (await listNetns()).filter((n) => n.startsWith(`${prefix}-`));
  if (taken.length) {
    throw new LabError(
      `network namespaces with prefix ${prefix}- exist already (${taken.join(', ')}): another run's, or a crashed one's (destroyLab)`,
    );
  }
  const underlay = `${prefix}-underlay`;
  const nodes: MutableNode[] = opts.nodes.map((name, i) => ({
    name,
    netns: `${prefix}-${name}`,
    ip: nodeAddress(i),
    bridge: NODE_BRIDGE,
    podCIDR: undefined,
    gateway: undefined,
  }));
  try {
    await addNetns(underlay);
    await ipIn(underlay, 'link', 'add', UNDERLAY_BRIDGE, 'type', 'bridge');
    await ipIn(
      underlay,
      'addr',
      'add',
      `${UNDERLAY_GATEWAY}/${UNDERLAY_PREFIX_LENGTH}`,
      'dev',
      UNDERLAY_BRIDGE,
    );
    await ipIn(underlay, 'link', 'set', UNDERLAY_BRIDGE, 'up');
    await markOwner(underlay);
    await setNetnsSysctl(underlay, 'net/ipv4/ip_forward', '1');
    // The underlay forwards between nodes on the same segment; no redirects, so paths stay as routed.
    await setNetnsSysctl(underlay, 'net/ipv4/conf/all/send_redirects', '0');
    await setNetnsSysctl(underlay, `net/ipv4/conf/${UNDERLAY_BRIDGE}/send_redirects`, '0');
    for (const [i, node] of nodes.entries()) {
      const port = `n${i}`;
      await addNetns(node.netns);
      await ipIn(
        node.netns,
        'link',
        'add',
        NODE_UPLINK,
        'type',
        'veth',
        'peer',
        'name',
        port,
        'netns',
        underlay,
      );
      await ipIn(underlay, 'link', 'set', port, 'master', UNDERLAY_BRIDGE, 'up');
      await ipIn(node.netns, 'addr', 'add', `${node.ip}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', NODE_UPLINK);
      await ipIn(node.netns, 'link', 'set', NODE_UPLINK, 'up');
      await ipIn(node.netns, 'route', 'add', 'default', 'via', UNDERLAY_GATEWAY);
      await ipIn(node.netns, 'link', 'add', NODE_BRIDGE, 'type', 'bridge');
      await ipIn(node.netns, 'link', 'set', NODE_BRIDGE, 'up');
      await setNetnsSysctl(node.netns, 'net/ipv4/ip_forward', '1');
      // Per network namespace on this kernel (checked on 6.18): bridged pod traffic goes through the
      // node's iptables, as Service NAT between pods on one bridge needs.
      await setNetnsSysctl(node.netns, 'net/bridge/bridge-nf-call-iptables', '1');
    }
  } catch (err) {
    await destroyLab(prefix).catch(() => undefined);
    throw err;
  }

  const byName = new Map(nodes.map((n) => [n.name, n]));
  const lookup = (name: string): MutableNode => {
    const n = byName.get(name);
    if (!n) throw new LabError(`no lab node ${JSON.stringify(name)} (have ${[...byName.keys()].join(', ')})`);
    return n;
  };
  return {
    prefix,
    underlayNetns: underlay,
    nodes,
    node: lookup,
    async setPodCIDR(name, cidr) {
      const node = lookup(name);
      const { gateway } = await setPodCIDR({
        underlayNetns: underlay,
        nodeNetns: node.netns,
        nodeIP: node.ip,
        bridge: node.bridge,
        cidr,
        previous: node.podCIDR,
      });
      node.podCIDR = cidr;
      node.gateway = gateway;
    },
    destroy: () => destroyLab(prefix),
  };
}
