import { isIP } from 'node:net';
import { RoutingConfigError } from './errors.ts';

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
}

const FLAGS: PeerRouterSource = {
  ips: '--peer-router-ips',
  asns: '--peer-router-asns',
  passwords: '--peer-router-passwords',
};

const list = (s: string | undefined): string[] =>
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
  return addresses.map((address, i) => {
    if (isIP(address) === 0)
      throw new RoutingConfigError(
        'ERR_BGP_BAD_PEER_ADDRESS',
        `${source.ips}: ${address} is not an IP address`,
      );
    const key = keys[i] ? Buffer.from(keys[i], 'base64').toString('utf8') : '';
    return { address, asn: numbers.length === 1 ? numbers[0] : numbers[i], ...(key ? { md5Key: key } : {}) };
  });
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
  });
}
