/**
 * Text the way kube-apiserver (Go's net/http and fmt) sees it, for byte-exact behaviour:
 * header values, whitespace trimming and `%q` quoting in error messages.
 */

// Node exposes every header value as a "byte string" (each byte one latin1 character) and
// writes header strings the same way; Go reads and writes the same bytes as UTF-8 text.

function isAscii(s: string): boolean {
  return Buffer.byteLength(s, 'utf8') === s.length;
}

/** A received header value (latin1 byte string) as the UTF-8 text Go would see. */
export function fromHeaderValue(value: string): string {
  if (isAscii(value)) return value;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0xff) return value; // already decoded text, not a byte string
  }
  return Buffer.from(value, 'latin1').toString('utf8');
}

/** Text to send as a header value: its UTF-8 bytes as a latin1 byte string, which Node writes unchanged. */
export function toHeaderValue(value: string): string {
  return isAscii(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}

/**
 * Every header line kept separate (Node's `req.headers` joins repeated lines with ", "), with
 * lowercase names: pass `req.rawHeaders` (HTTP/1 and HTTP/2); on HTTP/1 `req.headersDistinct`
 * is equivalent.
 */
export function distinctHeaders(rawHeaders: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    (out[name] ??= []).push(rawHeaders[i + 1]);
  }
  return out;
}

/** strings.TrimSpace: Go's unicode.IsSpace is exactly the Unicode White_Space property. */
export function goTrimSpace(s: string): string {
  return s.replace(/^\p{White_Space}+|\p{White_Space}+$/gu, '');
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const SHORT_ESCAPES: Record<string, string> = {
  '\u0007': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '"': '\\"',
  '\\': '\\\\',
};

/** strconv.Quote, i.e. fmt's `%q` of a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const short = SHORT_ESCAPES[ch];
    const cp = ch.codePointAt(0) ?? 0;
    if (short !== undefined) out += short;
    else if (PRINTABLE.test(ch)) out += ch;
    else if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}
