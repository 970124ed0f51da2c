import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { observeQueueWaits } from './cluster/admission.ts';
import { ClusterSet } from './cluster/cluster-set.ts';
import type { SharedLimits } from './cluster/shared-limits.ts';
import type { ClusterRuntime } from './cluster/runtime.ts';
import {
  DEFAULT_CLIENT_LIMITS,
  type ClientLimitsConfig,
  type ClusterConfig,
  type GatewayConfig,
  type ListenerConfig,
} from './config/model.ts';
import { AccessLog } from './observe/access-log.ts';
import { startAdminServer, type AdminServer } from './observe/admin.ts';
import { GatewayMetrics, type ConfigSourceState } from './observe/metrics.ts';
import { StatusBoard } from './observe/status.ts';
import type { Gateway } from './proxy/context.ts';
import { Listener } from './proxy/listener.ts';
import {
  KeyedCap,
  PenaltyBox,
  SharedKeyedCap,
  SharedPenaltyBox,
  type KeyedLimit,
  type Penalties,
} from './policy/index.ts';
import { isClusterGatewayCluster } from './clustergateway/index.ts';
import { hostClashes } from './config/host-claims.ts';
import { DEFAULT_REWATCH } from './upstream/rewatch-pacer.ts';

/** The file's hash (12 hex digits), else the first source's that has one; '' before any. */
export function configVersionOf(sources: ReadonlyMap<string, () => ConfigSourceState>): string {
  const file = sources.get('file')?.().hash;
  if (file) return file.slice(0, 12);
  for (const read of sources.values()) {
    const h = read().hash;
    if (h) return h.slice(0, 12);
  }
  return '';
}

/** How a gateway serves when it is one of several worker threads (see src/workers/). */
export interface ServeOptions {
  /** Listen with SO_REUSEPORT, so other threads can listen on the same ports. */
  reusePort?: boolean;
  /** The limiters' shared memory for the first configuration. */
  shared?: SharedLimits;
  /** Node process metrics in this gateway's registry (default true; the main thread has them). */
  processMetrics?: boolean;
  /** Shared memory for the per-client caps, so worker threads count together (see ClientCounts). */
  clientCounts?: ClientCounts;
}

/**
 * The SharedArrayBuffers of the per-client caps: connections per address, watches per user, and
 * the addresses refused after a rapid reset.
 */
export interface ClientCounts {
  readonly connectionsByIP: SharedArrayBuffer;
  readonly longRunningByUser: SharedArrayBuffer;
  readonly penalizedIPs: SharedArrayBuffer;
}

interface OpenListener {
  readonly config: ListenerConfig;
  readonly listener: Listener;
  readonly address: AddressInfo;
}

/**
 * The composition root. One request runs straight through:
 *   listener (TLS, ALPN, cluster by SNI) → parse (RequestInfo) → cluster (Host check, or the
 *   ClusterGateway path) → authenticate (Identity,
 *   impersonation) → route (first matching rule) → govern (access lists, rule action, rate and
 *   in-flight limits, circuit breaker) → pick (balancer over the rule's healthy endpoints)
 *   → forward (HTTP/2 stream or upgrade tunnel)
 *
 * Configuration is a value: `reload` (file) and `setDynamicClusters` (custom resources) swap in new
 * cluster generations atomically; state of what did not change is carried over.
 */
export class RunningGateway implements Gateway {
  readonly accessLog: AccessLog;
  readonly clusters: ClusterSet;
  readonly metrics: GatewayMetrics;
  readonly status: StatusBoard;
  /** The admin listener; null when the configuration has none. */
  admin: AdminServer | null = null;
  draining = false;
  readonly longRunningByUser: KeyedLimit;
  readonly connectionsByIP: KeyedLimit;
  readonly penalizedIPs: Penalties;
  #config: GatewayConfig;
  readonly #dynamic = new Map<string, readonly ClusterConfig[]>();
  readonly #configSources = new Map<string, () => ConfigSourceState>();
  readonly #unobserveQueues: () => void;
  #listeners: OpenListener[] = [];
  readonly #reusePort: boolean;
  #shared: SharedLimits | undefined;
  readonly #log: Logger;
  #hostClashes = new Set<string>();

  private constructor(config: GatewayConfig, log: Logger, opts: ServeOptions) {
    this.#config = config;
    this.#log = log;
    this.#reusePort = opts.reusePort === true;
    this.#shared = opts.shared;
    const maxLong = () => this.clientLimits.maxLongRunningPerUser;
    const maxConn = () => this.clientLimits.maxConnectionsPerClientIP;
    const counts = opts.clientCounts;
    this.longRunningByUser = counts
      ? new SharedKeyedCap(counts.longRunningByUser, maxLong)
      : new KeyedCap(maxLong);
    this.connectionsByIP = counts
      ? new SharedKeyedCap(counts.connectionsByIP, maxConn)
      : new KeyedCap(maxConn);
    this.penalizedIPs = counts ? new SharedPenaltyBox(counts.penalizedIPs) : new PenaltyBox();
    this.accessLog = new AccessLog(log);
    this.clusters = new ClusterSet(log);
    this.#configureRewatch();
    const clusters = () => this.#liveClusters();
    this.metrics = new GatewayMetrics(
      {
        clusters,
        listeners: () =>
          this.#listeners.map((l) => ({
            name: l.config.name,
            connections: l.listener.connectionsByProtocol(),
            refused: l.listener.refused,
          })),
        configSources: () => [...this.#configSources].map(([source, read]) => [source, read()] as const),
      },
      { perUser: config.metrics?.perUser, processMetrics: opts.processMetrics },
    );
    const isDraining = () => this.draining;
    this.status = new StatusBoard({
      clusters,
      version: () => this.configVersion,
      get draining() {
        return isDraining();
      },
    });
    this.accessLog.observe((r) => this.metrics.observe(r));
    this.accessLog.observe((r) => this.status.observe(r));
    this.#unobserveQueues = observeQueueWaits((cluster, rule, ms) => {
      if (this.clusters.get(cluster) !== undefined) this.metrics.queueWait(cluster, rule, ms);
    });
  }

  static async start(config: GatewayConfig, log: Logger, opts: ServeOptions = {}): Promise<RunningGateway> {
    const gw = new RunningGateway(config, log, opts);
    await gw.clusters.apply(config.clusters, gw.#shared);
    for (const l of config.listeners) gw.#listeners.push(await gw.#open(l));
    log.info(
      {
        kind: 'start',
        listeners: gw.#listeners.map((l) => `${l.address.address}:${l.address.port}`),
        clusters: gw.clusters.names,
      },
      'kubegate listening',
    );
    return gw;
  }

  /**
   * Opens the admin listener the configuration asks for (`kubegate serve` and `dev` do; tests that
   * embed the gateway need not). Its address is read once: a reload does not move it.
   */
  async startAdmin(log: Logger): Promise<AdminServer | null> {
    const a = this.#config.admin;
    if (!a || this.admin) return this.admin;
    this.admin = await startAdminServer(this.#adminView(), a, log);
    return this.admin;
  }

  /**
   * Registers a configuration source's reload counters and current hash for `kubegate_config_*`
   * metrics and the status page's version (`file`, `kubegate.io`, `proxy.kubegateway.io`).
   */
  addConfigSource(source: string, read: () => ConfigSourceState): void {
    this.#configSources.set(source, read);
  }

  /** The configuration version the status page shows: the file's hash (12 hex digits), else the first source's. */
  get configVersion(): string {
    return configVersionOf(this.#configSources);
  }

  /** null when ready to serve; else why not: draining, or a served cluster without a healthy endpoint. */
  notReady(): string | null {
    if (this.draining) return 'shutting down';
    for (const l of this.#config.listeners) {
      const c = this.clusters.get(l.cluster);
      if (!c) return `cluster "${l.cluster}" of listener "${l.name}" is not configured (yet)`;
      if (c.upstream.healthyCount === 0) return `cluster "${l.cluster}" has no healthy endpoint`;
    }
    return null;
  }

  #adminView() {
    return { notReady: () => this.notReady(), metrics: this.metrics, status: this.status };
  }

  *#liveClusters(): Iterable<ClusterRuntime> {
    for (const name of this.clusters.names) {
      const c = this.clusters.get(name);
      if (c) yield c;
    }
  }

  cluster(name: string): ClusterRuntime | undefined {
    return this.clusters.get(name);
  }

  /** The clusters ClusterGateway Secrets registered (path-based selection, src/clustergateway/). */
  readonly clusterGatewayClusters = (): readonly ClusterRuntime[] | null =>
    this.#config.kubernetes?.clusterGatewaySecretNamespace === undefined
      ? null
      : [...this.#liveClusters()].filter(isClusterGatewayCluster);

  /** The first listener's address (the one `kubegate dev` and most tests use). */
  get address(): AddressInfo {
    return this.#listeners[0].address;
  }

  /** Addresses of all listeners, by name. */
  get addresses(): ReadonlyMap<string, AddressInfo> {
    return new Map(this.#listeners.map((l) => [l.config.name, l.address]));
  }

  get config(): GatewayConfig {
    return this.#config;
  }

  get clientLimits(): ClientLimitsConfig {
    return this.#config.clientLimits ?? DEFAULT_CLIENT_LIMITS;
  }

  /**
   * Applies a new file configuration: clusters swapped, listeners opened, closed or re-keyed.
   * `shared`: the limiters' shared memory for it (worker threads).
   */
  async reload(config: GatewayConfig, shared?: SharedLimits): Promise<void> {
    this.#config = config;
    this.#configureRewatch();
    if (shared) this.#shared = shared;
    await this.#applyClusters();
    const keep: OpenListener[] = [];
    for (const l of config.listeners) {
      const old = this.#listeners.find((o) => o.config.name === l.name);
      if (
        old &&
        old.config.address === l.address &&
        old.config.port === l.port &&
        old.config.cluster === l.cluster
      ) {
        const tls = this.#tlsOf(l);
        old.listener.setCertificates(tls.cert, tls.key, tls.clientCA);
        old.listener.setLimits(this.clientLimits);
        keep.push({ ...old, config: l });
      } else keep.push(await this.#open(l));
    }
    const gone = this.#listeners.filter((o) => !keep.some((k) => k.listener === o.listener));
    this.#listeners = keep;
    await Promise.all(gone.map((o) => o.listener.close(config.shutdownDrainMs)));
  }

  /**
   * Sets the clusters one custom-resource source defines. A name clash is won by the file, then by
   * the source registered first (kubegate.io before proxy.kubegateway.io).
   */
  async setDynamicClusters(
    source: string,
    clusters: readonly ClusterConfig[],
    shared?: SharedLimits,
  ): Promise<void> {
    this.#dynamic.set(source, clusters);
    if (shared) this.#shared = shared;
    await this.#applyClusters();
  }

  #all(): ClusterConfig[] {
    const all = [...this.#config.clusters];
    const taken = new Set(all.map((c) => c.name));
    for (const list of this.#dynamic.values())
      for (const c of list)
        if (!taken.has(c.name)) {
          taken.add(c.name);
          all.push(c);
        }
    return all;
  }

  /** Each worker thread ends its share of the retired watches: the rate is all workers' together. */
  #configureRewatch(): void {
    const r = this.#config.rewatch ?? DEFAULT_REWATCH;
    const share = Math.max(1, r.maxPerSecond / (this.#config.workers ?? 1));
    this.clusters.rewatch.configure({ maxPerSecond: share, windowMs: r.windowMs });
  }

  async #applyClusters(): Promise<void> {
    const all = this.#all();
    await this.clusters.apply(all, this.#shared);
    this.#reportHostClashes(all);
    // The listeners serve the new names (and certificates) from the next handshake on, and verify
    // with their cluster's client and front-proxy CAs as they are now: that cluster may come from
    // a custom-resource source, whose changes never pass through `reload`.
    for (const l of this.#listeners) {
      l.listener.setClusters(all);
      const tls = this.#tlsOf(l.config);
      l.listener.setCertificates(tls.cert, tls.key, tls.clientCA);
    }
    // Series of renamed or removed rules, endpoints and clusters would otherwise stay until restart.
    await this.metrics.removeGone();
  }

  /**
   * A host named by clusters of two sources (the file and a custom-resource source, or two sources)
   * is the first one's (file, then sources in registration order); each source rejects clashes
   * within itself, and kubegate.io UpstreamClusters those with the file too (HostConflict, so a
   * clash seen here with one of them is transient). Logged once per distinct clash.
   */
  #reportHostClashes(all: readonly ClusterConfig[]): void {
    const issues = hostClashes(
      all.map((c) => ({ cluster: c.name, hosts: c.hosts, path: `${c.origin} ${c.name}: hosts` })),
    );
    const now = new Set(issues.map((i) => `${i.path}: ${i.message}`));
    for (const line of now)
      if (!this.#hostClashes.has(line))
        this.#log.error({ kind: 'config', issue: line }, 'host claimed by two clusters: the first keeps it');
    this.#hostClashes = now;
  }

  /** The listener's pair and client CA as its configuration read and checked them (not read again here). */
  #tlsOf(l: ListenerConfig): { cert: string; key: string; clientCA: string | undefined } {
    const { cert, key } = l.material;
    const material = this.#all().find((c) => c.name === l.cluster)?.material;
    const clientCA = l.material.clientCA ?? material?.clientCA;
    // The handshake verifies front-proxy certificates too (and names their CA in its certificate
    // request); FrontProxyAuthenticator then tells the two kinds apart by signature.
    const fp = material?.frontProxyCA;
    return { cert, key, clientCA: fp === undefined ? clientCA : `${clientCA ?? ''}\n${fp}` };
  }

  async #open(l: ListenerConfig): Promise<OpenListener> {
    const tls = this.#tlsOf(l);
    const listener = new Listener(this, {
      host: l.address,
      port: l.port,
      cluster: l.cluster,
      clusters: this.#all(),
      limits: this.clientLimits,
      reusePort: this.#reusePort,
      onContextError: (cluster, err) =>
        this.#log.error(
          { kind: 'config', cluster, listener: l.name, err: err.message },
          "serving certificate refused: the cluster's hosts get the listener's certificate",
        ),
      ...tls,
    });
    return { config: l, listener, address: await listener.listen() };
  }

  /**
   * Graceful shutdown: readiness off (and still serving for `delayMs`), then no new connections,
   * short requests drained, watches ended in batches, upstream sessions closed.
   */
  async stop(drainMs = this.#config.shutdownDrainMs, delayMs = this.#config.shutdownDelayMs): Promise<void> {
    this.draining = true;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    await Promise.all(this.#listeners.map((l) => l.listener.close(drainMs)));
    this.clusters.close();
    this.#unobserveQueues();
    this.status.stop();
    await this.admin?.close();
    this.accessLog.close();
  }
}
