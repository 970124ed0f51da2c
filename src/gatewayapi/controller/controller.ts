import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../../kube/client.ts';
import { CoalescedSync } from '../../kube/coalesced-sync.ts';
import { Informer, type KubeObject } from '../../kube/informer.ts';
import type { DataPlaneIR } from '../ir.ts';
import { translate, type TranslateInput, type TranslateOutput } from '../translate/index.ts';
import { ControllerMetrics } from './metrics.ts';
import { StatusWriter, statusKey, type CachedObject, type DesiredStatus } from './status-writer.ts';
import { GatewayServices, gatewayObjects, type CachedObject as GeneratedSource } from './gateway-services.ts';
import { WATCHED, type WatchedKind } from './sources.ts';

/** The collections whose statuses the controller writes, by their status kind. */
const STATUS_KINDS = {
  gatewayClasses: 'gatewayclasses',
  gateways: 'gateways',
  listenerSets: 'listenersets',
  httpRoutes: 'httproutes',
  grpcRoutes: 'grpcroutes',
  tlsRoutes: 'tlsroutes',
  tcpRoutes: 'tcproutes',
  udpRoutes: 'udproutes',
  backendTLSPolicies: 'backendtlspolicies',
  trafficPolicies: 'trafficpolicies',
} as const;

/** The policy collections whose `status.ancestors` the controller writes. */
const POLICY_KINDS = [
  ['backendTLSPolicies', 'backendtlspolicies'],
  ['trafficPolicies', 'trafficpolicies'],
] as const;

/** The route collections and the status kind of each, HTTPRoutes first. */
const ROUTE_KINDS = [
  ['httpRoutes', 'httproutes'],
  ['grpcRoutes', 'grpcroutes'],
  ['tlsRoutes', 'tlsroutes'],
  ['tcpRoutes', 'tcproutes'],
  ['udpRoutes', 'udproutes'],
] as const;

/** The controller name GatewayClasses select kubegate by. */
export const CONTROLLER_NAME = 'kubegate.io/gateway-controller';

/** Where the IR goes: the data plane, which reports the sockets it could not bind. */
export interface IRSink {
  apply(
    ir: DataPlaneIR,
  ): Promise<{ failed: readonly { gateway: string; address: string; port: number; error: string }[] }>;
}

export interface ControllerOptions {
  client: KubeClient;
  sink: IRSink;
  log: Logger;
  controllerName?: string;
  /** IPv4 CIDR whose addresses Gateways get. */
  addressPool: string;
  /** Events within this window cost one translation (ms). */
  coalesceMs?: number;
  /** Where `kubegate_gatewayapi_sync_*` and status-write metrics go; none without. */
  registry?: Registry;
}

type Objects = { [K in WatchedKind]: readonly KubeObject[] };

/**
 * The Gateway API controller: informers → objects → `translate` (pure) → the data plane's `apply`
 * (one atomic swap) → statuses written where they changed. A burst of events is one translation;
 * a translation never overlaps another.
 */
export class GatewayAPIController {
  readonly #opts: Required<Omit<ControllerOptions, 'registry'>>;
  readonly #metrics: ControllerMetrics;
  readonly #informers: Informer<KubeObject>[] = [];
  readonly #objects = Object.fromEntries(Object.keys(WATCHED).map((k) => [k, []])) as unknown as Objects;
  readonly #status: StatusWriter;
  /** The Service and EndpointSlice made for each Gateway (GatewayInfrastructure). */
  readonly #generated: GatewayServices;
  readonly #syncs: CoalescedSync;
  /** Per collection: the objects of the last `#changed`, and their versions by status key. */
  readonly #seen = new Map<WatchedKind, ReadonlySet<KubeObject>>();
  readonly #versions = new Map<
    WatchedKind,
    Map<string, { rv: string | undefined; generation: number | undefined }>
  >();
  /** Route objects whose status was found right, with the parents `translate` gave them then. */
  readonly #settledRoutes = new WeakMap<object, unknown>();
  /** GatewayClasses, Gateways and HTTPRoutes at the last status pass (fewer now: prune). */
  #objectCount = 0;
  /** When the first event not yet served by a sync arrived (performance.now()). */
  #pendingSince: number | null = null;
  /** Translations done, and the last one's IR (for the admin endpoint and tests). */
  syncs = 0;
  lastIR: DataPlaneIR | null = null;
  lastSyncMs = 0;

  constructor(opts: ControllerOptions) {
    this.#opts = { controllerName: CONTROLLER_NAME, coalesceMs: 2, ...opts };
    this.#syncs = new CoalescedSync(() => this.#syncOnce(), this.#opts.coalesceMs);
    this.#metrics = new ControllerMetrics(opts.registry);
    this.#status = new StatusWriter(opts.client, opts.log, this.#metrics);
    this.#generated = new GatewayServices(opts.client, opts.log);
  }

  /** Lists every collection, then serves the first translation; resolves when it is applied. */
  async start(): Promise<void> {
    for (const [kind, path] of Object.entries(WATCHED) as [WatchedKind, string][]) {
      const inf = new Informer<KubeObject>(
        this.#opts.client,
        path,
        (items) => {
          this.#objects[kind] = items;
          if (this.#changed(kind, items)) this.#schedule();
        },
        this.#opts.log,
        // The controller coalesces events of all collections itself (coalesceMs).
        0,
      );
      this.#informers.push(inf);
    }
    await Promise.all(this.#informers.map((i) => i.start()));
    await this.#syncs.now();
  }

  /**
   * Whether new items of `kind` can change the translation. The echo of the controller's own status
   * write changes nothing (`translate` reads no route or class status, and a Gateway's addresses are
   * what it wrote), so a new route costs one translation, not two; any other change counts.
   * The informer hands back the same object for an unchanged item, so only new objects are looked
   * at: an event costs the objects it changed, not a pass over 5,000 routes' keys.
   */
  #changed(kind: WatchedKind, items: readonly KubeObject[]): boolean {
    const statusKind = STATUS_KINDS[kind as keyof typeof STATUS_KINDS];
    if (statusKind === undefined) return true;
    const prev = this.#seen.get(kind);
    let versions = this.#versions.get(kind);
    // Objects were deleted: start the versions over, so deleted names do not pile up.
    const rebuild =
      versions === undefined ||
      (prev !== undefined && prev.size > items.length) ||
      versions.size > 2 * items.length + 16;
    if (rebuild) this.#versions.set(kind, (versions = new Map()));
    let changed = prev === undefined || prev.size !== items.length;
    for (const o of items) {
      const same = prev?.has(o) === true;
      if (same && !rebuild) continue;
      const m = o.metadata;
      const k = statusKey(statusKind, m.namespace, m.name);
      if (!changed && !same) {
        const was = versions!.get(k);
        changed =
          was === undefined ||
          (was.rv !== m.resourceVersion &&
            (was.generation !== m.generation || !this.#status.isOwnWrite(k, m.resourceVersion)));
      }
      versions!.set(k, { rv: m.resourceVersion, generation: m.generation });
    }
    this.#seen.set(kind, new Set(items));
    return changed;
  }

  #schedule(): void {
    this.#pendingSince ??= performance.now();
    this.#syncs.schedule();
  }

  async #syncOnce(): Promise<void> {
    const started = performance.now();
    // The events this sync serves; later ones wait for the next.
    const since = this.#pendingSince;
    this.#pendingSince = null;
    const o = this.#objects;
    const input = {
      controllerName: this.#opts.controllerName,
      addressPool: this.#opts.addressPool,
      gatewayClasses: o.gatewayClasses,
      gateways: o.gateways,
      listenerSets: o.listenerSets,
      httpRoutes: o.httpRoutes,
      grpcRoutes: o.grpcRoutes,
      tlsRoutes: o.tlsRoutes,
      tcpRoutes: o.tcpRoutes,
      udpRoutes: o.udpRoutes,
      referenceGrants: o.referenceGrants,
      services: o.services,
      endpointSlices: o.endpointSlices,
      secrets: o.secrets,
      namespaces: o.namespaces,
      configMaps: o.configMaps,
      backendTLSPolicies: o.backendTLSPolicies,
      trafficPolicies: o.trafficPolicies,
      policySecrets: o.policySecrets,
    } as unknown as TranslateInput;
    let out: TranslateOutput;
    try {
      out = translate(input);
    } catch (err) {
      // translate is total by contract (and fuzzed); should it ever throw, the last IR keeps serving.
      this.#opts.log.error(
        { kind: 'gatewayapi', err: (err as Error).stack },
        'translation failed; keeping the last configuration',
      );
      return;
    }
    try {
      const { failed } = await this.#opts.sink.apply(out.ir);
      for (const f of failed)
        this.#opts.log.warn({ kind: 'gatewayapi', ...f }, 'could not bind a Gateway listener socket');
    } catch (err) {
      this.#opts.log.error({ kind: 'gatewayapi', err: (err as Error).stack }, 'data plane apply failed');
    }
    this.lastIR = out.ir;
    this.syncs++;
    const swapped = performance.now();
    this.lastSyncMs = swapped - started;
    this.#metrics.sync(this.lastSyncMs);
    if (since !== null) this.#metrics.eventToServing(swapped - since);
    // Requests that arrived during the translation go first: they are what waits for the new
    // tables; statuses (a pass over every route) can wait one turn of the event loop.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const desired = this.#desiredStatuses(out);
    const { conflicted, settled } = await this.#status.write(desired);
    for (const d of settled)
      if (d.kind !== 'gateways' && d.kind !== 'gatewayclasses' && d.kind !== 'listenersets')
        this.#settledRoutes.set(d.object, d.source);
    // A write refused as stale: the newer object may be only a status change, which alone would not
    // schedule a sync; compute the statuses again from it.
    if (conflicted) this.#syncs.again();
    await this.#generateGatewayServices(out);
    this.#opts.log.debug(
      {
        kind: 'gatewayapi',
        ms: Math.round(this.lastSyncMs),
        sinceEventMs: since === null ? null : Math.round(swapped - since),
        ports: out.ir.ports.length,
        statuses: desired.length,
        ...this.statusCounts,
      },
      'synced',
    );
  }

  /** Keeps each accepted Gateway's Service and EndpointSlice as the Gateway and its addresses say. */
  async #generateGatewayServices(out: TranslateOutput): Promise<void> {
    const o = this.#objects;
    const ours = new Map(out.gateways.map((g) => [`${g.namespace}/${g.name}`, g]));
    const inputs = [];
    const foreign = new Set<string>();
    for (const item of o.gateways as unknown as GeneratedSource[]) {
      const key = `${item.metadata.namespace ?? ''}/${item.metadata.name}`;
      const g = ours.get(key);
      if (g === undefined) foreign.add(key);
      else if (g.status.conditions.some((c) => c.type === 'Accepted' && c.status === 'True'))
        inputs.push({
          object: item,
          addresses: g.status.addresses.map((a) => a.value),
          listenerSetPorts: g.listenerSetPorts,
        });
    }
    await this.#generated.reconcile(
      gatewayObjects(inputs),
      o.services as unknown as GeneratedSource[],
      o.endpointSlices as unknown as GeneratedSource[],
      foreign,
    );
  }

  #desiredStatuses(out: TranslateOutput): DesiredStatus[] {
    const o = this.#objects;
    const byKey = (items: readonly KubeObject[]) =>
      new Map(
        items.map((x) => [`${x.metadata.namespace ?? ''}/${x.metadata.name}`, x as unknown as CachedObject]),
      );
    const classes = byKey(o.gatewayClasses);
    const gateways = byKey(o.gateways);
    const desired: DesiredStatus[] = [];
    // The writer forgets objects not kept: needed only when some went away, so the keys of
    // thousands of unchanged routes are not built on every sync.
    const count =
      o.gatewayClasses.length +
      o.gateways.length +
      o.listenerSets.length +
      ROUTE_KINDS.reduce((sum, [field]) => sum + o[field].length, 0) +
      POLICY_KINDS.reduce((sum, [field]) => sum + o[field].length, 0);
    const keep = count < this.#objectCount ? new Set<string>() : null;
    this.#objectCount = count;
    for (const c of out.gatewayClasses) {
      const object = classes.get(`/${c.name}`);
      if (!object) continue;
      keep?.add(statusKey('gatewayclasses', undefined, c.name));
      desired.push({
        kind: 'gatewayclasses',
        object,
        status: c.status as unknown as Record<string, unknown>,
        source: c.status,
      });
    }
    for (const g of out.gateways) {
      const object = gateways.get(`${g.namespace}/${g.name}`);
      if (!object) continue;
      keep?.add(statusKey('gateways', g.namespace, g.name));
      desired.push({
        kind: 'gateways',
        object,
        status: g.status as unknown as Record<string, unknown>,
        source: g.status,
      });
    }
    const listenerSets = byKey(o.listenerSets);
    for (const l of out.listenerSets ?? []) {
      const object = listenerSets.get(`${l.namespace}/${l.name}`);
      if (!object) continue;
      keep?.add(statusKey('listenersets', l.namespace, l.name));
      desired.push({
        kind: 'listenersets',
        object,
        status: l.status as unknown as Record<string, unknown>,
        source: l.status,
      });
    }
    // Route parents are shared with other controllers: keep theirs, replace ours, and drop ours from
    // routes that no longer name one of our Gateways.
    // A route object found right for the parents `translate` gave it (the same array while nothing
    // it depends on changed) is skipped whole: at 5,000 routes a sync looks only at what changed.
    for (const [field, kind] of ROUTE_KINDS) {
      const ours = new Map(
        (out[field] ?? []).map((r) => [`${r.namespace}/${r.name}`, r.parents as unknown[]]),
      );
      for (const item of o[field]) {
        const object = item as unknown as CachedObject;
        const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
        const mine = ours.get(key);
        if (this.#settledRoutes.get(object) === (mine ?? null)) {
          keep?.add(statusKey(kind, object.metadata.namespace, object.metadata.name));
          continue;
        }
        const parents = (object.status?.parents as { controllerName?: string }[] | undefined) ?? [];
        const others = parents.filter((p) => p.controllerName !== this.#opts.controllerName);
        if (!mine && others.length === parents.length) continue;
        keep?.add(statusKey(kind, object.metadata.namespace, object.metadata.name));
        desired.push({
          kind,
          object,
          status: { parents: [...others, ...(mine ?? [])] },
          source: mine ?? null,
        });
      }
    }
    // Policy ancestors are shared the same way: keep other controllers' entries as they are.
    for (const [field, kind] of POLICY_KINDS) {
      const policies = new Map((out[field] ?? []).map((p) => [`${p.namespace}/${p.name}`, p]));
      for (const item of o[field]) {
        const object = item as unknown as CachedObject;
        const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
        const mine = policies.get(key)?.ancestors;
        const ancestors = (object.status?.ancestors as { controllerName?: string }[] | undefined) ?? [];
        const others = ancestors.filter((a) => a.controllerName !== this.#opts.controllerName);
        if (!mine && others.length === ancestors.length) continue;
        keep?.add(statusKey(kind, object.metadata.namespace, object.metadata.name));
        desired.push({
          kind,
          object,
          status: { ancestors: [...others, ...(mine ?? [])] },
          source: mine ?? null,
        });
      }
    }
    if (keep !== null) this.#status.prune(keep);
    return desired;
  }

  /** Status writes and conflicts so far (metrics). */
  get statusCounts(): { writes: number; conflicts: number } {
    return { writes: this.#status.writes, conflicts: this.#status.conflicts };
  }

  async stop(): Promise<void> {
    const running = this.#syncs.stop();
    for (const i of this.#informers) i.stop();
    await running;
  }
}
