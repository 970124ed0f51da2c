import { notificationName } from './notification-codes.ts';

/**
 * How RFC 7606 says to handle the error: reset the session with the NOTIFICATION, treat the
 * UPDATE's routes as withdrawn, or drop only the bad attribute.
 */
export type ErrorAction = 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';

/** A malformed message, as the NOTIFICATION that would answer it (a value, never thrown by decoders). */
export class BgpMessageError extends Error {
  override name = 'BgpMessageError';
  readonly code: number;
  readonly subcode: number;
  readonly data: Buffer;
  readonly action: ErrorAction;

  constructor(
    code: number,
    subcode: number,
    detail: string,
    data: Buffer = Buffer.alloc(0),
    action: ErrorAction = 'session-reset',
  ) {
    super(`${notificationName(code, subcode)}: ${detail}`);
    this.code = code;
    this.subcode = subcode;
    this.data = data;
    this.action = action;
  }
}
