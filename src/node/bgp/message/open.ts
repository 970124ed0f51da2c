import { addressBytes, addressText } from './address.ts';
import { decodeCapabilities, encodeCapabilities } from './capabilities.ts';
import { BgpMessageError } from './errors.ts';
import { frame } from './header.ts';
import { OPEN, OPEN_MESSAGE_ERROR } from './notification-codes.ts';
import { TYPE_OPEN, type OpenMessage } from './types.ts';

/** AS_TRANS (RFC 6793): the 2-octet stand-in for an AS number above 65535. */
export const AS_TRANS = 23456;

/** An OPEN with the 4-octet AS capability set from `asn` when the caller left it out. */
export function encodeOpen(open: Omit<OpenMessage, 'type' | 'version'>): Buffer {
  const params = encodeCapabilities(open.capabilities);
  const body = Buffer.alloc(10 + params.length);
  body[0] = 4;
  body.writeUInt16BE(open.asn > 0xffff ? AS_TRANS : open.asn, 1);
  body.writeUInt16BE(open.holdTime, 3);
  body.set(addressBytes(open.routerId), 5);
  body[9] = params.length;
  body.set(params, 10);
  return frame(TYPE_OPEN, body);
}

/** Decodes an OPEN body (after the header) and checks it as RFC 4271 §6.2 says. */
export function decodeOpen(body: Buffer): OpenMessage | BgpMessageError {
  const version = body[0];
  if (version !== 4)
    return new BgpMessageError(
      OPEN_MESSAGE_ERROR,
      OPEN.unsupportedVersionNumber,
      `version ${version}`,
      Buffer.from([0, 4]),
    );
  const myAs = body.readUInt16BE(1);
  const holdTime = body.readUInt16BE(3);
  if (holdTime === 1 || holdTime === 2)
    return new BgpMessageError(OPEN_MESSAGE_ERROR, OPEN.unacceptableHoldTime, `hold time ${holdTime}`);
  const routerId = addressText(body.subarray(5, 9));
  if (body.readUInt32BE(5) === 0)
    return new BgpMessageError(OPEN_MESSAGE_ERROR, OPEN.badBgpIdentifier, 'BGP identifier 0');
  const paramLength = body[9];
  if (10 + paramLength !== body.length)
    return new BgpMessageError(
      OPEN_MESSAGE_ERROR,
      0,
      `optional parameters length ${paramLength} of ${body.length - 10}`,
    );
  const capabilities = decodeCapabilities(body.subarray(10));
  if (capabilities instanceof BgpMessageError) return capabilities;
  const four = capabilities.fourOctetAs;
  if (four !== undefined && myAs !== AS_TRANS && four !== myAs && four <= 0xffff)
    return new BgpMessageError(
      OPEN_MESSAGE_ERROR,
      OPEN.badPeerAs,
      `AS ${myAs} and 4-octet AS ${four} differ`,
    );
  return { type: 'open', version, asn: four ?? myAs, holdTime, routerId, capabilities };
}
