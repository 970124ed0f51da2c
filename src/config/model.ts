import type { ExchangeRule } from '../clustergateway/identity-exchange.ts';
import type { BalancerKind } from '../upstream/balancers/index.ts';
import type { HealthCheckOptions } from '../upstream/health-check.ts';
import type { RewatchOptions } from '../upstream/rewatch-pacer.ts';
import type { Defaults } from './schema/cluster.ts';
import type { DefaultRule, Rule } from './schema/rule.ts';

/** PEM and token material a cluster needs, read from files or Secrets. */
export interface ClusterMaterial {
  /** Verifies the apiservers ('' when `insecureSkipTLSVerify`). */
  ca: string;
  /**
   * A ClusterGateway Secret without `ca.crt` that asked for it explicitly
   * (`kubegate.io/insecure-skip-tls-verify: "true"`): the apiservers' certificates are not verified.
   */
  insecureSkipTLSVerify?: boolean;
  cert?: string;
  key?: string;
  token?: string;
  /** Verifies this cluster's client certificates. */
  clientCA?: string;
  /** Issues front-proxy client certificates (see `AuthenticationConfig.frontProxy`). */
  frontProxyCA?: string;
  /** What the cluster's extension-apiserver-authentication ConfigMap said, when read from there. */
  requestHeader?: RequestHeaderSettings;
  /** The certificate (chain) and key presented to clients whose SNI is one of the cluster's hosts. */
  servingCert?: string;
  servingKey?: string;
}

/** A cluster's --requestheader-* settings as it publishes them (lists absent when it sets none). */
export interface RequestHeaderSettings {
  readonly ca: string;
  readonly allowedNames?: readonly string[];
  readonly usernameHeaders?: readonly string[];
  readonly uidHeaders?: readonly string[];
  readonly groupHeaders?: readonly string[];
  readonly extraHeaderPrefixes?: readonly string[];
}

/** Authentication of one cluster's clients. */
export interface AuthenticationConfig {
  anonymous: boolean;
  tokenReview: { enabled: boolean; successTTLMs: number; failureTTLMs: number; maxEntries: number };
  serviceAccountJWT?: { issuers: readonly string[]; audiences: readonly string[]; refreshMs: number };
  /** Front-proxy (request-header) authentication; its CA is `ClusterMaterial.frontProxyCA`. */
  frontProxy?: {
    allowedNames: readonly string[];
    usernameHeaders: readonly string[];
    uidHeaders: readonly string[];
    groupHeaders: readonly string[];
    extraHeaderPrefixes: readonly string[];
  };
}

/** The per-cluster fuse. */
export interface BreakerConfig {
  forceOpen: boolean;
  message: string;
  automatic?: {
    windowMs: number;
    minRequests: number;
    errorRatio: number;
    slowCallMs?: number;
    slowRatio?: number;
    openMs: number;
    halfOpenProbes: number;
  };
}

/** Who may use a cluster at all. */
export interface AccessConfig {
  allow?: { users?: readonly string[]; groups?: readonly string[]; clientCIDRs?: readonly string[] };
  deny?: { users?: readonly string[]; groups?: readonly string[]; clientCIDRs?: readonly string[] };
}

/** One upstream cluster, validated, with defaults applied and material loaded. Immutable. */
export interface ClusterConfig {
  readonly name: string;
  /** Where it came from, for logs and status: `file`, `UpstreamCluster/<name>`, … */
  readonly origin: string;
  readonly endpoints: readonly { readonly name: string; readonly url: string }[];
  /** Names it is served under (SNI, Host), lower case; exact or `*.` + name. */
  readonly hosts: readonly string[];
  readonly material: ClusterMaterial;
  readonly balancer: BalancerKind;
  readonly healthCheck: HealthCheckOptions;
  readonly pingIntervalMs: number;
  readonly requestTimeoutMs: number;
  readonly authentication: AuthenticationConfig;
  readonly circuitBreaker: BreakerConfig;
  readonly access: AccessConfig;
  readonly rules: readonly Rule[];
  readonly defaultRule: DefaultRule;
  /** ClusterGateway clusters: ClientIdentityExchanger rules of the Secret's annotation, first match wins. */
  readonly identityExchange?: readonly ExchangeRule[];
}

/** A listener's PEM material as read from its files (and checked: the key is the certificate's). */
export interface ListenerMaterial {
  readonly cert: string;
  readonly key: string;
  readonly clientCA?: string;
}

/** A listener: one TLS port; its `cluster` is served without SNI or for a name no cluster claims. */
export interface ListenerConfig {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCAFile?: string;
  /** The files' content, read with the rest of the configuration (a reload swaps it in). */
  readonly material: ListenerMaterial;
  readonly cluster: string;
}

/** Where custom-resource clusters come from. */
export interface KubernetesSourceConfig {
  readonly kubeconfigFile?: string;
  readonly upstreamClusters: boolean;
  readonly kubeGatewayClusters: boolean;
  /** Namespace of ClusterGateway cluster Secrets; undefined = the ClusterGateway API is off. */
  readonly clusterGatewaySecretNamespace?: string;
  /** Identity exchange rules of every ClusterGateway cluster, after its Secret's own. */
  readonly clusterGatewayExchange: readonly ExchangeRule[];
}

/** The admin listener (plain HTTP); null = off. */
export interface AdminConfig {
  readonly address: string;
  readonly port: number;
}

/** The admin listener's port when the file names none. */
export const DEFAULT_ADMIN_PORT = 9443;

/** Metrics options. */
export interface MetricsConfig {
  readonly perUser: { readonly enabled: boolean; readonly maxUsers: number };
}

/** Per-client resource bounds, with the defaults filled in (see `src/config/schema/client-limits.ts`). */
export interface ClientLimitsConfig {
  readonly maxHeaderBytes: number;
  readonly maxHeaderCount: number;
  readonly maxRequestBodyBytes: number;
  readonly maxConcurrentStreams: number;
  readonly maxConnectionsPerClientIP: number;
  readonly handshakeTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** 0: no cap. */
  readonly maxLongRunningPerUser: number;
  readonly streamResets: { readonly burst: number; readonly ratePerSecond: number };
  /** Streams reset by the client before their answer, within 1 s (see src/proxy/premature-resets.ts). */
  readonly prematureResets: {
    readonly burst: number;
    readonly ratePerSecond: number;
    /** New connections from an address whose session was closed for rapid reset are refused this long. */
    readonly penaltyMs: number;
  };
}

/** The bounds a gateway applies when the file sets none. */
export const DEFAULT_CLIENT_LIMITS: ClientLimitsConfig = Object.freeze({
  maxHeaderBytes: 65536,
  maxHeaderCount: 256,
  maxRequestBodyBytes: 16 * 1024 * 1024,
  maxConcurrentStreams: 1000,
  maxConnectionsPerClientIP: 10_000,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 90_000,
  maxLongRunningPerUser: 0,
  streamResets: Object.freeze({ burst: 1000, ratePerSecond: 33 }),
  prematureResets: Object.freeze({ burst: 100, ratePerSecond: 10, penaltyMs: 10_000 }),
});

/** What a file a configuration names is for; bounded, so it can label metrics. */
export type MaterialKind =
  | 'listener_cert'
  | 'listener_key'
  | 'listener_client_ca'
  | 'upstream_ca'
  | 'upstream_client_cert'
  | 'upstream_client_key'
  | 'upstream_token'
  | 'cluster_client_ca'
  | 'front_proxy_ca'
  | 'clustergateway_proxy_config'
  | 'serving_cert'
  | 'serving_key';

/** Every `MaterialKind`, in the order metrics list them. */
export const MATERIAL_KINDS: readonly MaterialKind[] = [
  'listener_cert',
  'listener_key',
  'listener_client_ca',
  'upstream_ca',
  'upstream_client_cert',
  'upstream_client_key',
  'upstream_token',
  'cluster_client_ca',
  'front_proxy_ca',
  'clustergateway_proxy_config',
  'serving_cert',
  'serving_key',
];

/** A file a configuration named, what it is for, and its content as read. */
export interface SourceFile {
  readonly path: string;
  readonly kind: MaterialKind;
  readonly content: string;
}

/** The whole gateway configuration from the file, validated. */
export interface GatewayConfig {
  readonly listeners: readonly ListenerConfig[];
  readonly clusters: readonly ClusterConfig[];
  /** Applied to clusters defined as custom resources. */
  readonly defaults: Defaults;
  readonly kubernetes?: KubernetesSourceConfig;
  readonly accessLog: { readonly path?: string };
  /** Default: 127.0.0.1:9443; null when `admin.enabled` is false. */
  readonly admin?: AdminConfig | null;
  readonly metrics?: MetricsConfig;
  /** Default: DEFAULT_CLIENT_LIMITS. */
  readonly clientLimits?: ClientLimitsConfig;
  /**
   * The files the listeners and clusters named (PEM, token), resolved, with the content they were
   * loaded with, in order: a file source watches their folders and re-reads them to tell that
   * nothing changed without parsing the file again.
   */
  readonly sourceFiles?: readonly SourceFile[];
  /** SHA-256 (hex) of the text it was parsed from, when it came from a file. */
  readonly textHash?: string;
  /** Worker threads serving requests (`auto` resolved); 1 = the main thread serves, as before. */
  readonly workers?: number;
  /** Each worker thread's V8 young generation, MiB (default 16). */
  readonly workerYoungGenerationMb?: number;
  /** How fast the watches of retired upstream connections end (default DEFAULT_REWATCH). */
  readonly rewatch?: RewatchOptions;
  /** Readiness off but still serving, before the drain. */
  readonly shutdownDelayMs: number;
  readonly shutdownDrainMs: number;
}
