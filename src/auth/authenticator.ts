import type { PeerCertificate } from 'node:tls';
import { GatewayError } from '../errors.ts';
import type { Identity } from '../request/types.ts';
import type { AccessReviewer } from './access-review.ts';
import { parseBearer } from './bearer.ts';
import type { FrontProxyAuthenticator, RawHeaders } from './front-proxy.ts';
import { authorizeImpersonation, readImpersonation } from './impersonation.ts';
import type { HeaderMap } from './impersonation.ts';
import { ALL_UNAUTHENTICATED, ANONYMOUS_USER, freezeIdentity, withAuthenticatedGroup } from './user.ts';
import { identityFromCertificate } from './x509.ts';

/**
 * Turns a bearer token into an identity: null = not recognised; a KG_UNAUTHENTICATED throw (or
 * rejection) = rejected. A cached answer may come without a promise.
 */
export interface TokenAuthenticator {
  /** `connection` identifies the client connection, for authenticators that remember per connection. */
  authenticateToken(token: string, connection?: object): Identity | null | Promise<Identity | null>;
}

/** How the gateway authenticates its clients. */
export interface AuthenticatorOptions {
  /** Local verification of service-account JWTs, tried first (a `ServiceAccountJWTAuthenticator`). */
  serviceAccountJWT?: TokenAuthenticator;
  /** TokenReview against the cluster (a `TokenReviewAuthenticator`). */
  tokenReview?: TokenAuthenticator;
  /** Authorizes client impersonation; without it every Impersonate-* request is refused. */
  accessReviewer?: AccessReviewer;
  /** Let requests without any credential in as `system:anonymous` (default false). */
  anonymous?: boolean;
  /** Trust X-Remote-* headers from front-proxy client certificates (the aggregated-API mode). */
  frontProxy?: FrontProxyAuthenticator;
}

/** What a request presents. */
export interface AuthenticationInput {
  /** The raw `Authorization` header value. */
  authorization?: string;
  /** The client certificate, only when the TLS layer verified its chain (`socket.authorized`). */
  certificate?: PeerCertificate | null;
  /** Why a presented client certificate failed verification (`socket.authorizationError`): blocks anonymous access. */
  certificateError?: unknown;
  /** Request headers for Impersonate-*, lowercase names; use `distinctHeaders(req.rawHeaders)` to keep repeated lines. */
  headers?: HeaderMap;
  /** All request header lines (`req.rawHeaders`): read only for a front-proxy certificate. */
  rawHeaders?: RawHeaders;
  /** Receives warnings kube-apiserver would send in a `Warning` header. */
  warn?: (message: string) => void;
  /** The client connection (any object that lives as long as it), for per-connection memos. */
  connection?: object;
}

const ANONYMOUS: Identity = freezeIdentity({
  user: ANONYMOUS_USER,
  uid: '',
  groups: [ALL_UNAUTHENTICATED],
  extra: {},
});

function isRejection(err: unknown): boolean {
  return err instanceof GatewayError && err.code === 'KG_UNAUTHENTICATED';
}

/**
 * Authenticates a request the way kube-apiserver's authentication filter does: front proxy
 * (X-Remote-* headers, only with a front-proxy CA's client certificate), client certificate, then bearer token (local service-account JWT, then TokenReview), then anonymous —
 * which applies only when no credential failed, so a bad token is a 401 even with anonymous on.
 * Then applies client impersonation when Impersonate-* headers are present.
 */
export class Authenticator {
  readonly anonymous: boolean;
  readonly #tokens: TokenAuthenticator[];
  readonly #access: AccessReviewer | undefined;
  readonly #tokenReview: TokenAuthenticator | undefined;
  readonly #frontProxy: FrontProxyAuthenticator | undefined;

  constructor(opts: AuthenticatorOptions = {}) {
    this.#frontProxy = opts.frontProxy;
    this.#tokenReview = opts.tokenReview;
    this.anonymous = opts.anonymous ?? false;
    this.#tokens = [opts.serviceAccountJWT, opts.tokenReview].filter((t) => t !== undefined);
    this.#access = opts.accessReviewer;
  }

  /** Cache hits and misses of the TokenReview authenticator (for metrics); null without one. */
  tokenReviewStats(): { hits: number; misses: number } | null {
    const t = this.#tokenReview as
      (TokenAuthenticator & { stats?(): { hits: number; misses: number } }) | undefined;
    return t?.stats ? t.stats() : null;
  }

  /**
   * Whether a connection's verified client certificate is a front proxy's (an aggregating
   * apiserver's): issued by the configured front-proxy CA. Cheap: false without `frontProxy`,
   * else one signature check per certificate object.
   */
  isFrontProxied(certificate: PeerCertificate | null | undefined): boolean {
    return certificate != null && this.#frontProxy?.isFrontProxyCertificate(certificate) === true;
  }

  /** The identity to act as upstream; rejects with GatewayError 401/400/403 (or KG_AUTH_BACKEND). */
  async authenticate(input: AuthenticationInput): Promise<Identity> {
    return this.identify(input);
  }

  /**
   * `authenticate` for the request path: no promise where none is needed (a certificate, a cached
   * token), so a request does not pay a chain of them. Throws, or rejects, as `authenticate` rejects.
   */
  identify(input: AuthenticationInput): Identity | Promise<Identity> {
    const identity = this.#authenticate(input);
    return identity instanceof Promise
      ? identity.then((id) => this.#impersonated(id, input))
      : this.#impersonated(identity, input);
  }

  #impersonated(identity: Identity, input: AuthenticationInput): Identity | Promise<Identity> {
    const requested = readImpersonation(input.headers ?? {});
    if (requested === null) return identity;
    if (this.#access === undefined) {
      throw new GatewayError(
        'KG_IMPERSONATION_FORBIDDEN',
        'Forbidden',
        'impersonation is not enabled on this gateway',
      );
    }
    return authorizeImpersonation(identity, requested, this.#access);
  }

  #authenticate(input: AuthenticationInput): Identity | Promise<Identity> {
    const failures: unknown[] = [];
    if (input.certificateError) failures.push(input.certificateError);
    const fp = this.#frontProxy;
    if (input.certificate && fp?.isFrontProxyCertificate(input.certificate)) {
      // A front proxy's certificate vouches for the headers only, never for its own CN (as in
      // kube-apiserver, whose x509 authenticator does not trust the requestheader CA).
      try {
        const identity = fp.authenticate(input.certificate, input.rawHeaders ?? []);
        if (identity !== null) return identity;
        failures.push(new Error('front-proxy certificate without a username header'));
      } catch (err) {
        if (!isRejection(err)) throw err;
        failures.push(err);
      }
    } else if (input.certificate) {
      try {
        const identity = identityFromCertificate(input.certificate);
        if (identity !== null) return identity;
      } catch (err) {
        if (!isRejection(err)) throw err;
        failures.push(err);
      }
    }

    const { token, warning } = parseBearer(input.authorization);
    if (warning !== undefined) input.warn?.(warning);
    // Like kube-apiserver, a token is only looked at when some token authenticator exists.
    if (token !== null && this.#tokens.length > 0) {
      const identity = this.#authenticateToken(token, failures, input.connection, 0);
      if (identity instanceof Promise) return identity.then((id) => id ?? this.#unauthenticated(failures));
      if (identity !== null) return identity;
    }
    return this.#unauthenticated(failures);
  }

  /** No credential: anonymous when allowed and none failed; else the 401. */
  #unauthenticated(failures: unknown[]): Identity {
    if (failures.length === 0 && this.anonymous) return ANONYMOUS;
    throw new GatewayError('KG_UNAUTHENTICATED', 'Unauthorized', 'Unauthorized', {
      cause: failures.length > 0 ? new AggregateError(failures, 'authentication failed') : undefined,
    });
  }

  /** The token authenticators from `from` on, in order, until one knows the token. */
  #authenticateToken(
    token: string,
    failures: unknown[],
    connection: object | undefined,
    from: number,
  ): Identity | null | Promise<Identity | null> {
    for (let i = from; i < this.#tokens.length; i++) {
      let identity: Identity | null | Promise<Identity | null>;
      try {
        identity = this.#tokens[i].authenticateToken(token, connection);
      } catch (err) {
        return rejected(err, failures);
      }
      if (identity instanceof Promise)
        return identity.then(
          (id) =>
            id !== null && id.user !== ''
              ? withAuthenticatedGroup(id)
              : this.#authenticateToken(token, failures, connection, i + 1),
          (err: unknown) => rejected(err, failures),
        );
      if (identity !== null && identity.user !== '') return withAuthenticatedGroup(identity);
    }
    failures.push(new Error('invalid bearer token'));
    return null;
  }
}

/** A token authenticator's rejection: our own token, and invalid, so no point asking anyone else. */
function rejected(err: unknown, failures: unknown[]): null {
  if (!isRejection(err)) throw err;
  failures.push(err);
  return null;
}
