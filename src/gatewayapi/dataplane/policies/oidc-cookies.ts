import type { HeaderMap } from '../headers.ts';

/** The values of every cookie named `name` in a request's Cookie header(s) (RFC 6265 §5.4). */
export function cookieValues(header: string | undefined, name: string): string[] {
  if (header === undefined) return [];
  const values: string[] = [];
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) values.push(pair.slice(eq + 1).trim());
  }
  return values;
}

/** Removes the cookies named in `names` from the Cookie lines of `headers` (and empty lines). */
export function stripCookies(headers: HeaderMap, names: readonly string[]): void {
  const lines = headers.cookie;
  if (lines === undefined) return;
  const kept: string[] = [];
  for (const line of lines) {
    const pairs = line.split(';').filter((pair) => {
      const eq = pair.indexOf('=');
      return pair.trim() !== '' && !names.includes((eq < 0 ? pair : pair.slice(0, eq)).trim());
    });
    if (pairs.length > 0) kept.push(pairs.map((p) => p.trim()).join('; '));
  }
  if (kept.length === 0) delete headers.cookie;
  else headers.cookie = kept;
}

/** A Set-Cookie value for `name`; `maxAgeS` 0 clears it. Always Secure, HttpOnly, SameSite=Lax. */
export function setCookie(name: string, value: string, path: string, maxAgeS: number): string {
  return `${name}=${value}; Path=${path}; Max-Age=${maxAgeS}; Secure; HttpOnly; SameSite=Lax`;
}
