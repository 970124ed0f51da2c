import {
  afiSafi,
  BgpMessageError,
  familyOf,
  OPEN,
  OPEN_MESSAGE_ERROR,
  type Capabilities,
  type Family,
  type GracefulRestartCapability,
  type OpenMessage,
} from '../message/index.ts';
import type { ResolvedPeerConfig } from './config.ts';

/** What both OPENs agreed on for one session. */
export interface Negotiated {
  readonly holdTime: number;
  readonly keepaliveTime: number;
  readonly families: readonly Family[];
  readonly fourOctetAs: boolean;
  readonly routeRefresh: boolean;
  readonly peerRouterId: string;
  /** The peer's graceful restart capability, when it sent one. */
  readonly peerGracefulRestart?: GracefulRestartCapability;
  readonly ibgp: boolean;
}

/** The capabilities this speaker sends to a peer. */
export function localCapabilities(c: ResolvedPeerConfig, restarting: boolean): Capabilities {
  return {
    multiprotocol: c.families.map(afiSafi),
    routeRefresh: true,
    fourOctetAs: c.localAs,
    gracefulRestart: c.gracefulRestart && {
      restarting,
      time: c.gracefulRestart.restartTime,
      families: c.families.map((f) => ({ ...afiSafi(f), forwardingPreserved: restarting })),
    },
    unknown: [],
  };
}

/** Checks the peer's OPEN against the configuration (RFC 4271 §6.2) and agrees on the session. */
export function negotiate(c: ResolvedPeerConfig, open: OpenMessage): Negotiated | BgpMessageError {
  if (open.asn !== c.peerAs)
    return new BgpMessageError(
      OPEN_MESSAGE_ERROR,
      OPEN.badPeerAs,
      `AS ${open.asn}, expected ${c.peerAs}`,
      asData(open.asn),
    );
  if (open.routerId === c.routerId)
    return new BgpMessageError(
      OPEN_MESSAGE_ERROR,
      OPEN.badBgpIdentifier,
      `BGP identifier ${open.routerId} is ours`,
    );
  const holdTime = Math.min(c.holdTime, open.holdTime);
  // A peer without multiprotocol capabilities speaks IPv4 unicast only (RFC 4760 §8).
  const offered = open.capabilities.multiprotocol.length
    ? open.capabilities.multiprotocol.map((m) => familyOf(m.afi, m.safi))
    : ['ipv4-unicast'];
  const families = c.families.filter((f) => offered.includes(f));
  return {
    holdTime,
    keepaliveTime: Math.floor(holdTime / 3),
    families,
    fourOctetAs: open.capabilities.fourOctetAs !== undefined,
    routeRefresh: open.capabilities.routeRefresh,
    peerRouterId: open.routerId,
    peerGracefulRestart: open.capabilities.gracefulRestart,
    ibgp: c.peerAs === c.localAs,
  };
}

function asData(asn: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(asn > 0xffff ? 23456 : asn);
  return b;
}
