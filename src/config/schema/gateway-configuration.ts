import { Type, type Static } from 'typebox';
import { Name, Seconds, Text } from './common.ts';
import { ClientLimits } from './client-limits.ts';
import { Defaults, FileCluster } from './cluster.ts';

const Listener = Type.Object(
  {
    name: Name,
    address: Type.Optional(
      Type.String({ minLength: 1, description: 'IP address to bind (default 127.0.0.1)' }),
    ),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: '0 picks a free port' }),
    tls: Type.Object(
      {
        certFile: Text,
        keyFile: Text,
        clientCAFile: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              "verifies client certificates of the listener's cluster; default: that cluster's clientCA (a cluster picked by SNI verifies with its own clientCA)",
          }),
        ),
      },
      {
        additionalProperties: false,
        description:
          'serving certificate for no SNI, a name no cluster lists, and clusters without a serving certificate of their own; client certificates are requested, never required',
      },
    ),
    cluster: Type.String({
      minLength: 1,
      description:
        "the cluster this listener serves without SNI or for a name no cluster's hosts list, from clusters or an UpstreamCluster object; clusters with hosts are served on every listener by SNI",
    }),
  },
  { additionalProperties: false },
);

const Kubernetes = Type.Object(
  {
    kubeconfigFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'cluster to read custom resources from; default: in-cluster service account',
      }),
    ),
    upstreamClusters: Type.Optional(
      Type.Boolean({ description: 'watch kubegate.io/v1alpha1 UpstreamCluster objects (default true)' }),
    ),
    kubeGatewayClusters: Type.Optional(
      Type.Boolean({
        description: 'also read proxy.kubegateway.io/v1alpha1 UpstreamCluster objects (default false)',
      }),
    ),
    clusterGatewaySecretNamespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        description:
          'serve the ClusterGateway API (cluster.core.oam.dev/v1alpha1) with clusters from the Secrets of this namespace labelled cluster.core.oam.dev/cluster-credential-type (docs/clustergateway.md); default: off',
      }),
    ),
    clusterGatewayProxyConfigurationFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "a ClusterGatewayProxyConfiguration (cluster-gateway's --cluster-gateway-proxy-config): its identity exchange rules apply to every ClusterGateway cluster after the cluster Secret's own",
      }),
    ),
  },
  { additionalProperties: false, description: 'clusters defined as custom resources, watched live' },
);

const Admin = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean({ description: 'serve the admin listener (default true)' })),
    address: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'IP address to bind (default 127.0.0.1); plain HTTP, so keep it off public networks',
      }),
    ),
    port: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 65535, description: 'default 9443; 0 picks a free port' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'plain-HTTP admin listener: /healthz, /livez, /readyz, /metrics, /status.json, status page',
  },
);

const Metrics = Type.Object(
  {
    perUser: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean({ description: 'count requests per user (kubegate_user_requests_total)' }),
          maxUsers: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100000,
              description: 'distinct users with their own series (default 100); later ones count as "other"',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'Prometheus metrics on the admin listener' },
);

/** The configuration file: `kubegate.io/v1alpha1 GatewayConfiguration`. */
export const GatewayConfiguration = Type.Object(
  {
    apiVersion: Type.Literal('kubegate.io/v1alpha1'),
    kind: Type.Literal('GatewayConfiguration'),
    listeners: Type.Array(Listener, { minItems: 1 }),
    clusters: Type.Optional(Type.Array(FileCluster, { description: 'clusters defined in this file' })),
    defaults: Type.Optional(Defaults),
    kubernetes: Type.Optional(Kubernetes),
    accessLog: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(
            Type.String({
              minLength: 1,
              description:
                "a file, appended to; keep it out of the configuration's folders (each write there wakes the file watcher)",
            }),
          ),
        },
        { additionalProperties: false, description: 'JSON lines; default stdout' },
      ),
    ),
    admin: Type.Optional(Admin),
    metrics: Type.Optional(Metrics),
    clientLimits: Type.Optional(ClientLimits),
    workers: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], {
        description:
          'worker threads serving requests, each listening on the same ports (SO_REUSEPORT; limits stay exact across them); "auto" = one per available CPU (default 1: one thread does everything)',
      }),
    ),
    workerYoungGenerationMb: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 1024,
        description:
          "V8 young-generation size of each worker thread in MiB (default 16; read at start). Node's own default lets it grow to 48-64 MiB, and under load each scavenge of that much then stops a worker for 10-30 ms, the p99 of every request it holds. workers: 1 serves on the main thread, whose size is node's --max-semi-space-size",
      }),
    ),
    rewatch: Type.Optional(
      Type.Object(
        {
          maxPerSecond: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 100000,
              description:
                'watches ended per second at most, all clusters and worker threads together (default 100)',
            }),
          ),
          windowSeconds: Type.Optional(
            Seconds(
              'every watch of a retired connection is ended within this long; the rate is raised when it would not be (default 60)',
              1,
              3600,
            ),
          ),
        },
        {
          additionalProperties: false,
          description:
            'a reload that retires upstream connections (a changed upstream CA or client certificate, a moved endpoint) ends the watches on them a few at a time, so their clients do not all watch again at once',
        },
      ),
    ),
    shutdown: Type.Optional(
      Type.Object(
        {
          delaySeconds: Type.Optional(
            Seconds(
              'after SIGTERM, keep serving (with /readyz answering 503) this long so load balancers take the gateway out first (default 0)',
              0,
              600,
            ),
          ),
          drainSeconds: Type.Optional(
            Seconds('then, time in-flight short requests get to finish (default 10)', 0, 3600),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type GatewayConfiguration = Static<typeof GatewayConfiguration>;
