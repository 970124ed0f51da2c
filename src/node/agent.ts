import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../kube/client.ts';
import { CoalescedSync } from '../kube/coalesced-sync.ts';
import { Informer, type KubeObject } from '../kube/informer.ts';
import { UDPConntrackCleaner } from './conntrack.ts';
import { ProblemReporter, type NodeProblem } from './events.ts';
import { HealthCheckServers } from './health-check.ts';
import { NodeMetrics } from './metrics.ts';
import { Applier } from './nft/apply.ts';
import type { NftCommand } from './nft/exec.ts';
import { NftLibrary } from './nft/library.ts';
import type { NftTable } from './nft/model.ts';
import { networkPolicyTables, type PolicyInput } from './policy/index.ts';
import { hairpin } from './prerequisites.ts';
import { serviceProxyTables, type ServiceProxyInput } from './service/index.ts';
import { NODE_WATCHED, type FirstLists, type WatchedKind } from './watched.ts';

export { NODE_WATCHED } from './watched.ts';

/** The parts of a Node the agent reads. */
interface NodeObject extends KubeObject {
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

export interface NodeAgentOptions {
  client: KubeClient;
  nodeName: string;
  log: Logger;
  registry?: Registry;
  /** The `nft` argv prefix (tests); given, transactions spawn it instead of using libnftables. */
  nft?: NftCommand;
  /** Events within this window are one sync (ms, default 10). */
  coalesceMs?: number;
  /** Read-back period of the tables (ms, default 5 min). */
  driftCheckMs?: number;
  /** Set hairpin on new bridge ports after syncs (`--fix-prerequisites`). */
  fixHairpin?: boolean;
  /** Delete UDP conntrack entries of removed endpoints (default true). */
  conntrack?: boolean;
  /** The first lists, already sent (`sendFirstLists`); used by the first `start` only. */
  firstLists?: FirstLists;
  /** Called with every Node list the informer delivers (the BGP routing controller, `--bgp`). */
  onNodes?: (nodes: readonly KubeObject[]) => void;
  /** Called with the Services and EndpointSlices when either changes (the BGP service announcements). */
  onServices?: (services: readonly KubeObject[], endpointSlices: readonly KubeObject[]) => void;
}

/**
 * `kubegate node`: informers → one snapshot → the Service proxy and NetworkPolicy translations
 * (pure) → one nft transaction; then Events for what could not be expressed, UDP conntrack cleanup
 * and the healthCheckNodePort answers. A burst of events is one sync; syncs never overlap.
 */
export class NodeAgent {
  readonly #opts: NodeAgentOptions;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #objects = Object.fromEntries(Object.keys(NODE_WATCHED).map((k) => [k, []])) as unknown as Record<
    WatchedKind,
    readonly KubeObject[]
  >;
  readonly #applier: Applier;
  readonly #metrics: NodeMetrics;
  readonly #problems: ProblemReporter;
  readonly #conntrack: UDPConntrackCleaner;
  readonly #health: HealthCheckServers;
  readonly #syncs: CoalescedSync;
  readonly #library: NftLibrary | null;
  #firstLists: FirstLists | undefined;
  #lastHairpin = 0;
  #hairpinRunning = false;
  /** Collections listed at least once: no table is written before all are (see start). */
  readonly #listed = new Set<WatchedKind>();
  #allListed!: () => void;
  /** Which part the events since the last sync can change (a Node heartbeat changes neither). */
  #dirty = { proxy: true, policy: true };
  /** Failed transactions in a row: the tables are re-applied after a backoff even without events. */
  #failures = 0;
  #retry: NodeJS.Timeout | null = null;
  #lastFacts = '';
  /** Last good translation of each part: a part that throws keeps its previous tables. */
  #proxyTables: NftTable[] = [];
  #policyTables: NftTable[] = [];
  #proxyProblems: readonly NodeProblem[] = [];
  #policyProblems: readonly NodeProblem[] = [];
  /**
   * Milliseconds since the process started (performance.now()) at which `start` reached its steps,
   * and how long the first sync's translation and transaction took: the start-up log line.
   */
  readonly startup = { startedMs: 0, listedMs: 0, translateMs: 0, transactionMs: 0, syncedMs: 0 };
  /** Syncs applied, and whether the last one's transaction succeeded. */
  syncs = 0;
  healthy = false;

  constructor(opts: NodeAgentOptions) {
    this.#opts = opts;
    this.#firstLists = opts.firstLists;
    this.#syncs = new CoalescedSync(() => this.#syncOnce(), opts.coalesceMs ?? 10);
    this.#metrics = new NodeMetrics(opts.registry);
    // In-process libnftables unless told to run a given `nft` (tests aim it at their namespace).
    this.#library = opts.nft ? null : NftLibrary.open(opts.log);
    if (this.#library) opts.log.info({ kind: 'nft' }, 'applying nftables transactions through libnftables');
    this.#applier = new Applier({
      log: opts.log,
      ...(opts.nft ? { nft: opts.nft } : {}),
      library: this.#library,
      coalesceMs: 0,
      driftCheckMs: opts.driftCheckMs ?? 300_000,
      onTransaction: (t) => this.#metrics.transaction(t),
      onDriftRepaired: () => this.#metrics.driftRepaired(),
    });
    this.#problems = new ProblemReporter(opts.client, opts.log, opts.nodeName);
    this.#conntrack = new UDPConntrackCleaner(opts.log);
    this.#health = new HealthCheckServers(opts.log);
  }

  get metrics(): NodeMetrics {
    return this.#metrics;
  }

  /**
   * Lists every collection, then applies the first sync (replacing the agent's tables whole). It
   * waits until every collection was really listed: started while the API server is unreachable,
   * the agent must not replace the tables a previous run left serving with empty ones.
   */
  async start(): Promise<void> {
    this.startup.startedMs = Math.round(performance.now());
    const kinds = Object.keys(NODE_WATCHED).length;
    const allListed = new Promise<void>((resolve) => (this.#allListed = resolve));
    for (const [kind, path] of Object.entries(NODE_WATCHED) as [WatchedKind, string][]) {
      const inf = new Informer<KubeObject>(
        this.#opts.client,
        path,
        (items) => {
          this.#objects[kind] = items;
          if (kind === 'nodes') this.#opts.onNodes?.(items);
          if (kind === 'services' || kind === 'endpointSlices')
            this.#opts.onServices?.(this.#objects.services, this.#objects.endpointSlices);
          this.#markDirty(kind);
          this.#listed.add(kind);
          if (this.#listed.size === kinds) this.#allListed();
          this.#schedule();
        },
        this.#opts.log,
        0,
      );
      this.#informers.push(inf);
    }
    const sent = this.#firstLists;
    this.#firstLists = undefined;
    const order = Object.keys(NODE_WATCHED) as WatchedKind[];
    await Promise.all(this.#informers.map((i, n) => i.start(sent?.[order[n]!])));
    if (this.#listed.size < kinds) {
      // The informers' first lists are delivered a tick after they resolve; only a long wait is news.
      const slow = setTimeout(
        () =>
          this.#opts.log.warn(
            {
              kind: 'informer',
              missing: Object.keys(NODE_WATCHED).filter((k) => !this.#listed.has(k as WatchedKind)),
            },
            'waiting for every collection to be listed before writing any table',
          ),
        5000,
      );
      await allListed;
      clearTimeout(slow);
    }
    this.startup.listedMs = Math.round(performance.now());
    await this.#syncs.now();
    this.startup.syncedMs = Math.round(performance.now());
  }

  #markDirty(kind: WatchedKind): void {
    if (kind === 'services' || kind === 'endpointSlices') this.#dirty.proxy = true;
    else if (kind !== 'nodes') this.#dirty.policy = true;
    else {
      const facts = JSON.stringify(this.#nodeFacts());
      if (facts === this.#lastFacts) return;
      this.#lastFacts = facts;
      this.#dirty = { proxy: true, policy: true };
    }
  }

  #schedule(): void {
    this.#syncs.schedule();
  }

  /** The node's own addresses, its pod CIDRs, and every node's pod CIDRs. */
  #nodeFacts(): { nodeIPs: string[]; podCIDRs: string[]; clusterCIDRs: string[] } {
    const nodes = this.#objects.nodes as readonly NodeObject[];
    const cidrs = (n: NodeObject): string[] => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []);
    const self = nodes.find((n) => n.metadata.name === this.#opts.nodeName);
    const nodeIPs = (self?.status?.addresses ?? [])
      .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
      .map((a) => a.address);
    return {
      nodeIPs: [...new Set(nodeIPs)],
      podCIDRs: self ? cidrs(self) : [],
      clusterCIDRs: nodes.flatMap(cidrs),
    };
  }

  async #syncOnce(): Promise<void> {
    if (this.#listed.size < Object.keys(NODE_WATCHED).length) return;
    const started = performance.now();
    const o = this.#objects;
    const log = this.#opts.log;
    const facts = this.#nodeFacts();
    const dirty = this.#dirty;
    this.#dirty = { proxy: false, policy: false };
    if (!dirty.proxy && !dirty.policy && this.#failures === 0) return;
    let proxy: ReturnType<typeof serviceProxyTables> | null = null;
    if (dirty.proxy)
      try {
        proxy = serviceProxyTables({
          nodeName: this.#opts.nodeName,
          nodeIPs: facts.nodeIPs,
          clusterCIDRs: facts.clusterCIDRs,
          services: o.services,
          endpointSlices: o.endpointSlices,
        } as unknown as ServiceProxyInput);
        this.#proxyTables = proxy.tables;
        this.#proxyProblems = proxy.problems;
      } catch (err) {
        log.error(
          { kind: 'service-proxy', err: (err as Error).stack },
          'Service translation failed; keeping the last tables',
        );
      }
    if (dirty.policy)
      try {
        const policy = networkPolicyTables({
          nodeName: this.#opts.nodeName,
          nodeIPs: facts.nodeIPs,
          podCIDRs: facts.podCIDRs,
          pods: o.pods,
          namespaces: o.namespaces,
          networkPolicies: o.networkPolicies,
        } as unknown as PolicyInput);
        this.#policyTables = policy.tables;
        this.#policyProblems = policy.problems;
      } catch (err) {
        log.error(
          { kind: 'network-policy', err: (err as Error).stack },
          'NetworkPolicy translation failed; keeping the last tables',
        );
      }
    const tables = [...this.#proxyTables, ...this.#policyTables];
    const problems = [...this.#proxyProblems, ...this.#policyProblems];
    const translated = performance.now();
    try {
      await this.#applier.apply({ tables });
      if (this.syncs === 0) {
        this.startup.translateMs = Math.round(translated - started);
        this.startup.transactionMs = Math.round(performance.now() - translated);
      }
      this.healthy = true;
      this.#failures = 0;
      this.#metrics.tables(tables);
    } catch (err) {
      this.healthy = false;
      this.#metrics.failure();
      const delay = Math.min(30_000, 1000 * 2 ** this.#failures++);
      if (this.#retry === null && !this.#syncs.stopped)
        this.#retry = setTimeout(() => {
          this.#retry = null;
          this.#schedule();
        }, delay);
      log.error(
        { kind: 'nft', err: (err as Error).message },
        'nft transaction failed; the previous tables keep serving',
      );
    }
    this.syncs++;
    this.#metrics.sync(performance.now() - started);
    this.#metrics.problems(problems.length);
    this.#problems.report(problems);
    if (proxy !== null) {
      this.#health.update(proxy.healthChecks);
      if (this.#opts.conntrack !== false && this.healthy) await this.#conntrack.update(proxy.udp);
    }
    if (this.#opts.fixHairpin === true && Date.now() - this.#lastHairpin > 1000) this.#fixHairpin();
  }

  /** Hairpin on new bridge ports, beside the sync loop: the next sync does not wait for `bridge`. */
  #fixHairpin(): void {
    if (this.#hairpinRunning) return;
    this.#hairpinRunning = true;
    this.#lastHairpin = Date.now();
    void hairpin(true)
      .then((h) => {
        if (h.fixed === true)
          this.#opts.log.info({ kind: 'prerequisite', detail: h.detail }, 'hairpin set on new bridge ports');
      })
      .catch((err: Error) =>
        this.#opts.log.warn({ kind: 'prerequisite', err: err.message }, 'hairpin check failed'),
      )
      .finally(() => (this.#hairpinRunning = false));
  }

  /** The tables as last applied. */
  get tables(): readonly NftTable[] {
    return this.#applier.applied;
  }

  async stop(): Promise<void> {
    const running = this.#syncs.stop();
    for (const i of this.#informers) i.stop();
    if (this.#retry) clearTimeout(this.#retry);
    await running.catch(() => {});
    await this.#applier.close();
    await this.#library?.close();
    this.#health.close();
  }
}
