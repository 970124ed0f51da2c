import type { IncomingMessage } from 'node:http';

const MAX_RETURN_URL = 2048;
const AUTHORITY = /^[A-Za-z0-9.:[\]-]{1,261}$/;
const ACCEPTS_HTML = /\btext\/html\b/i;

/** Where a request was sent: for the redirect URI and the way back after the login. */
export interface LoginTarget {
  readonly scheme: 'http' | 'https';
  /** The request's Host (with its port), which routed it here. */
  readonly authority: string;
  readonly path: string;
  readonly query: string;
}

/**
 * A top-level browser navigation, which can follow a redirect to the provider and back: GET or
 * HEAD, `Accept` naming text/html, no Authorization of its own. Anything else (an API client, a
 * fetch() call, a form POST whose body could not be replayed) gets 401 instead.
 */
export function browserNavigation(req: IncomingMessage): boolean {
  const m = req.method;
  return (
    (m === 'GET' || m === 'HEAD') &&
    req.headers.authorization === undefined &&
    ACCEPTS_HTML.test(req.headers.accept ?? '')
  );
}

/** The request's path and query, to return to after the login; `/` when it is not a plain path. */
export function returnURL(t: LoginTarget): string {
  const u = t.query === '' ? t.path : `${t.path}?${t.query}`;
  return u.startsWith('/') && u.length <= MAX_RETURN_URL ? u : '/';
}

/** Where the provider sends the browser back: this origin's redirect path. */
export function redirectURI(t: LoginTarget, path: string): string {
  return `${t.scheme}://${t.authority}${path}`;
}

/** True when `authority` (a Host header) can go into a URL as it is. */
export function usableAuthority(authority: string): boolean {
  return AUTHORITY.test(authority);
}
