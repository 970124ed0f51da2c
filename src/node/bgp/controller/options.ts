import { isIP } from 'node:net';
import { canonicalPrefix } from '../message/index.ts';
import { RoutingConfigError, type RoutingConfigErrorCode } from './errors.ts';

/** The cluster ASN kube-router uses when none is given. */
export const DEFAULT_CLUSTER_ASN = 64512;
/** How long peers keep a node's routes after its session drops without a NOTIFICATION (s). */
export const DEFAULT_GRACEFUL_RESTART_SECONDS = 90;

/** A router outside the cluster every node peers with (`--peer-router-ips`, `--peer-router-asns`). */
export interface PeerRouter {
  readonly address: string;
  readonly asn: number;
  /** TCP-MD5 key (RFC 2385). */
  readonly md5Key?: string;
  /** Its BGP port, when not the speaker's own (kube-router's `peer.ports`, `--peer-router-ports`). */
  readonly port?: number;
  /** The node's address to connect from, when not its InternalIP (kube-router's `peer.localips`). */
  readonly localAddress?: string;
}

/** What the routing controller is told by flags; the Node objects supply the rest. */
export interface RoutingOptions {
  readonly clusterAsn: number;
  readonly peerRouters: readonly PeerRouter[];
  /** Restart time offered to peers (RFC 4724). */
  readonly gracefulRestartSeconds: number;
  /** Service ranges: never imported, whoever announces them. */
  readonly serviceCIDRs: readonly string[];
  /** BGP port to listen on and connect to (179). */
  readonly port: number;
  /** Announce Services' cluster IPs to external peers (`--advertise-cluster-ip`). */
  readonly advertiseClusterIP: boolean;
  /** Announce Services' `spec.externalIPs` (`--advertise-external-ip`). */
  readonly advertiseExternalIP: boolean;
  /** Announce LoadBalancer Services' ingress IPs (`--advertise-loadbalancer-ip`). */
  readonly advertiseLoadBalancerIP: boolean;
  /** Announce these ranges instead of the cluster IPs in them (`--advertise-service-cluster-ip-range`). */
  readonly advertiseServiceClusterIPRanges: readonly string[];
}

/** Parses an ASN as text (`64512`, or asdot `1.10` as RFC 5396 writes 4-octet ASNs). */
export function parseAsn(text: string, what: string): number {
  const t = text.trim();
  const dot = /^(\d+)\.(\d+)$/.exec(t);
  const n = dot ? Number(dot[1]) * 65536 + Number(dot[2]) : /^\d+$/.test(t) ? Number(t) : NaN;
  const ok = dot ? Number(dot[1]) <= 65535 && Number(dot[2]) <= 65535 : true;
  if (!ok || !Number.isInteger(n) || n < 1 || n > 4294967295 || n === 23456)
    throw new RoutingConfigError('ERR_BGP_BAD_ASN', `${what}: ${JSON.stringify(text)} is not a usable ASN`);
  return n;
}

/** Where a peer router list came from, for error messages (flags or a Node's annotations). */
export interface PeerRouterSource {
  readonly ips: string;
  readonly asns: string;
  readonly passwords: string;
  readonly ports: string;
  readonly localips: string;
}

const FLAGS: PeerRouterSource = {
  ips: '--peer-router-ips',
  asns: '--peer-router-asns',
  passwords: '--peer-router-passwords',
  ports: '--peer-router-ports',
  localips: '--peer-router-localips',
};

/** A per-peer list: one item per address, or (`single`) one for all; empty items mean "the default". */
function perPeer(
  text: string | undefined,
  count: number,
  single: boolean,
  what: string,
  ips: string,
): string[] {
  if (text === undefined || text.trim() === '') return Array<string>(count).fill('');
  const items = text.split(',').map((x) => x.trim());
  if (single && items.length === 1) return Array<string>(count).fill(items[0]);
  if (items.length !== count)
    throw new RoutingConfigError(
      'ERR_BGP_PEER_ROUTERS_MISMATCH',
      `${ips} has ${count} address(es) but ${what} ${items.length} item(s)`,
    );
  return items;
}

/** A comma list as kube-router's flags and annotations give it: items trimmed, empty ones dropped. */
export const list = (s: string | undefined): string[] =>
  (s ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');

/**
 * Pairs kube-router's `--peer-router-ips` with `--peer-router-asns` (comma lists, one ASN per
 * address, or a single ASN for every address) and `--peer-router-passwords` (base64, as kube-router
 * takes them; one per address, empty for none). The same for a Node's `kube-router.io/peer.*`.
 */
export function parsePeerRouters(
  ips: string | undefined,
  asns: string | undefined,
  passwords?: string,
  source: PeerRouterSource = FLAGS,
  ports?: string,
  localIps?: string,
): PeerRouter[] {
  const addresses = list(ips);
  const numbers = list(asns).map((a) => parseAsn(a, source.asns));
  const keys = (passwords ?? '').split(',').map((k) => k.trim());
  if (addresses.length === 0 && numbers.length === 0) return [];
  if (numbers.length !== addresses.length && numbers.length !== 1)
    throw new RoutingConfigError(
      'ERR_BGP_PEER_ROUTERS_MISMATCH',
      `${source.ips} has ${addresses.length} address(es) but ${source.asns} ${numbers.length} ASN(s); give one ASN per address, or one for all`,
    );
  if (passwords !== undefined && keys.length !== addresses.length)
    throw new RoutingConfigError(
      'ERR_BGP_PEER_ROUTERS_MISMATCH',
      `${source.ips} has ${addresses.length} address(es) but ${source.passwords} ${keys.length} password(s)`,
    );
  const portList = perPeer(ports, addresses.length, true, source.ports, source.ips);
  const localList = perPeer(localIps, addresses.length, false, source.localips, source.ips);
  return addresses.map((address, i) => {
    if (isIP(address) === 0)
      throw new RoutingConfigError(
        'ERR_BGP_BAD_PEER_ADDRESS',
        `${source.ips}: ${address} is not an IP address`,
      );
    const key = keys[i] ? Buffer.from(keys[i], 'base64').toString('utf8') : '';
    const port = portList[i] === '' ? undefined : Number(portList[i]);
    if (port !== undefined && !(/^\d{1,5}$/.test(portList[i]) && port >= 1 && port <= 65535))
      throw new RoutingConfigError(
        'ERR_BGP_BAD_PEER_ADDRESS',
        `${source.ports}: ${JSON.stringify(portList[i])} is not a port (1..65535)`,
      );
    const local = localList[i];
    if (local !== '' && isIP(local) !== isIP(address))
      throw new RoutingConfigError(
        'ERR_BGP_BAD_PEER_ADDRESS',
        `${source.localips}: ${JSON.stringify(local)} is not an address of ${address}'s family`,
      );
    return {
      address,
      asn: numbers.length === 1 ? numbers[0] : numbers[i],
      ...(key ? { md5Key: key } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(local !== '' ? { localAddress: local } : {}),
    };
  });
}

/** A CIDR (with its prefix length) in canonical form, or the RoutingConfigError `code` naming `what`. */
export function parseCidr(text: string, code: RoutingConfigErrorCode, what: string): string {
  try {
    if (!text.includes('/')) throw new TypeError('no prefix length');
    return canonicalPrefix(text.trim());
  } catch {
    throw new RoutingConfigError(code, `${what}: ${JSON.stringify(text)} is not a CIDR`);
  }
}

function serviceRange(text: string): string {
  return parseCidr(text, 'ERR_BGP_BAD_SERVICE_RANGE', '--advertise-service-cluster-ip-range');
}

/** Fills in the defaults and checks the values. */
export function routingOptions(o: Partial<RoutingOptions> = {}): RoutingOptions {
  const gr = o.gracefulRestartSeconds ?? DEFAULT_GRACEFUL_RESTART_SECONDS;
  if (!Number.isInteger(gr) || gr < 0 || gr > 4095)
    throw new RoutingConfigError(
      'ERR_BGP_BAD_GRACEFUL_RESTART',
      `graceful restart time must be 0..4095 s (a 12-bit field), got ${gr}`,
    );
  return Object.freeze({
    clusterAsn: o.clusterAsn ?? DEFAULT_CLUSTER_ASN,
    peerRouters: Object.freeze([...(o.peerRouters ?? [])]),
    gracefulRestartSeconds: gr,
    serviceCIDRs: Object.freeze([...(o.serviceCIDRs ?? [])]),
    port: o.port ?? 179,
    advertiseClusterIP: o.advertiseClusterIP ?? false,
    advertiseExternalIP: o.advertiseExternalIP ?? false,
    advertiseLoadBalancerIP: o.advertiseLoadBalancerIP ?? false,
    advertiseServiceClusterIPRanges: Object.freeze(
      (o.advertiseServiceClusterIPRanges ?? []).map((r) => serviceRange(r)),
    ),
  });
}
