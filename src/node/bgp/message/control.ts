import { BgpMessageError } from './errors.ts';
import { frame } from './header.ts';
import { ROUTE_REFRESH_MESSAGE_ERROR } from './notification-codes.ts';
import {
  TYPE_KEEPALIVE,
  TYPE_NOTIFICATION,
  TYPE_ROUTE_REFRESH,
  type NotificationMessage,
  type RouteRefreshMessage,
} from './types.ts';

export function encodeKeepalive(): Buffer {
  return frame(TYPE_KEEPALIVE, Buffer.alloc(0));
}

export function encodeNotification(
  code: number,
  subcode: number,
  data: Uint8Array = Buffer.alloc(0),
): Buffer {
  // Data is cut so the message fits 4096 octets (RFC 4271 §4.5 has no other bound).
  const body = Buffer.concat([Buffer.from([code, subcode]), data.subarray(0, 4096 - 21)]);
  return frame(TYPE_NOTIFICATION, body);
}

export function decodeNotification(body: Buffer): NotificationMessage {
  return { type: 'notification', code: body[0], subcode: body[1], data: Buffer.from(body.subarray(2)) };
}

export function encodeRouteRefresh(afi: number, safi: number): Buffer {
  return frame(TYPE_ROUTE_REFRESH, Buffer.from([afi >> 8, afi & 0xff, 0, safi]));
}

export function decodeRouteRefresh(body: Buffer): RouteRefreshMessage | BgpMessageError {
  if (body.length !== 4) return new BgpMessageError(ROUTE_REFRESH_MESSAGE_ERROR, 1, `length ${body.length}`);
  return { type: 'route-refresh', afi: body.readUInt16BE(0), subtype: body[2], safi: body[3] };
}
