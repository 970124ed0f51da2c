import type { Family } from '../message/index.ts';

/** One BGP neighbor as this speaker is configured to see it. */
export interface PeerConfig {
  readonly peerAddress: string;
  readonly peerAs: number;
  readonly localAs: number;
  readonly routerId: string;
  /** TCP port of the peer (179). */
  readonly port?: number;
  /** Address to connect from. */
  readonly localAddress?: string;
  /** Proposed hold time in seconds (90); 0 turns keepalives and the hold timer off. */
  readonly holdTime?: number;
  /** Base ConnectRetry time in seconds (RFC 4271 suggests 120; 5 here, since peers are in-cluster). */
  readonly connectRetrySeconds?: number;
  /** The longest damped retry delay in seconds for a flapping peer (300). */
  readonly maxRetrySeconds?: number;
  readonly families?: readonly Family[];
  /** Never connect, only accept. */
  readonly passive?: boolean;
  /** RFC 2385 key. */
  readonly md5Key?: string;
  /** Graceful restart (RFC 4724): the restart time this speaker asks its peer to keep its routes. */
  readonly gracefulRestart?: { readonly restartTime: number };
  /** This peer is a client of this speaker as route reflector (RFC 4456). */
  readonly routeReflectorClient?: boolean;
}

export interface ResolvedPeerConfig extends Required<
  Omit<PeerConfig, 'localAddress' | 'md5Key' | 'gracefulRestart'>
> {
  readonly localAddress?: string;
  readonly md5Key?: string;
  readonly gracefulRestart?: { readonly restartTime: number };
}

/** Defaults applied; a wrong value throws a TypeError naming the field (configuration, not input). */
export function resolvePeerConfig(c: PeerConfig): ResolvedPeerConfig {
  const asn = (v: number, name: string) => {
    if (!Number.isInteger(v) || v < 1 || v > 0xffffffff)
      throw new TypeError(`${name}: AS number out of range: ${v}`);
  };
  asn(c.peerAs, 'peerAs');
  asn(c.localAs, 'localAs');
  const holdTime = c.holdTime ?? 90;
  if (!Number.isInteger(holdTime) || (holdTime > 0 && holdTime < 3) || holdTime > 65535)
    throw new TypeError(`holdTime: 0 or 3..65535 seconds, not ${holdTime}`);
  if (c.md5Key !== undefined && (c.md5Key.length === 0 || Buffer.byteLength(c.md5Key) > 80))
    throw new TypeError('md5Key: 1..80 octets');
  return {
    ...c,
    port: c.port ?? 179,
    holdTime,
    connectRetrySeconds: c.connectRetrySeconds ?? 5,
    maxRetrySeconds: c.maxRetrySeconds ?? 300,
    families: c.families ?? ['ipv4-unicast'],
    passive: c.passive ?? false,
    routeReflectorClient: c.routeReflectorClient ?? false,
  };
}
