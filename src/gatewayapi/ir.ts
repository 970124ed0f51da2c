// The intermediate representation: what `translate` makes of the Gateway API objects and what the
// data plane serves. Plain, JSON-serialisable, deeply frozen data; the data plane swaps a whole IR
// in one assignment and never looks at Kubernetes objects.

/** Everything the data plane serves, as one value. */
export interface DataPlaneIR {
  /** One entry per bound socket: a Gateway's address and a listener port (several listeners may share it). */
  readonly ports: readonly PortIR[];
  /** Backend clusters by `ClusterIR.name`; routes refer to them by name. */
  readonly clusters: Readonly<Record<string, ClusterIR>>;
  /** TLS, TCP and UDP sockets (TLSRoute, TCPRoute, UDPRoute); absent when there is none. */
  readonly streams?: readonly StreamPortIR[];
}

/** One (address, port) socket of one Gateway. */
export interface PortIR {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  /** The Gateway's listeners on this port, most specific hostname first (exact, then longer wildcard, then none). */
  readonly listeners: readonly ListenerIR[];
  /** HTTPS only: client certificates are requested and checked (Gateway `spec.tls.frontend`). */
  readonly clientValidation?: ClientValidationIR;
}

/** How an HTTPS port checks client certificates. */
export interface ClientValidationIR {
  /** PEM CA certificates a client chain must end in. */
  readonly ca: string;
  /** AllowValidOnly refuses a connection without a valid certificate; AllowInsecureFallback lets it in. */
  readonly mode: 'AllowValidOnly' | 'AllowInsecureFallback';
}

export interface ListenerIR {
  /** The listener's `name` (sectionName). */
  readonly name: string;
  /** `null` matches any host; `*.example.com` matches one or more labels in front of `example.com`. */
  readonly hostname: string | null;
  /** HTTPS only: the certificate chain and key (PEM) from the listener's `certificateRefs`, first valid one first. */
  readonly tls: ListenerTLSIR | null;
  /**
   * The listener's virtual hosts, most specific first: exact names, then wildcards by length, then `*`.
   * A request uses the first virtual host its Host matches and only that one's routes (no fall-through).
   */
  readonly virtualHosts: readonly VirtualHostIR[];
  /** A ListenerSet's listener: the set's `namespace/name` (TrafficPolicies reach it through the set). */
  readonly listenerSet?: string;
}

export interface ListenerTLSIR {
  readonly certificates: readonly { readonly cert: string; readonly key: string }[];
}

export interface VirtualHostIR {
  /** `foo.example.com`, `*.example.com` or `*`. */
  readonly hostname: string;
  /** Routes in precedence order; the first whose match holds serves the request. */
  readonly routes: readonly RouteIR[];
}

/** One match of one rule of one HTTPRoute (a rule with N matches becomes N RouteIRs). */
export interface RouteIR {
  /** `namespace/route-name/rule-index/match-index`, for logs and metrics. */
  readonly id: string;
  /** The rule's `name`, if it has one (named route rules). */
  readonly ruleName: string | null;
  readonly match: MatchIR;
  /** Request-side filters in spec order (header modifiers, rewrites, redirect, mirrors, CORS). */
  readonly filters: readonly FilterIR[];
  /** Weighted backends; empty with no `directResponse` means 500 (the spec's "no valid backend"). */
  readonly backends: readonly BackendIR[];
  /** Set when the rule answers by itself (a redirect is a filter; this is for invalid rules). */
  readonly directResponse: { readonly status: number; readonly body: string } | null;
  readonly timeouts: TimeoutsIR | null;
  readonly retry: RetryIR | null;
  /** The TrafficPolicy fields in force for this route (docs/traffic-policies.md); absent: none. */
  readonly trafficPolicy?: TrafficPolicyIR;
}

/**
 * The merged TrafficPolicy of one route: each field from the most specific policy that sets it
 * (rule, then route, then listener, then Gateway). An invalid field fails closed: a missing Secret
 * gives no users or keys (every request 401), a bad CIDR denies everyone (403).
 */
export interface TrafficPolicyIR {
  /** `namespace/name` of each policy a field came from, for logs. */
  readonly policies: readonly string[];
  readonly ipFilter: IPFilterIR | null;
  /** Bytes; a larger request body gets 413. */
  readonly requestBodyLimit: number | null;
  readonly basicAuth: BasicAuthIR | null;
  readonly apiKeyAuth: APIKeyAuthIR | null;
  /** Absent when no policy sets it (so IRs without one keep their shape). */
  readonly localRateLimit?: LocalRateLimitIR;
  /** Absent when no policy sets it. */
  readonly jwt?: JWTAuthIR;
  /** Absent when no policy sets it. */
  readonly extAuth?: ExtAuthIR;
  /** Used when the route has no CORS filter of its own (the filter wins). Absent: none. */
  readonly cors?: CorsIR;
  /** Used when the rule has no `retry` of its own (the rule's wins). Absent: none. */
  readonly retry?: PolicyRetryIR;
  /** Each used where the rule's own `timeouts` does not set it. Absent: none. */
  readonly timeouts?: PolicyTimeoutsIR;
  /** Header changes applied before the route's own header filters. Absent: none. */
  readonly transformation?: TransformationIR;
  /** OpenID Connect login with a session cookie; absent when no policy sets it. */
  readonly oidc?: OIDCIR;
}

/**
 * OIDC authorization-code login (PKCE) with an encrypted session cookie (docs/traffic-policies.md).
 * An empty `issuer`, `clientSecret` or `cookieKey` fails closed: every request without a session gets 401.
 */
export interface OIDCIR {
  /** The issuer URL exactly as the ID token's `iss` must be (https). */
  readonly issuer: string;
  readonly clientID: string;
  /** Sent to the token endpoint (client_secret_basic); never logged. */
  readonly clientSecret: string;
  readonly redirectPath: string;
  /** Clears the session; null: none. */
  readonly logoutPath: string | null;
  /** Always holds `openid`. */
  readonly scopes: readonly string[];
  /** PEM certificates the provider's HTTPS certificate is checked against; null: the default CAs. */
  readonly caCertificates: string | null;
  readonly cookieName: string;
  /** Base64 of 32 bytes (HKDF of the cookie or client secret) the session and state keys derive from. */
  readonly cookieKey: string;
  readonly sessionTTLMs: number;
  /** Lower-case header the ID token is forwarded in (`authorization`: after `Bearer `); null: not forwarded. */
  readonly forwardIDToken: string | null;
  /** ID token claims copied into request headers (any client copy removed first). */
  readonly claimsToHeaders: readonly { readonly claim: string; readonly header: string }[];
}

/** External authorization: each request's head is first sent to an HTTP service (docs/traffic-policies.md). */
export interface ExtAuthIR {
  /** `ClusterIR.name` of the ext-auth Service port; null: the reference is invalid (every request 403). */
  readonly cluster: string | null;
  /** Put in front of the request's path (`/auth` + `/app?x=1`); '' for none. */
  readonly pathPrefix: string;
  /** Lower-case request headers sent to the service (besides the `x-forwarded-*` it always gets). */
  readonly allowedHeaders: readonly string[];
  /** Lower-case headers of an allowed (2xx) answer copied onto the upstream request. */
  readonly headersToBackend: readonly string[];
  readonly timeoutMs: number;
  /** An unreachable, failing or slow service lets the request through instead of 403. */
  readonly failOpen: boolean;
}

/** JWT bearer tokens checked against each provider's keys (docs/traffic-policies.md). */
export interface JWTAuthIR {
  /** The providers; a token is checked by the one whose `issuer` is its `iss`. Empty: nobody gets in. */
  readonly providers: readonly JWTProviderIR[];
  /** Lower-case header the token comes in (`authorization`: after `Bearer `). */
  readonly header: string;
  /** A query parameter the token may come in instead; null: none. */
  readonly queryParam: string | null;
}

export interface JWTProviderIR {
  readonly issuer: string;
  /** The token's `aud` must hold one of these; empty: any audience. */
  readonly audiences: readonly string[];
  /** The public keys (JWKs); private members are dropped. Empty (and no `remote`): no token verifies. */
  readonly keys: readonly Readonly<Record<string, unknown>>[];
  /** A JWKS the data plane fetches over HTTPS and refreshes; absent: only `keys`. */
  readonly remote?: { readonly url: string; readonly refreshMs: number };
  /** Verified claims copied into request headers (any client copy removed first). */
  readonly claimsToHeaders: readonly { readonly claim: string; readonly header: string }[];
  /** Claim → allowed values: the claim (or one of its array values) must be one of them. */
  readonly requiredClaims: Readonly<Record<string, readonly string[]>>;
}

/** A token bucket per client address (or `key`): holds at most `tokens`, refilled evenly at `tokens` per `fillIntervalMs`. */
export interface LocalRateLimitIR {
  /** Names the buckets (`policy@target`), so they survive a reload and routes of one target share them. */
  readonly bucket: string;
  readonly tokens: number;
  readonly fillIntervalMs: number;
  /** What a bucket is per; absent: the client address. */
  readonly key?: RateLimitKeyIR;
}

/** A bucket per value of a request header, or of a claim of the request's verified JWT. */
export type RateLimitKeyIR =
  { readonly type: 'Header'; readonly header: string } | { readonly type: 'Claim'; readonly claim: string };

export interface IPFilterIR {
  /** CIDRs; when not empty, a client address outside every one gets 403. */
  readonly allow: readonly string[];
  /** CIDRs; a client address inside one gets 403 (deny wins over allow). */
  readonly deny: readonly string[];
}

export interface BasicAuthIR {
  readonly realm: string;
  /** `user` → base64 SHA-1 of the password (htpasswd `{SHA}`); empty: nobody gets in. */
  readonly users: Readonly<Record<string, string>>;
}

export interface APIKeyAuthIR {
  /** Lower-case header name the key comes in. */
  readonly header: string;
  /** Hex SHA-256 of each valid key (the keys themselves stay out of the IR); empty: nobody gets in. */
  readonly keys: readonly string[];
  /** Remove the header before forwarding. */
  readonly stripHeader: boolean;
}

/** A TrafficPolicy's `retry`: what is retried, how often and how long each attempt may take. */
export interface PolicyRetryIR {
  /** Retries after the first attempt. */
  readonly attempts: number;
  /** Each attempt; 0: the route's backend request timeout, if any. */
  readonly perTryTimeoutMs: number;
  /** Response status codes that are retried. */
  readonly codes: readonly number[];
  /** No connection could be made (refused, unreachable). */
  readonly onConnectFailure: boolean;
  /** A connection was made but no response came (reset, closed, per-attempt timeout). */
  readonly onReset: boolean;
  /** First backoff; each next one doubles, up to `backoffMaxMs`. */
  readonly backoffMs: number;
  readonly backoffMaxMs: number;
}

/** A TrafficPolicy's `timeouts`; 0: not set. */
export interface PolicyTimeoutsIR {
  readonly requestMs: number;
  readonly backendRequestMs: number;
  /** How long an attempt may receive nothing from the backend. */
  readonly idleMs: number;
}

/** A TrafficPolicy's header changes, in the HTTPRoute header modifier shape; values may hold variables. */
export interface TransformationIR {
  readonly requestHeaders: HeaderModifierIR;
  readonly responseHeaders: HeaderModifierIR;
  /** The body the backend gets instead of the client's; absent: the client's. */
  readonly requestBody?: BodyTransformIR;
  /** The body the client gets instead of the backend's; absent: the backend's. */
  readonly responseBody?: BodyTransformIR;
}

/** A TrafficPolicy body transformation: the whole body replaced by literal text (UTF-8). */
export interface BodyTransformIR {
  readonly set: string;
}

export interface MatchIR {
  readonly path: {
    readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
    readonly value: string;
  };
  readonly method: string | null;
  readonly headers: readonly ValueMatchIR[];
  readonly queryParams: readonly ValueMatchIR[];
}

export interface ValueMatchIR {
  readonly type: 'Exact' | 'RegularExpression';
  /** Header names are lower-case; query parameter names keep their case (they are case-sensitive). */
  readonly name: string;
  readonly value: string;
}

export type FilterIR =
  | { readonly type: 'RequestHeaderModifier'; readonly headers: HeaderModifierIR }
  | { readonly type: 'ResponseHeaderModifier'; readonly headers: HeaderModifierIR }
  | { readonly type: 'RequestRedirect'; readonly redirect: RedirectIR }
  | { readonly type: 'URLRewrite'; readonly rewrite: RewriteIR }
  | { readonly type: 'RequestMirror'; readonly mirror: MirrorIR }
  | { readonly type: 'CORS'; readonly cors: CorsIR };

export interface HeaderModifierIR {
  /** Lower-case names. */
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export interface PathModifierIR {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  /** The full path, or the replacement for the matched prefix (the rule's PathPrefix value). */
  readonly value: string;
  /** For ReplacePrefixMatch: the prefix the rule matched on. */
  readonly prefix: string | null;
}

export interface RedirectIR {
  readonly scheme: 'http' | 'https' | null;
  readonly hostname: string | null;
  readonly path: PathModifierIR | null;
  /** `null`: as the spec derives it (from the scheme if set, else the listener port; well-known ports omitted). */
  readonly port: number | null;
  readonly statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface RewriteIR {
  readonly hostname: string | null;
  readonly path: PathModifierIR | null;
}

export interface MirrorIR {
  /** `ClusterIR.name`; `null` when the mirror's backend is invalid (then nothing is mirrored). */
  readonly cluster: string | null;
  /** 0–100, fractions allowed; 100 mirrors every request. */
  readonly percent: number;
}

export interface CorsIR {
  /** Exact origins, `*`, or wildcard origins such as `https://*.example.com`. */
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly allowCredentials: boolean;
  /** Seconds; the spec's default is 5. */
  readonly maxAge: number;
}

export interface BackendIR {
  /** `ClusterIR.name`, or `null` for an invalid backendRef (its share of requests gets 500). */
  readonly cluster: string | null;
  readonly weight: number;
  /** backendRef-level filters (header modifiers only in part 1). */
  readonly filters: readonly FilterIR[];
}

export interface TimeoutsIR {
  /** Whole request, retries included; 0 = none. */
  readonly requestMs: number;
  /** Each attempt to a backend; 0 = none. */
  readonly backendRequestMs: number;
}

export interface RetryIR {
  /** Status codes that are retried (5xx family codes as listed); connection errors always are. */
  readonly codes: readonly number[];
  /** Retries after the first attempt. */
  readonly attempts: number;
  readonly backoffMs: number;
}

/** A Service port as a set of ready endpoint addresses (EndpointSlices, not the ClusterIP). */
export interface ClusterIR {
  /** `namespace/service:port`. */
  readonly name: string;
  /** `h2c` with `tls` is HTTP/2 over TLS (ALPN h2). */
  readonly protocol: 'http1' | 'h2c';
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
  /** Set when a BackendTLSPolicy targets the Service port: connections to it are TLS. */
  readonly tls?: UpstreamTLSIR;
}

/** How the data plane speaks TLS to a backend (a BackendTLSPolicy's validation). */
export interface UpstreamTLSIR {
  /** Sent as SNI; without `subjectAltNames`, the name the certificate must carry. */
  readonly hostname: string;
  /**
   * PEM CA certificates the chain must end in; `null`: the system's trust store
   * (wellKnownCACertificates: System); `''`: none is valid, so every connection fails.
   */
  readonly ca: string | null;
  /** When set, the certificate must carry one of these instead of `hostname`. */
  readonly subjectAltNames: readonly { readonly type: 'Hostname' | 'URI'; readonly value: string }[];
  /**
   * The Gateway's `spec.tls.backend.clientCertificateRef` (PEM chain and key), presented to the
   * backend; `null`: the reference is invalid, so every connection fails. Absent: none is presented.
   */
  readonly clientCertificate?: { readonly cert: string; readonly key: string } | null;
}

/**
 * One (address, port) socket of one Gateway carrying TLS, TCP or UDP listeners. TLS listeners on a
 * port are told apart by the SNI of the ClientHello (Passthrough and Terminate may share a port);
 * a TCP or UDP port has one listener.
 */
export interface StreamPortIR {
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: 'TLS' | 'TCP' | 'UDP';
  /** Most specific hostname first, as `PortIR.listeners`. */
  readonly listeners: readonly StreamListenerIR[];
}

export interface StreamListenerIR {
  readonly name: string;
  /** TLS only: `null` matches any SNI name. */
  readonly hostname: string | null;
  /** TLS only: Passthrough, or Terminate with the listener's certificates (first valid one first). */
  readonly tls:
    | { readonly mode: 'Passthrough' }
    | { readonly mode: 'Terminate'; readonly certificates: ListenerTLSIR['certificates'] }
    | null;
  /**
   * TLS: one entry per served hostname, most specific first (a connection uses the first whose
   * hostname its SNI matches); TCP and UDP: one entry `*`, the oldest route's.
   */
  readonly hosts: readonly StreamHostIR[];
}

export interface StreamHostIR {
  /** `foo.example.com`, `*.example.com` or `*`. */
  readonly hostname: string;
  /** `namespace/name` of the route. */
  readonly route: string;
  /** Weighted; a connection (UDP: a client address) goes to one backend, picked by weight. */
  readonly backends: readonly StreamBackendIR[];
}

export interface StreamBackendIR {
  /** `namespace/service:port`, or `null` for an invalid backendRef (its share of connections is refused). */
  readonly name: string | null;
  readonly weight: number;
  /** Ready endpoints (EndpointSlices); none: connections are refused. */
  readonly endpoints: readonly { readonly address: string; readonly port: number }[];
  /** Terminate mode only: a BackendTLSPolicy's TLS towards the backend. */
  readonly tls?: UpstreamTLSIR;
}
