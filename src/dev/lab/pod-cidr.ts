import { firstHost, parseCidr } from './cidr.ts';
import { ipIn } from './netns.ts';

export interface PodCIDROptions {
  readonly underlayNetns: string;
  readonly nodeNetns: string;
  /** The node's address on the underlay. */
  readonly nodeIP: string;
  /** The node's pod bridge (`kgbr0`). */
  readonly bridge: string;
  readonly cidr: string;
  /** The CIDR set before, whose underlay route is removed (when it differs). */
  readonly previous?: string;
  /**
   * Whether the underlay gets a static route to the CIDR (default true). False when the nodes
   * announce their pod CIDRs over BGP (`kubegate dev --node-networking`): the underlay's router
   * learns them instead.
   */
  readonly underlayRoute?: boolean;
}

/**
 * Gives the node's pod bridge the CIDR's first host address (the pods' gateway) and, unless BGP
 * does it, routes the CIDR to the node on the underlay. Usable from the podlet process (it has only
 * the namespace names).
 */
export async function setPodCIDR(opts: PodCIDROptions): Promise<{ gateway: string; prefixLength: number }> {
  const { prefixLength } = parseCidr(opts.cidr);
  const gateway = firstHost(opts.cidr);
  await ipIn(opts.nodeNetns, 'addr', 'flush', 'dev', opts.bridge);
  await ipIn(opts.nodeNetns, 'addr', 'add', `${gateway}/${prefixLength}`, 'dev', opts.bridge);
  if (opts.underlayRoute === false) return { gateway, prefixLength };
  if (opts.previous && opts.previous !== opts.cidr) {
    await ipIn(opts.underlayNetns, 'route', 'del', opts.previous).catch(() => undefined);
  }
  await ipIn(opts.underlayNetns, 'route', 'replace', opts.cidr, 'via', opts.nodeIP);
  return { gateway, prefixLength };
}
