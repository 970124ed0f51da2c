// The BGP-4 message codec: RFC 4271 with RFC 1997, 2918, 4456, 4724, 4760, 5492, 6793, 7606, 8092.
export * from './address.ts';
export * from './types.ts';
export { BgpMessageError, type ErrorAction } from './errors.ts';
export * from './notification-codes.ts';
export * from './attribute-codes.ts';
export { encodeOpen, decodeOpen, AS_TRANS } from './open.ts';
export { encodeUpdate, decodeUpdate, encodeEndOfRib, type DecodedUpdate } from './update.ts';
export { encodeKeepalive, encodeNotification, encodeRouteRefresh } from './control.ts';
export { decodeMessage, type DecodedMessage } from './decode.ts';
export { MessageReader } from './reader.ts';
export { encodeNlri, decodeNlri, nlriSize } from './nlri.ts';
export { frame } from './header.ts';
