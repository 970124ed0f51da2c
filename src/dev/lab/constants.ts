// The lab's fixed addresses and names. Addresses outside 127/8 exist only inside the lab's network
// namespaces, so every run can use the same ones; only namespace names carry the run's prefix.

/** The underlay: one L2 segment (a bridge in `<prefix>-underlay`) that all nodes plug into. */
export const UNDERLAY_CIDR = '10.250.0.0/24';
/** The underlay bridge's address: every node's default gateway; it routes each pod CIDR to its node. */
export const UNDERLAY_GATEWAY = '10.250.0.1';
export const UNDERLAY_PREFIX_LENGTH = 24;
/** The bridge inside the underlay namespace. */
export const UNDERLAY_BRIDGE = 'br0';
/** Node i (0-based) has 10.250.0.(10+i): its InternalIP. */
export const FIRST_NODE_HOST = 10;
export const MAX_NODES = 240;
/** The bridge inside each node's namespace that its pods' veths join. */
export const NODE_BRIDGE = 'kgbr0';
/** A node's interface towards the underlay, inside the node's namespace. */
export const NODE_UPLINK = 'eth0';

/** The InternalIP of the i-th node (0-based). */
export function nodeAddress(index: number): string {
  return `10.250.0.${FIRST_NODE_HOST + index}`;
}

/** The Gateway host: a namespace on the underlay where `kubegate gateway-api` runs (like a node). */
export const GATEWAY_HOST_ADDRESS = '10.250.0.5';
/** Gateway addresses: routed to the Gateway host by the underlay; the host binds any of them. */
export const GATEWAY_ADDRESS_POOL = '10.250.2.0/24';
