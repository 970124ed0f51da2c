import { Type, type Static, type TSchema } from 'typebox';
import { Name, SecretRef, Seconds, Text, TextList } from './common.ts';
import { DefaultRule, Rule } from './rule.ts';

const Endpoint = Type.Object(
  {
    name: Name,
    url: Type.String({
      pattern: '^https://[^/?#]+/?$',
      description: 'https://host:port of one kube-apiserver replica',
    }),
  },
  { additionalProperties: false },
);

const Balancer = Type.Union(
  [Type.Literal('round-robin'), Type.Literal('random'), Type.Literal('least-request')],
  { description: 'how requests are spread over healthy endpoints (default round-robin)' },
);

const HealthCheck = Type.Object(
  {
    path: Type.Optional(Type.String({ pattern: '^/', description: 'probed with GET (default /readyz)' })),
    intervalSeconds: Type.Optional(Seconds('between probes (default 2)', 0.1, 3600)),
    timeoutSeconds: Type.Optional(Seconds('per probe (default 1)', 0.1, 60)),
    rise: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: 'successes in a row that bring an endpoint back (default 1)',
      }),
    ),
    fall: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100,
        description: 'failures in a row that take it out (default 2)',
      }),
    ),
  },
  { additionalProperties: false, description: 'active health checks of each endpoint' },
);

const CircuitBreaker = Type.Object(
  {
    forceOpen: Type.Optional(
      Type.Boolean({ description: 'manual fuse: answer every non-exempt request with 503 at once' }),
    ),
    message: Type.Optional(Text),
    automatic: Type.Optional(
      Type.Object(
        {
          windowSeconds: Type.Optional(
            Seconds('sliding window the ratios are computed over (default 10)', 1, 600),
          ),
          minRequests: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1e6,
              description: 'requests in the window before the breaker may open (default 20)',
            }),
          ),
          errorRatio: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 1,
              description: 'opens when this share of requests fail with 5xx or time out (default 0.5)',
            }),
          ),
          slowCallSeconds: Type.Optional(
            Seconds('a short request slower than this counts as slow', 0.001, 600),
          ),
          slowRatio: Type.Optional(
            Type.Number({
              exclusiveMinimum: 0,
              maximum: 1,
              description: 'opens when this share of requests is slow (needs slowCallSeconds)',
            }),
          ),
          openSeconds: Type.Optional(
            Seconds('how long it stays open before half-open probes (default 5)', 0.1, 3600),
          ),
          halfOpenProbes: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1000,
              description: 'trial requests let through when half-open; all must succeed to close (default 3)',
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'opens on upstream errors or latency, closes after successful probes',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'per-cluster fuse' },
);

const principals = (description: string) =>
  Type.Object(
    {
      users: Type.Optional(TextList('user name patterns')),
      groups: Type.Optional(TextList('group patterns')),
      clientCIDRs: Type.Optional(TextList('client address ranges')),
    },
    { additionalProperties: false, description },
  );

const Access = Type.Object(
  {
    allow: Type.Optional(
      principals('when given, only requests from a listed user, group or address pass (any one suffices)'),
    ),
    deny: Type.Optional(principals('requests from a listed user, group or address are refused with 403')),
  },
  {
    additionalProperties: false,
    description: 'who may use this cluster through kubegate at all; checked before the rules',
  },
);

const Authentication = Type.Object(
  {
    anonymous: Type.Optional(
      Type.Boolean({
        description: 'let requests without a credential through as system:anonymous (default false)',
      }),
    ),
    tokenReview: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({ description: 'check bearer tokens with TokenReview (default true)' }),
          ),
          successTTLSeconds: Type.Optional(
            Seconds('cache time of an accepted token (default 120)', 0, 86400),
          ),
          failureTTLSeconds: Type.Optional(Seconds('cache time of a refused token (default 10)', 0, 86400)),
          maxEntries: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 10000000, description: 'cache size (default 10000)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    serviceAccountJWT: Type.Optional(
      Type.Object(
        {
          issuers: Type.Array(Text, {
            minItems: 1,
            description: "accepted `iss` values (the apiserver's --service-account-issuer)",
          }),
          audiences: Type.Optional(TextList('accepted `aud` values (default: the issuers)')),
          jwksRefreshSeconds: Type.Optional(
            Seconds('how often /openid/v1/jwks is fetched again (default 300)', 10, 86400),
          ),
        },
        {
          additionalProperties: false,
          description:
            "verify service-account tokens locally against the cluster's JWKS before falling back to TokenReview",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

const fileRef = (what: string) =>
  Type.Object({ file: Text }, { additionalProperties: false, description: `${what} (PEM file)` });
const secretKeyRef = (what: string) =>
  Type.Object(
    { secretRef: SecretRef },
    { additionalProperties: false, description: `${what} (Secret key ca.crt)` },
  );

const FileCredentials = Type.Object(
  {
    certFile: Type.Optional(Text),
    keyFile: Type.Optional(Text),
    tokenFile: Type.Optional(Text),
  },
  {
    additionalProperties: false,
    description: "kubegate's own identity toward the apiservers: certFile+keyFile, or tokenFile",
  },
);
const SecretCredentials = Type.Object(
  { secretRef: SecretRef },
  {
    additionalProperties: false,
    description: "kubegate's own identity toward the apiservers: a Secret with tls.crt+tls.key, or token",
  },
);

/** What `hosts` takes: a lowercase DNS name, or `*.` + one. */
export const HOST_NAME_PATTERN =
  '^(\\*\\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** A DNS name a cluster answers to (SNI and Host), or `*.example.com` for any one label in front. */
const HostName = Type.String({
  pattern: HOST_NAME_PATTERN,
  maxLength: 253,
  description: 'lowercase DNS name, or `*.` + name for exactly one more label',
});

const hosts = Type.Optional(
  Type.Array(HostName, {
    description:
      'names this cluster is served under on every listener: the TLS server name (SNI) picks the cluster and its serving certificate, and a request whose Host names another cluster is refused with 421; exact names win over `*.` patterns; no two clusters may claim the same name',
  }),
);

const FileServing = Type.Object(
  { certFile: Text, keyFile: Text },
  {
    additionalProperties: false,
    description:
      "serving certificate (PEM files) presented to clients whose SNI is one of hosts; default: the listener's",
  },
);
const SecretServing = Type.Object(
  { secretRef: SecretRef },
  {
    additionalProperties: false,
    description:
      "serving certificate presented to clients whose SNI is one of hosts: a Secret with tls.crt+tls.key; default: the listener's",
  },
);

/** Fields a cluster may take from `defaults`. */
export const inheritable = {
  balancer: Type.Optional(Balancer),
  healthCheck: Type.Optional(HealthCheck),
  pingIntervalSeconds: Type.Optional(
    Seconds('HTTP/2 PING keep-alive of upstream sessions (default 30)', 1, 3600),
  ),
  requestTimeoutSeconds: Type.Optional(
    Seconds('limit for short requests; watches, logs -f, exec… have none (default 65)', 0, 86400),
  ),
  authentication: Type.Optional(Authentication),
  circuitBreaker: Type.Optional(CircuitBreaker),
  access: Type.Optional(Access),
  defaultRule: Type.Optional(DefaultRule),
};

/** The fields of one upstream cluster; file form names PEM files, CRD form Secrets. */
function clusterFields<R extends TSchema, C extends TSchema, S extends TSchema>(
  ref: (what: string) => R,
  credentials: C,
  serving: S,
) {
  return {
    endpoints: Type.Array(Endpoint, { minItems: 1, description: 'the kube-apiserver replicas' }),
    upstreamCA: ref("CA that verifies the apiservers' serving certificates; never skipped"),
    credentials,
    clientCA: Type.Optional(ref("CA that signs the client certificates of this cluster's users")),
    hosts,
    serving: Type.Optional(serving),
    ...inheritable,
    rules: Type.Optional(
      Type.Array(Rule, { description: 'first match wins; a request matching none gets defaultRule' }),
    ),
  };
}

const headerList = (what: string, dflt: string) =>
  Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), {
      minItems: 1,
      description: `${what} (default [${dflt}])`,
    }),
  );

/** The option that reads the front-proxy settings from the cluster itself, in either form. */
const fromCluster = Type.Optional(
  Type.Boolean({
    description:
      "read the CA (requestheader-client-ca-file) and, unless set here, allowedNames and the header names from the cluster's kube-system/extension-apiserver-authentication ConfigMap, as an aggregated API server does; kubegate's own credential must be allowed to get it (Role extension-apiserver-authentication-reader)",
  }),
);

/**
 * kube-apiserver's --requestheader-* flags: whose X-Remote-* headers to believe (aggregated-API
 * mode). `ca` is the form's field naming the CA: a file, or a Secret key.
 */
function frontProxy<C extends Record<string, TSchema>>(ca: C) {
  return Type.Object(
    {
      ...ca,
      fromExtensionAPIServerAuthentication: fromCluster,
      allowedNames: Type.Optional(
        TextList('CNs the front-proxy certificate may have; empty = any (--requestheader-allowed-names)'),
      ),
      usernameHeaders: headerList('headers naming the user', 'X-Remote-User'),
      uidHeaders: Type.Optional(
        Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), {
          description:
            "headers naming the uid (default none, as kube-apiserver; [X-Remote-Uid] when the hub's aggregator sends it, Kubernetes 1.32+)",
        }),
      ),
      groupHeaders: headerList('headers naming groups, one per line', 'X-Remote-Group'),
      extraHeaderPrefixes: headerList('prefixes of extra headers', 'X-Remote-Extra-'),
    },
    {
      additionalProperties: false,
      description:
        'believe the identity in X-Remote-* headers, only from a client certificate the front-proxy CA issued (directly, or through intermediates the front proxy presents): an aggregating hub apiserver. The CA is given, or read from the cluster (fromExtensionAPIServerAuthentication), not both',
    },
  );
}

const FileFrontProxy = frontProxy({
  clientCAFile: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "PEM CA that issues the front proxy's client certificate (the hub's --requestheader-client-ca-file); must not be the clientCA",
    }),
  ),
});
const CRDFrontProxy = frontProxy({
  clientCA: Type.Optional(
    secretKeyRef(
      "CA that issues the front proxy's client certificate (the hub's --requestheader-client-ca-file); must not be the clientCA",
    ),
  ),
});

export const FileCluster = Type.Object(
  {
    name: Name,
    ...clusterFields(fileRef, FileCredentials, FileServing),
    frontProxy: Type.Optional(FileFrontProxy),
  },
  { additionalProperties: false },
);
export type FileCluster = Static<typeof FileCluster>;
export const CRDClusterSpec = Type.Object(
  {
    ...clusterFields(secretKeyRef, SecretCredentials, SecretServing),
    frontProxy: Type.Optional(CRDFrontProxy),
  },
  { additionalProperties: false },
);
export type CRDClusterSpec = Static<typeof CRDClusterSpec>;
export const Defaults = Type.Object(inheritable, {
  additionalProperties: false,
  description: 'what every cluster gets unless it sets the field itself (whole fields, not merged)',
});
export type Defaults = Static<typeof Defaults>;
