import { KernelRoutes } from '../kernel-routes.ts';
import {
  addCommunities,
  chainPolicies,
  prependAsPath,
  rejectPrefixesWithin,
  Speaker,
  type ExportPolicy,
  type ImportPolicy,
  type NeighborConfig,
  type SpeakerEvent,
} from '../index.ts';
import type { EndpointSlice, Service } from '../../service/index.ts';
import { RoutingConfigError } from './errors.ts';
import {
  routingIntent,
  sessionKey,
  speakerKey,
  type IntentNeighbor,
  type RoutingIntent,
  type RoutingNode,
  type RoutingProblem,
} from './intent.ts';
import type { RoutingOptions } from './options.ts';
import { serviceAnnouncements } from './services.ts';

export interface RoutingControllerOptions {
  readonly nodeName: string;
  readonly options: RoutingOptions;
  readonly log: (event: Record<string, unknown>) => void;
  /**
   * Called after every apply with what could not be used (bad annotations on Nodes and Services);
   * `kubegate node` turns them into Warning Events on those objects.
   */
  readonly onProblems?: (problems: readonly RoutingProblem[]) => void;
}

/**
 * Drives this node's Speaker from the Node objects: builds it from the intent, announces and
 * withdraws the pod CIDRs, and keeps learned routes in the kernel (`proto 196`, ECMP). Neighbors
 * that come, go or change are added to and removed from the running speaker; the other sessions
 * stay up. A change of the speaker itself (AS, router id, address, families, import filter,
 * reflector role) rebuilds it as a graceful restart: the old one stops without a NOTIFICATION
 * (peers keep our routes, the kernel keeps theirs), the new one sends the R bit and sweeps the
 * routes no peer announced again once all sent End-of-RIB, or after the restart time.
 */
export class RoutingController {
  readonly #o: RoutingControllerOptions;
  #speaker: Speaker | undefined;
  #kernel: KernelRoutes | undefined;
  #key = '';
  #speakerKey = '';
  #intent: RoutingIntent | undefined;
  #announced = new Set<string>();
  #chain: Promise<void> = Promise.resolve();
  #latest: readonly RoutingNode[] = [];
  #services: readonly Service[] = [];
  #slices: readonly EndpointSlice[] = [];
  /** Service prefixes announced now: kept from the iBGP mesh (external peers only, as kube-router). */
  #serviceExport = new Set<string>();
  /** Every service address of every Service: never imported, whoever announces it. */
  #serviceReject = new Set<string>();
  #queued = false;
  #sweepTimer: NodeJS.Timeout | undefined;
  #lastWaiting = '';
  #lastProblems = '[]';
  #stopped = false;

  constructor(o: RoutingControllerOptions) {
    this.#o = o;
  }

  /** The running speaker (tests and metrics). */
  get speaker(): Speaker | undefined {
    return this.#speaker;
  }

  /**
   * Takes the current Node list. Applies never overlap, and lists that arrive while one runs are
   * one apply of the latest.
   */
  update(nodes: readonly RoutingNode[]): Promise<void> {
    this.#latest = nodes;
    return this.#schedule();
  }

  /** Takes the current Services and EndpointSlices (announced to external peers per the flags). */
  updateServices(services: readonly Service[], slices: readonly EndpointSlice[]): Promise<void> {
    this.#services = services;
    this.#slices = slices;
    return this.#schedule();
  }

  #schedule(): Promise<void> {
    if (this.#queued) return this.#chain;
    this.#queued = true;
    this.#chain = this.#chain
      .then(() => {
        this.#queued = false;
        return this.#apply(this.#latest);
      })
      .catch((err: unknown) =>
        this.#o.log({ type: 'routing-error', error: err instanceof Error ? err.message : String(err) }),
      );
    return this.#chain;
  }

  async #apply(nodes: readonly RoutingNode[]): Promise<void> {
    if (this.#stopped) return;
    const name = this.#o.nodeName;
    let r: ReturnType<typeof routingIntent>;
    try {
      r = routingIntent(nodes, name, this.#o.options, this.#intent);
    } catch (err) {
      if (!(err instanceof RoutingConfigError)) throw err;
      // A bad annotation on this Node: the intent in force stays, and so do the speaker and its
      // sessions; Service changes still apply.
      const field = /kube-router\.io\/[\w.-]+/.exec(err.message)?.[0];
      r = {
        ...(this.#intent ? { intent: this.#intent } : { waiting: err.message }),
        problems: [
          {
            object: { kind: 'Node', namespace: '', name },
            field: field ? `metadata.annotations[${field}]` : 'metadata.annotations',
            message: err.message,
          },
        ],
      };
    }
    const svc = serviceAnnouncements(this.#services, this.#slices, name, this.#o.options);
    const all = [...r.problems, ...svc.problems];
    // Node heartbeats bring the same list again and again: a problem is logged when it appears.
    const problems = JSON.stringify(all);
    if (problems !== this.#lastProblems)
      for (const p of all)
        this.#o.log({ type: 'routing-problem', problem: `${p.field}: ${p.message}`, object: p.object });
    this.#lastProblems = problems;
    this.#o.onProblems?.(all);
    if (!r.intent) {
      if (r.waiting !== this.#lastWaiting) this.#o.log({ type: 'routing-waiting', reason: r.waiting });
      this.#lastWaiting = r.waiting ?? '';
      return;
    }
    const key = sessionKey(r.intent);
    const own = speakerKey(r.intent);
    if (this.#speaker === undefined || own !== this.#speakerKey) {
      await this.#rebuild(r.intent);
      this.#speakerKey = own;
    } else if (key !== this.#key) this.#renewNeighbors(this.#speaker, this.#intent!, r.intent);
    this.#key = key;
    this.#intent = r.intent;
    // The sets first: the export and import policies read them when the announcements go out.
    this.#serviceExport = new Set(svc.announce);
    this.#serviceReject = new Set(svc.rejectImport);
    this.#announce([...r.intent.announce, ...svc.announce]);
  }

  /** To nodes of the mesh: everything but the service prefixes (kube-router's export policy). */
  readonly #meshExport: ExportPolicy = (route) =>
    route.source.kind === 'local' && this.#serviceExport.has(route.prefix) ? undefined : route;

  /** From anyone: no service address (kube-router's import policy). */
  readonly #serviceImport: ImportPolicy = (route) =>
    this.#serviceReject.has(route.prefix) ? undefined : route;

  async #rebuild(intent: RoutingIntent): Promise<void> {
    const restarting = this.#speaker !== undefined;
    if (this.#speaker) {
      await this.#speaker.stop({ graceful: true });
      await this.#kernel?.idle();
    }
    clearTimeout(this.#sweepTimer);
    const log = this.#o.log;
    const gr = this.#o.options.gracefulRestartSeconds;
    const kernel = new KernelRoutes({ log });
    await kernel.start(restarting);
    const speaker = new Speaker({
      asn: intent.asn,
      routerId: intent.routerId,
      ...(intent.clusterId ? { clusterId: intent.clusterId } : {}),
      listen: { address: intent.nodeIP, port: this.#o.options.port },
      ...(intent.nodeIPv6 ? { ipv6NextHops: [intent.nodeIPv6] } : {}),
      neighbors: intent.neighbors.map((n) => this.#neighbor(intent, n)),
      importPolicy: chainPolicies(rejectPrefixesWithin(intent.rejectImport), this.#serviceImport),
      restarting,
      log,
    });
    speaker.locRib.onChange((c) => kernel.apply(c));
    if (restarting) this.#sweepWhenResynced(speaker, kernel, intent, gr);
    this.#speaker = speaker;
    this.#kernel = kernel;
    this.#announced = new Set();
    log({
      type: 'routing-speaker',
      asn: intent.asn,
      routerId: intent.routerId,
      neighbors: intent.neighbors.map((n) => n.peerAddress),
      ...(intent.clusterId ? { clusterId: intent.clusterId } : {}),
      restarting,
    });
    await speaker.start();
  }

  #neighbor(intent: RoutingIntent, n: IntentNeighbor): NeighborConfig {
    const gr = this.#o.options.gracefulRestartSeconds;
    return {
      peerAddress: n.peerAddress,
      peerAs: n.peerAs,
      port: n.port ?? this.#o.options.port,
      localAddress: n.localAddress ?? intent.nodeIP,
      ...(n.md5Key ? { md5Key: n.md5Key } : {}),
      families: intent.families,
      ...(gr > 0 ? { gracefulRestart: { restartTime: gr } } : {}),
      ...(n.routeReflectorClient ? { routeReflectorClient: true } : {}),
      exportPolicy: n.node !== undefined ? this.#meshExport : externalExport(intent),
    };
  }

  /** Removes the neighbors `next` no longer has (or has changed) and adds the new ones. */
  #renewNeighbors(speaker: Speaker, prev: RoutingIntent, next: RoutingIntent): void {
    const was = new Map(prev.neighbors.map((n) => [n.peerAddress, JSON.stringify(n)]));
    const now = new Map(next.neighbors.map((n) => [n.peerAddress, JSON.stringify(n)]));
    const removed = [...was].filter(([a, k]) => now.get(a) !== k).map(([a]) => a);
    const added = next.neighbors.filter((n) => was.get(n.peerAddress) !== now.get(n.peerAddress));
    for (const a of removed) speaker.removeNeighbor(a);
    for (const n of added) speaker.addNeighbor(this.#neighbor(next, n));
    this.#o.log({
      type: 'routing-neighbors',
      added: added.map((n) => n.peerAddress),
      removed,
    });
  }

  #sweepWhenResynced(speaker: Speaker, kernel: KernelRoutes, intent: RoutingIntent, gr: number): void {
    const waiting = new Set(
      intent.neighbors.flatMap((n) => intent.families.map((f) => `${n.peerAddress} ${f}`)),
    );
    const sweep = (): void => {
      clearTimeout(this.#sweepTimer);
      if (this.#kernel === kernel) kernel.sweep();
    };
    speaker.onEvent((e: SpeakerEvent) => {
      if (e.type !== 'end-of-rib' || !waiting.delete(`${e.peer} ${e.family}`)) return;
      if (waiting.size === 0) sweep();
    });
    if (waiting.size === 0) sweep();
    else this.#sweepTimer = setTimeout(sweep, Math.max(gr, 1) * 1000).unref();
  }

  #announce(prefixes: readonly string[]): void {
    const speaker = this.#speaker;
    if (!speaker) return;
    const want = new Set(prefixes);
    for (const p of this.#announced) if (!want.has(p)) speaker.withdraw(p);
    for (const p of want) if (!this.#announced.has(p)) speaker.announce(p);
    this.#announced = want;
  }

  /** Resolves once every queued kernel route change is applied. */
  async idle(): Promise<void> {
    await this.#chain;
    await this.#kernel?.idle();
  }

  /**
   * Stops the speaker. `graceful` (the default) sends no NOTIFICATION and leaves the learned routes
   * in the kernel, so traffic keeps flowing while the agent restarts; otherwise peers drop our
   * routes at once and ours are flushed.
   */
  async stop(options: { graceful?: boolean } = {}): Promise<void> {
    const graceful = options.graceful ?? true;
    await this.#chain;
    this.#stopped = true;
    clearTimeout(this.#sweepTimer);
    await this.#speaker?.stop({ graceful });
    await this.#kernel?.idle();
    if (!graceful) await cleanupBgpRoutes();
  }
}

/**
 * To peer routers: only what this node originates, its pod CIDRs and service prefixes (kube-router's
 * export policy); other nodes' pod CIDRs reach the router from those nodes themselves.
 */
/**
 * To external peers: only what this node originates (its pod CIDRs and service addresses), with
 * the Node's `node.bgp.communities` and `path-prepend.*`.
 */
function externalExport(intent: RoutingIntent): ExportPolicy {
  const own: ExportPolicy = (route) => (route.source.kind === 'local' ? route : undefined);
  const { communities, prepend } = intent.policy;
  return chainPolicies(
    own,
    ...(communities.length > 0 ? [addCommunities(communities)] : []),
    ...(prepend ? [prependAsPath(prepend.asn, prepend.count)] : []),
  );
}

/** Deletes every route kubegate's BGP speaker installed in this network namespace (`proto 196`). */
export async function cleanupBgpRoutes(): Promise<void> {
  await new KernelRoutes().start(false);
}
