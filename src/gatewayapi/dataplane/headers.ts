import type { IncomingHttpHeaders } from 'node:http';
import { connectionTokens, isDroppedResponseHeader } from '../../proxy/headers.ts';
import type { HeaderModifierIR } from '../ir.ts';

/** Headers by lower-case name, each line a value (repeated lines stay apart). */
export type HeaderMap = Record<string, string[]>;

/**
 * The end-to-end headers of a raw header list (`name, value, name, value…`): hop-by-hop ones
 * (RFC 9110 §7.6.1, `src/proxy/headers.ts`), the names `Connection` lists, `Host` and `Expect`
 * (the gateway answers `100-continue` itself) are left out.
 */
export function endToEndHeaders(
  raw: readonly string[],
  connection: string | string[] | undefined,
  dropExpect: boolean,
): HeaderMap {
  const listed = connectionTokens(connection);
  const out: HeaderMap = Object.create(null) as HeaderMap;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (isDroppedResponseHeader(name)) continue;
    if (dropExpect && name === 'expect') continue;
    if (listed !== null && listed.has(name)) continue;
    const v = out[name];
    if (v === undefined) out[name] = [raw[i + 1]];
    else v.push(raw[i + 1]);
  }
  return out;
}

/** The response headers of an HTTP/2 response (pseudo-headers and connection-specific ones dropped). */
export function headersOfH2(h: IncomingHttpHeaders): HeaderMap {
  const out: HeaderMap = Object.create(null) as HeaderMap;
  for (const name in h) {
    if (isDroppedResponseHeader(name)) continue;
    const v = h[name];
    if (v === undefined) continue;
    out[name] = Array.isArray(v) ? v.slice() : [v];
  }
  return out;
}

/** Applies a header modifier: `set` replaces, `add` appends a line, `remove` drops (names lower-case). */
export function modifyHeaders(h: HeaderMap, m: HeaderModifierIR): void {
  for (let i = 0; i < m.set.length; i++) h[m.set[i].name] = [m.set[i].value];
  for (let i = 0; i < m.add.length; i++) {
    const { name, value } = m.add[i];
    const v = h[name];
    if (v === undefined) h[name] = [value];
    else v.push(value);
  }
  for (let i = 0; i < m.remove.length; i++) delete h[m.remove[i]];
}

/** Adds the client address to `x-forwarded-for` and sets `x-forwarded-proto`. */
export function addForwardedHeaders(h: HeaderMap, clientAddress: string | undefined, scheme: string): void {
  const ip = clientAddress === undefined ? '' : unmapped(clientAddress);
  const prior = h['x-forwarded-for'];
  if (ip !== '') h['x-forwarded-for'] = [prior === undefined ? ip : `${prior.join(', ')}, ${ip}`];
  h['x-forwarded-proto'] = [scheme];
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (an IPv4 client of a dual-stack socket). */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** A copy whose value arrays are its own. */
export function copyHeaders(h: HeaderMap): HeaderMap {
  const out: HeaderMap = Object.create(null) as HeaderMap;
  for (const name in h) out[name] = h[name].slice();
  return out;
}
