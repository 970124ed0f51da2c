import { addressBytes, afiSafi } from './address.ts';
import {
  ATTR_AGGREGATOR,
  ATTR_AS_PATH,
  ATTR_ATOMIC_AGGREGATE,
  ATTR_CLUSTER_LIST,
  ATTR_COMMUNITIES,
  ATTR_LARGE_COMMUNITY,
  ATTR_LOCAL_PREF,
  ATTR_MED,
  ATTR_MP_REACH_NLRI,
  ATTR_MP_UNREACH_NLRI,
  ATTR_NEXT_HOP,
  ATTR_ORIGIN,
  ATTR_ORIGINATOR_ID,
  FLAG_EXTENDED_LENGTH,
  FLAG_PARTIAL,
  FLAG_TRANSITIVE,
  KNOWN_FLAGS,
} from './attribute-codes.ts';
import { encodeNlri } from './nlri.ts';
import { AS_TRANS } from './open.ts';
import type { AsPathSegment, DecodeContext, PathAttributes } from './types.ts';

const SEGMENT_CODES = { set: 1, sequence: 2, 'confed-sequence': 3, 'confed-set': 4 } as const;
const ORIGIN_CODES = { igp: 0, egp: 1, incomplete: 2 } as const;

/** One attribute with its header; the extended length flag is set only when needed. */
export function encodeAttribute(flags: number, type: number, value: Uint8Array): Buffer {
  const extended = value.length > 255;
  const head = Buffer.alloc(extended ? 4 : 3);
  head[0] = extended ? flags | FLAG_EXTENDED_LENGTH : flags & ~FLAG_EXTENDED_LENGTH;
  head[1] = type;
  if (extended) head.writeUInt16BE(value.length, 2);
  else head[2] = value.length;
  return Buffer.concat([head, value]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** The Path Attributes field in type-code order (MP_REACH/MP_UNREACH where present). */
export function encodeAttributes(a: PathAttributes, ctx: DecodeContext): Buffer {
  const parts: Buffer[] = [];
  const put = (type: number, value: Uint8Array) =>
    parts.push(encodeAttribute(KNOWN_FLAGS[type], type, value));
  if (a.origin !== undefined) put(ATTR_ORIGIN, Buffer.from([ORIGIN_CODES[a.origin]]));
  if (a.asPath !== undefined) put(ATTR_AS_PATH, encodeAsPath(a.asPath, ctx.fourOctetAs ? 4 : 2));
  if (a.nextHop !== undefined) put(ATTR_NEXT_HOP, addressBytes(a.nextHop));
  if (a.med !== undefined) put(ATTR_MED, u32(a.med));
  if (a.localPref !== undefined) put(ATTR_LOCAL_PREF, u32(a.localPref));
  if (a.atomicAggregate) put(ATTR_ATOMIC_AGGREGATE, Buffer.alloc(0));
  if (a.aggregator !== undefined) {
    const asn = ctx.fourOctetAs ? u32(a.aggregator.asn) : Buffer.alloc(2);
    if (!ctx.fourOctetAs) asn.writeUInt16BE(a.aggregator.asn > 0xffff ? AS_TRANS : a.aggregator.asn);
    put(ATTR_AGGREGATOR, Buffer.concat([asn, addressBytes(a.aggregator.address)]));
  }
  if (a.communities?.length) put(ATTR_COMMUNITIES, Buffer.concat(a.communities.map(u32)));
  if (a.originatorId !== undefined) put(ATTR_ORIGINATOR_ID, addressBytes(a.originatorId));
  if (a.clusterList?.length) put(ATTR_CLUSTER_LIST, Buffer.concat(a.clusterList.map((c) => addressBytes(c))));
  if (a.mpReach !== undefined) {
    const { afi, safi } = afiSafi(a.mpReach.family);
    const nh = Buffer.concat(a.mpReach.nextHops.map((n) => addressBytes(n)));
    const head = Buffer.alloc(4);
    head.writeUInt16BE(afi);
    head[2] = safi;
    head[3] = nh.length;
    put(ATTR_MP_REACH_NLRI, Buffer.concat([head, nh, Buffer.from([0]), encodeNlri(a.mpReach.nlri)]));
  }
  if (a.mpUnreach !== undefined) {
    const { afi, safi } = afiSafi(a.mpUnreach.family);
    const head = Buffer.from([afi >> 8, afi & 0xff, safi]);
    put(ATTR_MP_UNREACH_NLRI, Buffer.concat([head, encodeNlri(a.mpUnreach.withdrawn)]));
  }
  if (a.largeCommunities?.length)
    put(ATTR_LARGE_COMMUNITY, Buffer.concat(a.largeCommunities.flatMap((c) => c.map(u32))));
  // Unknown optional transitive attributes pass on with the Partial bit set (RFC 4271 §5);
  // unknown non-transitive ones are never passed on.
  for (const u of a.unknown ?? [])
    if (u.flags & FLAG_TRANSITIVE) parts.push(encodeAttribute(u.flags | FLAG_PARTIAL, u.typeCode, u.value));
  return Buffer.concat(parts);
}

function encodeAsPath(path: readonly AsPathSegment[], width: 2 | 4): Buffer {
  const parts: Buffer[] = [];
  for (const seg of path)
    for (let i = 0; i < seg.asns.length; i += 255) {
      const asns = seg.asns.slice(i, i + 255);
      const b = Buffer.alloc(2 + asns.length * width);
      b[0] = SEGMENT_CODES[seg.type];
      b[1] = asns.length;
      asns.forEach((asn, j) => {
        if (width === 4) b.writeUInt32BE(asn, 2 + j * 4);
        else b.writeUInt16BE(asn > 0xffff ? AS_TRANS : asn, 2 + j * 2);
      });
      parts.push(b);
    }
  return Buffer.concat(parts);
}
