import type { Family } from './address.ts';

export const MARKER_LENGTH = 16;
export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;

export const TYPE_OPEN = 1;
export const TYPE_UPDATE = 2;
export const TYPE_NOTIFICATION = 3;
export const TYPE_KEEPALIVE = 4;
export const TYPE_ROUTE_REFRESH = 5;

/** One AFI/SAFI pair as capabilities carry it (also pairs this speaker does not know). */
export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

/** Graceful restart capability (RFC 4724 §3). */
export interface GracefulRestartCapability {
  /** R bit: the sender has restarted and its peer should not wait for its End-of-RIB to send. */
  readonly restarting: boolean;
  /** Seconds the peer keeps the sender's routes while the session is down. */
  readonly time: number;
  readonly families: readonly (AfiSafi & { readonly forwardingPreserved: boolean })[];
}

/** The capabilities of an OPEN (RFC 5492); unknown ones are kept as they came. */
export interface Capabilities {
  readonly multiprotocol: readonly AfiSafi[];
  readonly routeRefresh: boolean;
  /** The 4-octet AS number (RFC 6793), when the capability is present. */
  readonly fourOctetAs?: number;
  readonly gracefulRestart?: GracefulRestartCapability;
  readonly unknown: readonly { readonly code: number; readonly value: Buffer }[];
}

export interface OpenMessage {
  readonly type: 'open';
  readonly version: number;
  /** The real AS: the 4-octet capability's when present, else the 2-octet field. */
  readonly asn: number;
  readonly holdTime: number;
  readonly routerId: string;
  readonly capabilities: Capabilities;
}

export type Origin = 'igp' | 'egp' | 'incomplete';

export interface AsPathSegment {
  readonly type: 'set' | 'sequence' | 'confed-sequence' | 'confed-set';
  readonly asns: readonly number[];
}

/** MP_REACH_NLRI (RFC 4760 §3) for a family this speaker carries. */
export interface MpReach {
  readonly family: Family;
  /** One next hop, or for IPv6 a global and a link-local one. */
  readonly nextHops: readonly string[];
  readonly nlri: readonly string[];
}

export interface MpUnreach {
  readonly family: Family;
  readonly withdrawn: readonly string[];
}

/** An attribute this speaker does not interpret, kept to pass on when transitive. */
export interface UnknownAttribute {
  readonly flags: number;
  readonly typeCode: number;
  readonly value: Buffer;
}

/** Path attributes (RFC 4271 §5, RFC 1997, RFC 8092, RFC 4456, RFC 4760). */
export interface PathAttributes {
  readonly origin?: Origin;
  readonly asPath?: readonly AsPathSegment[];
  readonly nextHop?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: { readonly asn: number; readonly address: string };
  /** RFC 1997 communities as 32-bit numbers (high 16 bits AS, low 16 bits value). */
  readonly communities?: readonly number[];
  /** RFC 8092 large communities: global administrator, local data 1, local data 2. */
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  readonly unknown?: readonly UnknownAttribute[];
}

export interface UpdateMessage {
  readonly type: 'update';
  /** IPv4 prefixes withdrawn in the classic field. */
  readonly withdrawn: readonly string[];
  readonly attributes: PathAttributes;
  /** IPv4 prefixes announced in the classic field. */
  readonly nlri: readonly string[];
}

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
}

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

/** ROUTE-REFRESH (RFC 2918); subtype 0 is a plain refresh request. */
export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
}

export type BgpMessage =
  OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** What decoding depends on from the session: whether AS numbers are 4 octets. */
export interface DecodeContext {
  readonly fourOctetAs: boolean;
}
