import type { PathModifierIR, RedirectIR } from '../ir.ts';
import { trimTrailingSlashes } from './match.ts';

/** The port a scheme implies. */
export function wellKnownPort(scheme: string): number {
  return scheme === 'https' ? 443 : 80;
}

/**
 * A path after a ReplaceFullPath or ReplacePrefixMatch modifier. The prefix is replaced segment-wise
 * with exactly one `/` between the replacement and the rest (`/strip-prefix/three` with prefix
 * `/strip-prefix` and replacement `/` is `/three`; `/strip-prefix` alone becomes `/`).
 */
export function modifiedPath(m: PathModifierIR, path: string, matchedPrefix: string | null): string {
  if (m.type === 'ReplaceFullPath') return m.value;
  const prefix = trimTrailingSlashes(m.prefix ?? matchedPrefix ?? '');
  if (!path.startsWith(prefix)) return path;
  const rest = path.slice(prefix.length);
  if (rest !== '' && rest.charCodeAt(0) !== 47 /* '/' */) return path; // not a segment boundary
  let replacement = m.value;
  if (rest !== '') replacement = trimTrailingSlashes(replacement);
  const out = replacement + rest;
  return out === '' ? '/' : out;
}

/** What a redirect needs to know of the request. */
export interface RedirectSource {
  /** The listener's scheme. */
  readonly scheme: 'http' | 'https';
  readonly listenerPort: number;
  /** The Host without port (lower-case). */
  readonly host: string;
  readonly path: string;
  /** The query without `?`, `''` when none. */
  readonly query: string;
}

/**
 * The `Location` of a RequestRedirect. The port follows the spec: the filter's port if set; else
 * the well-known port of the filter's scheme if that is set; else the listener's port. A port
 * that is the well-known one of the resulting scheme is left out.
 */
export function redirectLocation(r: RedirectIR, src: RedirectSource, matchedPrefix: string | null): string {
  const scheme = r.scheme ?? src.scheme;
  const port = r.port ?? (r.scheme !== null ? wellKnownPort(r.scheme) : src.listenerPort);
  const host = r.hostname ?? src.host;
  const path = r.path === null ? src.path : modifiedPath(r.path, src.path, matchedPrefix);
  const authority = port === wellKnownPort(scheme) ? host : `${host}:${port}`;
  return `${scheme}://${authority}${path}${src.query === '' ? '' : `?${src.query}`}`;
}
