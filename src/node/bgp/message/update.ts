import type { Family } from './address.ts';
import { decodeAttributes } from './attributes-decode.ts';
import { encodeAttributes } from './attributes-encode.ts';
import { BgpMessageError } from './errors.ts';
import { frame } from './header.ts';
import { decodeNlri, encodeNlri } from './nlri.ts';
import { UPDATE, UPDATE_MESSAGE_ERROR } from './notification-codes.ts';
import { TYPE_UPDATE, type DecodeContext, type PathAttributes, type UpdateMessage } from './types.ts';

/** A decoded UPDATE and what RFC 7606 says about it when some attribute was bad. */
export interface DecodedUpdate extends UpdateMessage {
  /** Set when the UPDATE's announcements must be taken as withdrawals (RFC 7606 §2). */
  readonly treatAsWithdraw?: BgpMessageError;
  /** Attributes dropped as RFC 7606 allows, the UPDATE otherwise kept. */
  readonly discarded?: readonly BgpMessageError[];
  /** The family this UPDATE marks End-of-RIB for (RFC 4724 §2). */
  readonly endOfRib?: Family;
}

export function encodeUpdate(u: Omit<UpdateMessage, 'type'>, ctx: DecodeContext): Buffer {
  const withdrawn = encodeNlri(u.withdrawn);
  const attrs = encodeAttributes(u.attributes, ctx);
  const nlri = encodeNlri(u.nlri);
  const body = Buffer.alloc(4 + withdrawn.length + attrs.length + nlri.length);
  body.writeUInt16BE(withdrawn.length, 0);
  body.set(withdrawn, 2);
  body.writeUInt16BE(attrs.length, 2 + withdrawn.length);
  body.set(attrs, 4 + withdrawn.length);
  body.set(nlri, 4 + withdrawn.length + attrs.length);
  return frame(TYPE_UPDATE, body);
}

/** The End-of-RIB marker of a family: an empty UPDATE for IPv4, an empty MP_UNREACH otherwise. */
export function encodeEndOfRib(family: Family, ctx: DecodeContext): Buffer {
  if (family === 'ipv4-unicast') return encodeUpdate({ withdrawn: [], attributes: {}, nlri: [] }, ctx);
  return encodeUpdate({ withdrawn: [], attributes: { mpUnreach: { family, withdrawn: [] } }, nlri: [] }, ctx);
}

/** Decodes an UPDATE body; errors RFC 7606 lets the session survive come back inside the value. */
export function decodeUpdate(body: Buffer, ctx: DecodeContext): DecodedUpdate | BgpMessageError {
  const withdrawnLength = body.readUInt16BE(0);
  if (2 + withdrawnLength + 2 > body.length)
    return new BgpMessageError(
      UPDATE_MESSAGE_ERROR,
      UPDATE.malformedAttributeList,
      'withdrawn routes length overruns',
    );
  const withdrawn = decodeNlri(body.subarray(2, 2 + withdrawnLength), 'ipv4-unicast');
  if (withdrawn === undefined)
    return new BgpMessageError(
      UPDATE_MESSAGE_ERROR,
      UPDATE.invalidNetworkField,
      'withdrawn routes malformed',
    );
  const attrStart = 4 + withdrawnLength;
  const attrLength = body.readUInt16BE(2 + withdrawnLength);
  if (attrStart + attrLength > body.length)
    return new BgpMessageError(
      UPDATE_MESSAGE_ERROR,
      UPDATE.malformedAttributeList,
      'path attribute length overruns',
    );
  const decoded = decodeAttributes(body.subarray(attrStart, attrStart + attrLength), ctx);
  if (decoded instanceof BgpMessageError) return decoded;
  const nlri = decodeNlri(body.subarray(attrStart + attrLength), 'ipv4-unicast');
  if (nlri === undefined)
    return new BgpMessageError(UPDATE_MESSAGE_ERROR, UPDATE.invalidNetworkField, 'NLRI malformed');
  const a = decoded.attributes;
  let treatAsWithdraw = decoded.problems.find((p) => p.action === 'treat-as-withdraw');
  const discarded = decoded.problems.filter((p) => p.action === 'attribute-discard');
  const announces = nlri.length > 0 || (a.mpReach !== undefined && a.mpReach.nlri.length > 0);
  if (announces && treatAsWithdraw === undefined) treatAsWithdraw = missingMandatory(a, nlri.length > 0);
  const endOfRib = endOfRibFamily(withdrawn, a, nlri, attrLength);
  return {
    type: 'update',
    withdrawn,
    attributes: a,
    nlri,
    ...(treatAsWithdraw ? { treatAsWithdraw } : {}),
    ...(discarded.length ? { discarded } : {}),
    ...(endOfRib ? { endOfRib } : {}),
  };
}

function missingMandatory(a: PathAttributes, classicNlri: boolean): BgpMessageError | undefined {
  const missing =
    a.origin === undefined ? 1 : a.asPath === undefined ? 2 : classicNlri && a.nextHop === undefined ? 3 : 0;
  if (missing === 0) return undefined;
  return new BgpMessageError(
    UPDATE_MESSAGE_ERROR,
    UPDATE.missingWellKnownAttribute,
    `missing well-known attribute ${missing}`,
    Buffer.from([missing]),
    'treat-as-withdraw',
  );
}

function endOfRibFamily(
  withdrawn: string[],
  a: PathAttributes,
  nlri: string[],
  attrLength: number,
): Family | undefined {
  if (withdrawn.length === 0 && nlri.length === 0 && attrLength === 0) return 'ipv4-unicast';
  const only = Object.keys(a);
  if (withdrawn.length === 0 && nlri.length === 0 && only.length === 1 && a.mpUnreach?.withdrawn.length === 0)
    return a.mpUnreach.family;
  return undefined;
}
