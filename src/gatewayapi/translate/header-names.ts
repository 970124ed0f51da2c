// Header names as TrafficPolicy fields give them (lower-cased before they are checked).

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
