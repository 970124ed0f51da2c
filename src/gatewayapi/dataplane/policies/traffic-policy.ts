import type { IncomingMessage } from 'node:http';
import type { TrafficPolicyIR } from '../../ir.ts';
import type { HeaderMap } from '../headers.ts';
import { APIKeyAuth } from './api-key-auth.ts';
import { BasicAuth } from './basic-auth.ts';
import type { Denial } from './denial.ts';
import { IPFilter } from './ip-filter.ts';
import { JWTAuth } from './jwt-auth.ts';
import { ExtAuth } from './ext-auth.ts';
import { LocalRateLimit } from './local-rate-limit.ts';
import { OIDCLogin } from './oidc-login.ts';

const FORBIDDEN: Denial = { status: 403, text: 'forbidden by policy: client address not allowed' };
const NO_API_KEY: Denial = { status: 401, text: 'unauthorized: missing or invalid API key' };
const TOO_LARGE: Denial = { status: 413, text: 'request body too large' };

/** A route's TrafficPolicy, compiled: checked in order ipFilter, basicAuth, apiKeyAuth, jwt, body limit. */
export class CompiledTrafficPolicy {
  /** Bytes; null: no limit. */
  readonly bodyLimit: number | null;
  readonly #ipFilter: IPFilter | null;
  readonly #basicAuth: BasicAuth | null;
  readonly #apiKeyAuth: APIKeyAuth | null;
  readonly #rateLimit: LocalRateLimit | null;
  readonly #basicDenial: Denial | null;
  readonly #jwt: JWTAuth | null;
  /** OIDC login: checked after the other credentials; it answers what it refuses itself (exchange.ts). */
  readonly oidc: OIDCLogin | null;
  /** External authorization: asked after every other check; the exchange waits for its verdict. */
  readonly extAuth: ExtAuth | null;
  /** The headers each admitted request's verified JWT claims give, until it is forwarded. */
  readonly #claimHeaders = new WeakMap<IncomingMessage, readonly (readonly [string, string])[]>();

  constructor(p: TrafficPolicyIR) {
    this.bodyLimit = p.requestBodyLimit;
    this.#ipFilter = p.ipFilter === null ? null : new IPFilter(p.ipFilter);
    this.#basicAuth = p.basicAuth === null ? null : new BasicAuth(p.basicAuth);
    this.#apiKeyAuth = p.apiKeyAuth === null ? null : new APIKeyAuth(p.apiKeyAuth);
    this.#rateLimit = p.localRateLimit === undefined ? null : new LocalRateLimit(p.localRateLimit);
    this.#jwt = p.jwt === undefined ? null : new JWTAuth(p.jwt);
    this.oidc = p.oidc === undefined ? null : new OIDCLogin(p.oidc);
    this.extAuth = p.extAuth === undefined ? null : new ExtAuth(p.extAuth);
    this.#basicDenial =
      this.#basicAuth === null
        ? null
        : {
            status: 401,
            text: 'unauthorized',
            headers: { 'www-authenticate': this.#basicAuth.challenge },
          };
  }

  /**
   * Whether the client address may pass, then whether its bucket has a token (before anything
   * else, CORS preflights and credential checks included: guessing passwords costs tokens too).
   */
  admitsClient(req: IncomingMessage): Denial | null {
    const address = req.socket.remoteAddress;
    if (this.#ipFilter !== null && !this.#ipFilter.admits(address)) return FORBIDDEN;
    // A limit per JWT claim is taken in `authenticate`, once the token is verified.
    return this.#rateLimit === null || this.#rateLimit.claim !== null ? null : this.#rateLimit.take(req);
  }

  /** The credentials check; null when the request may pass. */
  authenticate(req: IncomingMessage): Denial | null {
    if (this.#basicAuth !== null && !this.#basicAuth.admits(req.headers.authorization))
      return this.#basicDenial;
    if (this.#apiKeyAuth !== null && !this.#apiKeyAuth.admits(req.headers[this.#apiKeyAuth.header]))
      return NO_API_KEY;
    let claims: Readonly<Record<string, unknown>> | null = null;
    if (this.#jwt !== null) {
      const r = this.#jwt.check(req, Date.now() / 1000);
      if ('status' in r) return r;
      if (r.headers.length > 0) this.#claimHeaders.set(req, r.headers);
      claims = r.claims;
    }
    const limited = this.#rateLimit?.claim == null ? null : this.#rateLimit.takeClaim(claims);
    if (limited !== null) return limited;
    return null;
  }

  /** A Content-Length over the limit: refused before a byte of the body is read. */
  declaredTooLarge(req: IncomingMessage): Denial | null {
    if (this.bodyLimit === null) return null;
    const declared = Number(req.headers['content-length']);
    return Number.isFinite(declared) && declared > this.bodyLimit ? TOO_LARGE : null;
  }

  /** The answer to a body that grew past the limit while read. */
  static readonly tooLarge: Denial = TOO_LARGE;

  /**
   * Removes what must not reach the backend (the API key, when asked; a client's own copy of any
   * header a JWT claim goes into) and adds the headers of the request's verified claims.
   */
  stripHeaders(headers: HeaderMap, req: IncomingMessage): void {
    this.oidc?.forward(headers, req);
    this.extAuth?.forward(headers, req);
    if (this.#apiKeyAuth?.stripHeader === true) delete headers[this.#apiKeyAuth.header];
    if (this.#jwt === null) return;
    for (const h of this.#jwt.claimHeaders) delete headers[h];
    for (const [h, v] of this.#claimHeaders.get(req) ?? []) (headers[h] ??= []).push(v);
  }
}
