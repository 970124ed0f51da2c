import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { OIDCIR } from '../../ir.ts';
import { answerPlain } from '../answer.ts';
import type { HeaderMap } from '../headers.ts';
import { cookieValues, setCookie, stripCookies } from './oidc-cookies.ts';
import { OIDCDiscovery } from './oidc-discovery.ts';
import { refuseLogin, redirectTo } from './oidc-answers.ts';
import {
  browserNavigation,
  redirectURI,
  returnURL,
  usableAuthority,
  type LoginTarget,
} from './oidc-navigation.ts';
import { Seal } from './oidc-seal.ts';
import { redeemCode, verifyIDToken } from './oidc-tokens.ts';

export type { LoginTarget } from './oidc-navigation.ts';

// A login must come back within this; its state is then refused (a fresh login starts instead).
const LOGIN_MS = 600_000;
// Browsers keep at most 4096 bytes of a cookie (name, value and attributes).
const MAX_COOKIE = 4000;
const MAX_USED_STATES = 65_536;
// A claim value copied into a header: visible ASCII and spaces only (no CR/LF, no controls).
const HEADER_VALUE = /^[\x20-\x7e]{0,4096}$/;

interface Session {
  readonly headers: readonly (readonly [string, string])[];
  readonly idToken: string | null;
}

// State ids already redeemed, with when they expire: a replayed callback is refused, not redeemed
// twice. Process-wide (a state is sealed by one policy's key, so ids never collide across them).
const usedStates = new Map<string, number>();

/**
 * OpenID Connect login for one policy: requests with a valid session cookie pass (the cookie is
 * stripped, the ID token and claims added); the redirect path completes a login; a browser without
 * a session is sent to the provider, anything else gets 401 (docs/traffic-policies.md).
 */
export class OIDCLogin {
  /** Headers whose client copies are removed before forwarding. */
  readonly ownHeaders: readonly string[];
  readonly #o: OIDCIR;
  readonly #seal: Seal | null;
  readonly #discovery: OIDCDiscovery | null;
  readonly #loginCookie: string;
  readonly #sessions = new WeakMap<IncomingMessage, Session>();

  constructor(o: OIDCIR) {
    this.#o = o;
    const usable = o.issuer !== '' && o.clientSecret !== '' && o.cookieKey !== '';
    const key = Buffer.from(o.cookieKey, 'base64');
    // Bound to the policy's issuer, client and cookie: a session of one policy opens in no other.
    const info = `seal\n${o.issuer}\n${o.clientID}\n${o.cookieName}`;
    this.#seal =
      usable && key.length === 32 ? new Seal(Buffer.from(hkdfSync('sha256', key, '', info, 32))) : null;
    this.#discovery = this.#seal === null ? null : OIDCDiscovery.of(o.issuer, o.caCertificates);
    this.#loginCookie = `${o.cookieName}-login`;
    const own = o.claimsToHeaders.map((c) => c.header);
    if (o.forwardIDToken !== null) own.push(o.forwardIDToken);
    this.ownHeaders = [...new Set(own)];
  }

  /** True when the request carries a valid session and is not for the redirect or logout path. */
  admits(req: IncomingMessage, path: string): boolean {
    if (this.#seal === null || path === this.#o.redirectPath || path === this.#o.logoutPath) return false;
    const now = Date.now();
    for (const value of cookieValues(req.headers.cookie, this.#o.cookieName)) {
      const s = this.#seal.open('session', value);
      if (s === null || typeof s.e !== 'number' || s.e <= now || !Array.isArray(s.h)) continue;
      this.#sessions.set(req, {
        headers: s.h as [string, string][],
        idToken: typeof s.t === 'string' ? s.t : null,
      });
      return true;
    }
    return false;
  }

  /** Answers a request `admits` refused: the callback, the logout, a login redirect or 401. */
  answer(req: IncomingMessage, res: ServerResponse, t: LoginTarget, log: Logger): void {
    if (this.#seal === null) return answerPlain(res, 401, 'unauthorized: login is not available');
    if (t.path === this.#o.logoutPath)
      return redirectTo(res, '/', [setCookie(this.#o.cookieName, '', '/', 0)]);
    if (!usableAuthority(t.authority)) return answerPlain(res, 400, 'bad request: no usable Host');
    const done =
      t.path === this.#o.redirectPath
        ? this.#callback(req, res, t, log)
        : this.#login(req, res, t, log, null);
    done.catch((err: unknown) => {
      log.error({ err: (err as Error).stack }, 'gatewayapi: oidc login failed');
      answerPlain(res, 500, 'internal error');
    });
  }

  /** Removes the session cookies and client copies of our headers; adds the session's headers. */
  forward(headers: HeaderMap, req: IncomingMessage): void {
    stripCookies(headers, [this.#o.cookieName, this.#loginCookie]);
    for (const h of this.ownHeaders) delete headers[h];
    const s = this.#sessions.get(req);
    if (s === undefined) return;
    for (const [h, v] of s.headers) (headers[h] ??= []).push(v);
    const f = this.#o.forwardIDToken;
    if (f !== null && s.idToken !== null)
      headers[f] = [f === 'authorization' ? `Bearer ${s.idToken}` : s.idToken];
  }

  /** A browser goes to the provider with a fresh state, nonce and PKCE challenge; others get 401. */
  async #login(
    req: IncomingMessage,
    res: ServerResponse,
    t: LoginTarget,
    log: Logger,
    returnTo: string | null,
  ): Promise<void> {
    if (returnTo === null && !browserNavigation(req))
      return answerPlain(res, 401, 'unauthorized: log in first (no valid session cookie)');
    const endpoints = await this.#discovery!.endpoints(Date.now());
    if (endpoints === null) {
      log.warn(
        { issuer: this.#o.issuer, error: this.#discovery!.lastError },
        'gatewayapi: oidc discovery failed',
      );
      return answerPlain(res, 502, 'bad gateway: the OpenID provider is unavailable');
    }
    const id = randomBytes(16).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const nonce = randomBytes(16).toString('base64url');
    const e = Date.now() + LOGIN_MS;
    const state = this.#seal!.seal('state', { i: id, u: returnTo ?? returnURL(t), e });
    const login = this.#seal!.seal('login', { i: id, v: verifier, n: nonce, e });
    const url = new URL(endpoints.authorization);
    const q = url.searchParams;
    q.set('response_type', 'code');
    q.set('client_id', this.#o.clientID);
    q.set('redirect_uri', redirectURI(t, this.#o.redirectPath));
    q.set('scope', this.#o.scopes.join(' '));
    q.set('state', state);
    q.set('nonce', nonce);
    q.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    q.set('code_challenge_method', 'S256');
    const cookies = [setCookie(this.#loginCookie, login, this.#o.redirectPath, LOGIN_MS / 1000)];
    // A session cookie that did not open (tampered, expired, another key) is cleared.
    if (cookieValues(req.headers.cookie, this.#o.cookieName).length > 0)
      cookies.push(setCookie(this.#o.cookieName, '', '/', 0));
    redirectTo(res, url.href, cookies);
  }

  /** The provider sent the browser back: check the state, redeem the code, verify the ID token. */
  async #callback(req: IncomingMessage, res: ServerResponse, t: LoginTarget, log: Logger): Promise<void> {
    const params = new URLSearchParams(t.query);
    const states = params.getAll('state');
    const state = states.length === 1 ? this.#seal!.open('state', states[0]) : null;
    if (
      state === null ||
      typeof state.i !== 'string' ||
      typeof state.u !== 'string' ||
      typeof state.e !== 'number'
    )
      return this.#refuse(res, log, 403, 'the login state is missing or forged');
    const now = Date.now();
    // A login that took too long starts again, back to the same place.
    if (state.e <= now) return this.#login(req, res, t, log, state.u);
    if (usedStates.has(state.i)) return this.#refuse(res, log, 403, 'the login state was already used');
    // The state must belong to the login this browser started (its login cookie): no login CSRF.
    const login = cookieValues(req.headers.cookie, this.#loginCookie)
      .map((v) => this.#seal!.open('login', v))
      .find((l) => l !== null && l.i === state.i);
    if (login === undefined || typeof login?.v !== 'string' || typeof login.n !== 'string')
      return this.#refuse(res, log, 403, 'the login state does not belong to this browser');
    useState(state.i, state.e);
    const clearLogin = setCookie(this.#loginCookie, '', this.#o.redirectPath, 0);
    const codes = params.getAll('code');
    if (params.has('error') || codes.length !== 1 || codes[0] === '' || codes[0].length > 4096)
      return this.#refuse(res, log, 403, 'the provider did not grant the login', clearLogin);
    const endpoints = await this.#discovery!.endpoints(now);
    if (endpoints === null)
      return this.#refuse(res, log, 502, 'the OpenID provider is unavailable', clearLogin);
    const redeemed = await redeemCode(
      endpoints,
      this.#o,
      codes[0],
      redirectURI(t, this.#o.redirectPath),
      login.v,
    );
    if ('refused' in redeemed) return this.#refuse(res, log, 403, redeemed.refused, clearLogin);
    if ('failed' in redeemed) return this.#refuse(res, log, 502, redeemed.failed, clearLogin);
    const checked = await verifyIDToken(redeemed.idToken, endpoints, this.#o, login.n, Date.now() / 1000);
    if ('invalid' in checked) return this.#refuse(res, log, 403, checked.invalid, clearLogin);
    const session = this.#session(redeemed.idToken, checked.claims);
    if (session === null)
      return this.#refuse(res, log, 502, 'the session does not fit in a cookie', clearLogin);
    // Back to where the login started, on this origin only: the state holds a path, never a host.
    const path = state.u.startsWith('/') ? state.u : '/';
    redirectTo(res, `${t.scheme}://${t.authority}${path}`, [session, clearLogin]);
  }

  /** The Set-Cookie of a new session, or null when it would be too large for a browser. */
  #session(idToken: string, claims: Record<string, unknown>): string | null {
    let expires = Date.now() + this.#o.sessionTTLMs;
    // A forwarded ID token must not outlive itself.
    if (this.#o.forwardIDToken !== null) expires = Math.min(expires, (claims.exp as number) * 1000);
    const h: [string, string][] = [];
    for (const { claim, header } of this.#o.claimsToHeaders) {
      const v = claims[claim];
      const s = typeof v === 'string' ? v : v === undefined || v === null ? null : JSON.stringify(v);
      if (s !== null && HEADER_VALUE.test(s)) h.push([header, s]);
    }
    const value = this.#seal!.seal('session', {
      e: expires,
      h,
      ...(this.#o.forwardIDToken === null ? {} : { t: idToken }),
    });
    const maxAge = Math.max(1, Math.floor((expires - Date.now()) / 1000));
    const cookie = setCookie(this.#o.cookieName, value, '/', maxAge);
    return cookie.length > MAX_COOKIE ? null : cookie;
  }

  #refuse(res: ServerResponse, log: Logger, status: 403 | 502, why: string, clear?: string): void {
    log.warn({ issuer: this.#o.issuer, reason: why }, 'gatewayapi: oidc login refused');
    refuseLogin(res, status, why, clear);
  }
}

/** Remembers a redeemed state until it expires (the oldest forgotten first when full). */
function useState(id: string, expires: number): void {
  const now = Date.now();
  if (usedStates.size >= MAX_USED_STATES)
    for (const [k, e] of usedStates) if (e <= now || usedStates.size >= MAX_USED_STATES) usedStates.delete(k);
  usedStates.set(id, expires);
}
