import { addressText, familyOf } from './address.ts';
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
  FLAG_OPTIONAL,
  FLAG_TRANSITIVE,
  KNOWN_FLAGS,
} from './attribute-codes.ts';
import { BgpMessageError } from './errors.ts';
import { decodeNlri } from './nlri.ts';
import { UPDATE, UPDATE_MESSAGE_ERROR } from './notification-codes.ts';
import type { AsPathSegment, DecodeContext, Origin, PathAttributes, UnknownAttribute } from './types.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Path attributes read leniently: session-fatal errors end decoding, the rest are listed (RFC 7606). */
export interface DecodedAttributes {
  readonly attributes: PathAttributes;
  readonly problems: readonly BgpMessageError[];
}

const ORIGINS: readonly Origin[] = ['igp', 'egp', 'incomplete'];
const SEGMENT_TYPES = { 1: 'set', 2: 'sequence', 3: 'confed-sequence', 4: 'confed-set' } as const;

/** Decodes the Path Attributes field of an UPDATE. */
export function decodeAttributes(buf: Buffer, ctx: DecodeContext): DecodedAttributes | BgpMessageError {
  const out: Mutable<PathAttributes> = {};
  const problems: BgpMessageError[] = [];
  const unknown: UnknownAttribute[] = [];
  const seen = new Set<number>();
  for (let at = 0; at < buf.length;) {
    const flags = buf[at];
    const extended = (flags & FLAG_EXTENDED_LENGTH) !== 0;
    const headerLength = extended ? 4 : 3;
    if (at + headerLength > buf.length) return malformedList('attribute header overruns the attribute list');
    const type = buf[at + 1];
    const length = extended ? buf.readUInt16BE(at + 2) : buf[at + 2];
    const end = at + headerLength + length;
    if (end > buf.length) return malformedList(`attribute ${type} overruns the attribute list`);
    const whole = Buffer.from(buf.subarray(at, end));
    const value = whole.subarray(headerLength);
    at = end;
    if (seen.has(type)) {
      // Duplicates are discarded, except the multiprotocol ones (RFC 7606 §3 g).
      if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI)
        return malformedList(`attribute ${type} twice`);
      continue;
    }
    seen.add(type);
    const expected = KNOWN_FLAGS[type];
    if (expected === undefined) {
      if ((flags & FLAG_OPTIONAL) === 0)
        return new BgpMessageError(
          UPDATE_MESSAGE_ERROR,
          UPDATE.unrecognizedWellKnownAttribute,
          `well-known attribute ${type}`,
          whole,
        );
      unknown.push({ flags, typeCode: type, value: Buffer.from(value) });
      continue;
    }
    const err = (
      subcode: number,
      detail: string,
      action: 'treat-as-withdraw' | 'attribute-discard' = 'treat-as-withdraw',
    ) => new BgpMessageError(UPDATE_MESSAGE_ERROR, subcode, detail, whole, action);
    if ((flags & (FLAG_OPTIONAL | FLAG_TRANSITIVE)) !== expected) {
      if (type === ATTR_MP_REACH_NLRI || type === ATTR_MP_UNREACH_NLRI)
        return new BgpMessageError(
          UPDATE_MESSAGE_ERROR,
          UPDATE.attributeFlagsError,
          `flags of attribute ${type}`,
          whole,
        );
      problems.push(err(UPDATE.attributeFlagsError, `flags 0x${flags.toString(16)} of attribute ${type}`));
      continue;
    }
    const problem = decodeOne(type, value, ctx, out, err);
    if (problem instanceof BgpMessageError) {
      if (problem.action === 'session-reset') return problem;
      problems.push(problem);
    }
  }
  if (unknown.length > 0) out.unknown = unknown;
  return { attributes: out, problems };
}

function malformedList(detail: string): BgpMessageError {
  return new BgpMessageError(UPDATE_MESSAGE_ERROR, UPDATE.malformedAttributeList, detail);
}

type ErrorOf = (
  subcode: number,
  detail: string,
  action?: 'treat-as-withdraw' | 'attribute-discard',
) => BgpMessageError;

function decodeOne(
  type: number,
  v: Buffer,
  ctx: DecodeContext,
  out: Mutable<PathAttributes>,
  err: ErrorOf,
): BgpMessageError | undefined {
  const lengthError = () => err(UPDATE.attributeLengthError, `length ${v.length} of attribute ${type}`);
  switch (type) {
    case ATTR_ORIGIN:
      if (v.length !== 1) return lengthError();
      if (v[0] > 2) return err(UPDATE.invalidOrigin, `origin ${v[0]}`);
      out.origin = ORIGINS[v[0]];
      return;
    case ATTR_AS_PATH: {
      const path = decodeAsPath(v, ctx.fourOctetAs ? 4 : 2);
      if (path === undefined) return err(UPDATE.malformedAsPath, 'malformed AS_PATH');
      out.asPath = path;
      return;
    }
    case ATTR_NEXT_HOP: {
      if (v.length !== 4) return lengthError();
      // 0.0.0.0, multicast and class E next hops are semantically wrong (RFC 4271 §6.3).
      if (v[0] === 0 || v[0] >= 224) return err(UPDATE.invalidNextHop, `next hop ${addressText(v)}`);
      out.nextHop = addressText(v);
      return;
    }
    case ATTR_MED:
      if (v.length !== 4) return lengthError();
      out.med = v.readUInt32BE(0);
      return;
    case ATTR_LOCAL_PREF:
      if (v.length !== 4) return lengthError();
      out.localPref = v.readUInt32BE(0);
      return;
    case ATTR_ATOMIC_AGGREGATE:
      if (v.length !== 0)
        return err(UPDATE.attributeLengthError, 'ATOMIC_AGGREGATE with a value', 'attribute-discard');
      out.atomicAggregate = true;
      return;
    case ATTR_AGGREGATOR: {
      const width = ctx.fourOctetAs ? 4 : 2;
      if (v.length !== width + 4)
        return err(UPDATE.attributeLengthError, `AGGREGATOR length ${v.length}`, 'attribute-discard');
      out.aggregator = {
        asn: width === 4 ? v.readUInt32BE(0) : v.readUInt16BE(0),
        address: addressText(v.subarray(width)),
      };
      return;
    }
    case ATTR_COMMUNITIES:
      if (v.length === 0 || v.length % 4 !== 0)
        return err(UPDATE.optionalAttributeError, `COMMUNITIES length ${v.length}`);
      out.communities = Array.from({ length: v.length / 4 }, (_, i) => v.readUInt32BE(i * 4));
      return;
    case ATTR_LARGE_COMMUNITY:
      if (v.length === 0 || v.length % 12 !== 0)
        return err(UPDATE.optionalAttributeError, `LARGE_COMMUNITY length ${v.length}`);
      out.largeCommunities = Array.from(
        { length: v.length / 12 },
        (_, i) => [v.readUInt32BE(i * 12), v.readUInt32BE(i * 12 + 4), v.readUInt32BE(i * 12 + 8)] as const,
      );
      return;
    case ATTR_ORIGINATOR_ID:
      if (v.length !== 4) return lengthError();
      out.originatorId = addressText(v);
      return;
    case ATTR_CLUSTER_LIST:
      if (v.length === 0 || v.length % 4 !== 0) return lengthError();
      out.clusterList = Array.from({ length: v.length / 4 }, (_, i) =>
        addressText(v.subarray(i * 4, i * 4 + 4)),
      );
      return;
    case ATTR_MP_REACH_NLRI:
      return decodeMpReach(v, out);
    case ATTR_MP_UNREACH_NLRI:
      return decodeMpUnreach(v, out);
  }
  return;
}

function decodeAsPath(v: Buffer, width: 2 | 4): AsPathSegment[] | undefined {
  const segments: AsPathSegment[] = [];
  for (let at = 0; at < v.length;) {
    if (at + 2 > v.length) return undefined;
    const type = SEGMENT_TYPES[v[at] as 1 | 2 | 3 | 4];
    const count = v[at + 1];
    if (type === undefined || count === 0 || at + 2 + count * width > v.length) return undefined;
    const asns: number[] = [];
    for (let i = 0; i < count; i++)
      asns.push(width === 4 ? v.readUInt32BE(at + 2 + i * 4) : v.readUInt16BE(at + 2 + i * 2));
    segments.push({ type, asns });
    at += 2 + count * width;
  }
  return segments;
}

// Errors in MP_REACH_NLRI and MP_UNREACH_NLRI reset the session (RFC 7606 §7.11): the NLRI they
// carry cannot be trusted to treat as withdrawn.
function mpError(detail: string): BgpMessageError {
  return new BgpMessageError(UPDATE_MESSAGE_ERROR, UPDATE.optionalAttributeError, detail);
}

function decodeMpReach(v: Buffer, out: Mutable<PathAttributes>): BgpMessageError | undefined {
  if (v.length < 5) return mpError('MP_REACH_NLRI too short');
  const afi = v.readUInt16BE(0);
  const safi = v[2];
  const nhLength = v[3];
  if (5 + nhLength > v.length) return mpError('MP_REACH_NLRI next hop overruns');
  const family = familyOf(afi, safi);
  if (family === undefined) return; // a family not negotiated here: ignored (RFC 4760 §7)
  const nh = v.subarray(4, 4 + nhLength);
  let nextHops: string[];
  if (family === 'ipv4-unicast' && nhLength === 4) nextHops = [addressText(nh)];
  else if (family === 'ipv6-unicast' && nhLength === 16) nextHops = [addressText(nh)];
  else if (family === 'ipv6-unicast' && nhLength === 32)
    nextHops = [addressText(nh.subarray(0, 16)), addressText(nh.subarray(16))];
  else return mpError(`next hop length ${nhLength} for ${family}`);
  // One reserved octet follows the next hop (RFC 4760 §3).
  const nlri = decodeNlri(v.subarray(5 + nhLength), family);
  if (nlri === undefined) return mpError('MP_REACH_NLRI prefixes malformed');
  out.mpReach = { family, nextHops, nlri };
  return;
}

function decodeMpUnreach(v: Buffer, out: Mutable<PathAttributes>): BgpMessageError | undefined {
  if (v.length < 3) return mpError('MP_UNREACH_NLRI too short');
  const family = familyOf(v.readUInt16BE(0), v[2]);
  if (family === undefined) return;
  const withdrawn = decodeNlri(v.subarray(3), family);
  if (withdrawn === undefined) return mpError('MP_UNREACH_NLRI prefixes malformed');
  out.mpUnreach = { family, withdrawn };
  return;
}
