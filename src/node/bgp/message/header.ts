import { BgpMessageError } from './errors.ts';
import { HEADER, MESSAGE_HEADER_ERROR } from './notification-codes.ts';
import {
  HEADER_LENGTH,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  TYPE_KEEPALIVE,
  TYPE_NOTIFICATION,
  TYPE_OPEN,
  TYPE_ROUTE_REFRESH,
  TYPE_UPDATE,
} from './types.ts';

const MIN_LENGTH: Record<number, number> = {
  [TYPE_OPEN]: 29,
  [TYPE_UPDATE]: 23,
  [TYPE_NOTIFICATION]: 21,
  [TYPE_KEEPALIVE]: 19,
  [TYPE_ROUTE_REFRESH]: 23,
};

/** Frames a message body with the 19-octet header (RFC 4271 §4.1). */
export function frame(type: number, body: Uint8Array): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > MAX_MESSAGE_LENGTH)
    throw new RangeError(`BGP message of ${length} octets exceeds ${MAX_MESSAGE_LENGTH}`);
  const out = Buffer.alloc(length, 0xff);
  out.writeUInt16BE(length, MARKER_LENGTH);
  out[18] = type;
  out.set(body, HEADER_LENGTH);
  return out;
}

/** The header of a message: its type and total length, or why it is bad (RFC 4271 §6.1). */
export function checkHeader(buf: Buffer): { type: number; length: number } | BgpMessageError {
  for (let i = 0; i < MARKER_LENGTH; i++)
    if (buf[i] !== 0xff)
      return new BgpMessageError(
        MESSAGE_HEADER_ERROR,
        HEADER.connectionNotSynchronized,
        'marker is not all ones',
      );
  const length = buf.readUInt16BE(MARKER_LENGTH);
  const type = buf[18];
  const lengthData = buf.subarray(MARKER_LENGTH, MARKER_LENGTH + 2);
  if (length < HEADER_LENGTH || length > MAX_MESSAGE_LENGTH)
    return new BgpMessageError(
      MESSAGE_HEADER_ERROR,
      HEADER.badMessageLength,
      `length ${length}`,
      Buffer.from(lengthData),
    );
  const min = MIN_LENGTH[type];
  if (min === undefined)
    return new BgpMessageError(
      MESSAGE_HEADER_ERROR,
      HEADER.badMessageType,
      `type ${type}`,
      Buffer.from([type]),
    );
  if (
    length < min ||
    (type === TYPE_KEEPALIVE && length !== min) ||
    (type === TYPE_ROUTE_REFRESH && length !== min)
  )
    return new BgpMessageError(
      MESSAGE_HEADER_ERROR,
      HEADER.badMessageLength,
      `length ${length} for type ${type}`,
      Buffer.from(lengthData),
    );
  return { type, length };
}
