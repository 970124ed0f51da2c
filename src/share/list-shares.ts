import type { Gateway } from '../proxy/context.ts';
import { perGateway } from './per-gateway.ts';
import { cachedList } from './list-key.ts';
import type { Identity } from '../request/types.ts';
import { parseFieldSelector } from './field-selector.ts';
import { parseLabelSelector, SelectorNotEvaluable } from './label-selector.ts';
import { countForwarded, countListForwarded, shareStats, type ListForwardReason } from './stats.ts';
import { shareableWatch } from './watch-key.ts';
import { WatchCache, type CacheState, type WatchCacheHost } from './watch-cache.ts';
import { watchSharesOf, type SharedWatchRequest } from './watch-shares.ts';

/**
 * The watch caches of one gateway (one worker): a LIST with `resourceVersion=0` on a rule with
 * `share: watches+lists` is answered from the collection's cache, as kube-apiserver's watch
 * cache answers it, after the client's own access review for `list`.
 */
export class ListShares {
  readonly #gw: Gateway;
  readonly #caches = new Map<string, WatchCache>();

  constructor(gw: Gateway) {
    this.#gw = gw;
  }

  /** Caches held, for tests and the status page. */
  get caches(): number {
    return this.#caches.size;
  }

  /**
   * Answers the list from a watch cache and returns true, or returns false (having written
   * nothing) when it must be forwarded as it is. A client the access check refuses gets the
   * apiserver's 403 (true).
   */
  async serve(req: SharedWatchRequest): Promise<boolean> {
    const { cluster, x, record } = req;
    const info = record.info;
    const l = cachedList(cluster.name, info, record.uri, x.headers);
    if (typeof l === 'string') {
      if (l !== 'not_list') countListForwarded(l);
      return false;
    }
    const identity = record.identity!;
    const access = await watchSharesOf(this.#gw).authorize(req, 'list', l);
    if (access === 'review_failed') {
      countListForwarded('review_failed');
      return false;
    }
    if (access === 'answered') return true;
    const c = this.#cacheOf(cluster.name, req.subset, l.key, info, identity, l.accept);
    if (!(await c.synced)) {
      countListForwarded(notServing(c.state, 'upstream_refused'));
      return false;
    }
    if (x.gone) return true;
    if (c.state !== 'ready') {
      countListForwarded(notServing(c.state, 'not_ready'));
      return false;
    }
    // kube-apiserver waits (briefly) for its cache to reach the version; the apiserver answers it.
    if (c.rv < l.minRV) {
      countListForwarded('behind');
      return false;
    }
    // metadata.namespace is a field of namespaced resources only (others answer 400): known
    // once the path or an object has a namespace.
    if (l.fields.namesNamespace && c.namespaced !== true) {
      countListForwarded('field_selector');
      return false;
    }
    // A metadata list is made from the objects' own metadata (a custom resource's rebuilt as
    // the apiserver re-encodes it, when it can be), protobuf and JSON caches each their own.
    const selectors = `${l.form}\u0000${l.protobuf}\u0000${l.labelSelector}\u0000${l.fieldSelector}`;
    const body = c.makes(l.form, l.protobuf)
      ? c.listBody(l.labels, l.fields, selectors, l.form, l.protobuf)
      : null;
    if (body === null) {
      countListForwarded('metadata_format');
      return false;
    }
    shareStats.listsServed++;
    record.status = 200;
    record.bytesOut += body.length;
    x.respond(
      200,
      {
        'content-type': c.contentTypeOf(l.form, l.protobuf),
        'cache-control': 'no-cache, private',
        'content-length': body.length,
      },
      false,
    );
    x.end(body);
    return true;
  }

  /**
   * A JSON watch from `resourceVersion=0` (what an informer without a list sends): the current
   * state from the collection's watch cache as ADDED events, then a shared stream from the point
   * that state describes. 'served' (also for the 403), 'forward' (go to the apiserver as it is),
   * or 'other': not such a watch (the shared-watch path decides).
   */
  async serveWatch(req: SharedWatchRequest): Promise<'served' | 'forward' | 'other'> {
    const { cluster, x, record } = req;
    const info = record.info;
    const w = shareableWatch(cluster.name, info, record.uri, x.headers, true);
    if (typeof w === 'string' || w.rv !== 0n) return 'other';
    // The ADDED frames are made as JSON; protobuf (and anything the apiserver may answer in it) is forwarded.
    if (w.accept !== 'application/json' && w.accept !== 'application/json, */*') return 'other';
    let labels;
    let fields;
    try {
      labels = parseLabelSelector(w.labelSelector);
      fields = parseFieldSelector(w.fieldSelector);
    } catch (err) {
      if (err instanceof SelectorNotEvaluable) return 'other';
      throw err;
    }
    const identity = record.identity!;
    const shares = watchSharesOf(this.#gw);
    const access = await shares.authorize(req, 'watch', w);
    if (access === 'review_failed') {
      countForwarded('review_failed');
      return 'forward';
    }
    if (access === 'answered') return 'served';
    const c = this.#cacheOf(cluster.name, req.subset, `${cluster.name}\u0000${info.path}`, info, identity);
    const ok = await c.synced;
    if (x.gone) return 'served';
    if (!ok || c.state !== 'ready' || (fields.namesNamespace && c.namespaced !== true)) {
      countForwarded('resource_version');
      return 'forward';
    }
    const initial = c.initialEvents(labels, fields);
    shareStats.initialStates++;
    return (await shares.join(req, { ...w, rv: initial.rv }, initial.bytes)) ? 'served' : 'forward';
  }

  #cacheOf(
    clusterName: string,
    subset: readonly string[] | null,
    key: string,
    info: { path: string; namespace: string },
    opener: Identity,
    accept = 'application/json',
  ): WatchCache {
    let c = this.#caches.get(key);
    if (c === undefined) {
      const host = this.#host(clusterName, subset);
      c = new WatchCache(host, key, info.path, info.namespace !== '', opener, accept);
      this.#caches.set(key, c);
    }
    return c;
  }

  /** Stops every cache (tests, shutdown). */
  stop(): void {
    for (const c of [...this.#caches.values()]) c.stop();
  }

  #host(clusterName: string, subset: readonly string[] | null): WatchCacheHost {
    return {
      cluster: () => this.#gw.cluster(clusterName),
      subset,
      forget: (c) => {
        if (this.#caches.get(c.key) === c) this.#caches.delete(c.key);
      },
      warn: (msg, fields) =>
        process.emitWarning(`${msg} ${JSON.stringify(fields)}`, { code: 'KG_SHARED_LIST' }),
    };
  }
}

/** Why a cache that is not ready forwards a list: its state says, else `otherwise`. */
function notServing(state: CacheState, otherwise: ListForwardReason): ListForwardReason {
  return state === 'unsupported' ? 'list_format' : state === 'too_large' ? 'too_large' : otherwise;
}

/** The cached lists of `gw`, made on first use. */
export const listSharesOf = perGateway((gw) => new ListShares(gw));
