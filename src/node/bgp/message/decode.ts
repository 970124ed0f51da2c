import { decodeNotification, decodeRouteRefresh } from './control.ts';
import { BgpMessageError } from './errors.ts';
import { checkHeader } from './header.ts';
import { decodeOpen } from './open.ts';
import { decodeUpdate, type DecodedUpdate } from './update.ts';
import {
  HEADER_LENGTH,
  TYPE_KEEPALIVE,
  TYPE_NOTIFICATION,
  TYPE_OPEN,
  TYPE_UPDATE,
  type DecodeContext,
  type KeepaliveMessage,
  type NotificationMessage,
  type OpenMessage,
  type RouteRefreshMessage,
} from './types.ts';

export type DecodedMessage =
  OpenMessage | DecodedUpdate | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;

/** Decodes one whole message (header included); never throws on any input. */
export function decodeMessage(buf: Buffer, ctx: DecodeContext): DecodedMessage | BgpMessageError {
  if (buf.length < HEADER_LENGTH) return new BgpMessageError(1, 2, `message of ${buf.length} octets`);
  const header = checkHeader(buf);
  if (header instanceof BgpMessageError) return header;
  if (header.length !== buf.length)
    return new BgpMessageError(1, 2, `length ${header.length} of ${buf.length} octets`);
  const body = buf.subarray(HEADER_LENGTH);
  switch (header.type) {
    case TYPE_OPEN:
      return decodeOpen(body);
    case TYPE_UPDATE:
      return decodeUpdate(body, ctx);
    case TYPE_NOTIFICATION:
      return decodeNotification(body);
    case TYPE_KEEPALIVE:
      return { type: 'keepalive' };
    default:
      return decodeRouteRefresh(body);
  }
}
