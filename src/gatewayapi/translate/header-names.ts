// Header names as TrafficPolicy fields give them (lower-cased before they are checked).

import { rec, text } from './read.ts';

/** An HTTP field name: an RFC 9110 token, lower-case. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Headers that frame the message or steer the connection: no policy sets, forwards or takes them. */
export const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);

/**
 * Reads a `claimsToHeaders` list: each `{claim, header}` whose header is a field name `allowed`
 * takes; any other entry is reported through `invalid` (message after `prefix`) and left out.
 */
export function readClaimsToHeaders(
  list: readonly unknown[],
  allowed: (header: string) => boolean,
  invalid: (message: string) => void,
  prefix: string,
): { claim: string; header: string }[] {
  const out: { claim: string; header: string }[] = [];
  for (const c of list) {
    const claim = text(rec(c).claim);
    const header = text(rec(c).header)?.toLowerCase();
    if (claim === undefined || header === undefined || !HEADER_NAME.test(header) || !allowed(header))
      invalid(
        `${prefix}claimsToHeaders: ${String(claim)} → ${String(header)} is not a claim and an allowed header name.`,
      );
    else out.push({ claim, header });
  }
  return out;
}
