import {
  GATEWAY_ADDRESS_POOL,
  GATEWAY_HOST_ADDRESS,
  NODE_UPLINK,
  UNDERLAY_BRIDGE,
  UNDERLAY_GATEWAY,
  UNDERLAY_PREFIX_LENGTH,
} from './constants.ts';
import { addNetns, ipIn, setNetnsSysctl } from './netns.ts';
import type { Lab } from './lab.ts';

/** Where Gateways are served in the lab: a namespace of their own and the addresses it answers on. */
export interface GatewayHost {
  readonly netns: string;
  readonly ip: string;
  readonly addressPool: string;
}

/**
 * Adds `<prefix>-gw` to the lab: plugged into the underlay like a node (10.250.0.5), with the whole
 * Gateway address pool as a local route, so a process in it can bind any pool address without
 * adding it first (Linux answers for local routes as for its own addresses), and the underlay
 * routing the pool to it. Removed with the lab.
 */
export async function addGatewayHost(lab: Lab): Promise<GatewayHost> {
  const netns = `${lab.prefix}-gw`;
  const underlay = lab.underlayNetns;
  await addNetns(netns);
  await ipIn(netns, 'link', 'add', NODE_UPLINK, 'type', 'veth', 'peer', 'name', 'gw0', 'netns', underlay);
  await ipIn(underlay, 'link', 'set', 'gw0', 'master', UNDERLAY_BRIDGE, 'up');
  await ipIn(netns, 'addr', 'add', `${GATEWAY_HOST_ADDRESS}/${UNDERLAY_PREFIX_LENGTH}`, 'dev', NODE_UPLINK);
  await ipIn(netns, 'link', 'set', NODE_UPLINK, 'up');
  await ipIn(netns, 'link', 'set', 'lo', 'up');
  await ipIn(netns, 'route', 'add', 'default', 'via', UNDERLAY_GATEWAY);
  await ipIn(netns, 'route', 'add', 'local', GATEWAY_ADDRESS_POOL, 'dev', 'lo');
  await ipIn(underlay, 'route', 'add', GATEWAY_ADDRESS_POOL, 'via', GATEWAY_HOST_ADDRESS);
  // Many short connections (the conformance suite disables keep-alive) end in TIME_WAIT here.
  await setNetnsSysctl(netns, 'net/ipv4/tcp_tw_reuse', '1');
  return { netns, ip: GATEWAY_HOST_ADDRESS, addressPool: GATEWAY_ADDRESS_POOL };
}
