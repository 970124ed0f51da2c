import type { ClusterRuntime } from '../cluster/runtime.ts';
import type { Gateway } from '../proxy/context.ts';
import type { ClientExchange } from '../proxy/exchange.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import { UpstreamJSONClient } from '../upstream/review-client.ts';
import { forbiddenWatch } from './forbidden.ts';
import { SharedWatch, type SharedWatchHost } from './shared-watch.ts';
import { countForwarded, shareStats } from './stats.ts';
import { WatchAccess } from './watch-access.ts';
import { shareableWatch, type ShareableWatch } from './watch-key.ts';
import type { WindowLimits } from './window.ts';

/** Per key, at most this many upstream watches (a newer one opens for clients past the older's progress). */
const MAX_STREAMS_PER_KEY = 2;
/**
 * Each shared stream keeps the last 1,000 events (`KUBEGATE_SHARED_WATCH_WINDOW` overrides it, for
 * tests and tuning), at most 16 MiB of them.
 */
export const WINDOW_LIMITS: WindowLimits = {
  maxEvents: Number(process.env.KUBEGATE_SHARED_WATCH_WINDOW) || 1000,
  maxBytes: 16 * 1024 * 1024,
};

/** A watch request past admission, on a rule with `share: watches`. */
export interface SharedWatchRequest {
  readonly cluster: ClusterRuntime;
  /** The rule's endpoint subset (names), null: all endpoints. */
  readonly subset: readonly string[] | null;
  readonly x: ClientExchange;
  readonly record: AccessRecord;
}

/** The shared watches of one gateway (one worker): identical watches share one upstream watch. */
export class WatchShares {
  readonly #gw: Gateway;
  readonly #streams = new Map<string, SharedWatch[]>();
  readonly #access = new Map<string, WatchAccess>();

  constructor(gw: Gateway) {
    this.#gw = gw;
  }

  /** Upstream streams held, for tests and the status page. */
  get streams(): number {
    let n = 0;
    for (const l of this.#streams.values()) n += l.length;
    return n;
  }

  /**
   * Serves the watch from a shared stream and returns true, or returns false (having written
   * nothing) when it must be forwarded as it is. A client the access check refuses gets the
   * apiserver's 403 (true).
   */
  async serve(req: SharedWatchRequest): Promise<boolean> {
    const { cluster, x, record } = req;
    const w = shareableWatch(cluster.name, record.info, record.uri, x.headers);
    if (typeof w === 'string') {
      countForwarded(w);
      return false;
    }
    const identity = record.identity!;
    const info = record.info;
    let decision;
    try {
      decision = await this.#accessOf(cluster).decide(identity, {
        group: info.apiGroup,
        version: info.apiVersion,
        resource: info.resource,
        namespace: info.namespace,
        name: info.name,
        labelSelector: w.labelSelector,
        fieldSelector: w.fieldSelector,
      });
    } catch {
      // The review failed: the apiserver decides, as for any forwarded watch.
      countForwarded('review_failed');
      return false;
    }
    if (x.gone) return true;
    if (!decision.allowed) {
      shareStats.refused++;
      forbiddenWatch(x, record, identity.user, info, decision.why);
      return true;
    }
    const list = this.#streams.get(w.key) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i];
      if (s.state === 'opening' && !(await s.opened)) continue;
      if (x.gone) return true;
      const seq = s.startFor(w.rv);
      if (seq !== null) {
        this.#attach(s, req, w, seq);
        return true;
      }
    }
    const now = this.#streams.get(w.key) ?? [];
    if (now.length >= MAX_STREAMS_PER_KEY) {
      countForwarded('window');
      return false;
    }
    const s = new SharedWatch(this.#host(cluster.name, req.subset), w, identity, WINDOW_LIMITS);
    this.#streams.set(w.key, [...now, s]);
    if (!(await s.opened)) {
      countForwarded('upstream_refused');
      return false;
    }
    if (x.gone) {
      s.closeIfIdle(); // the opener left while it opened
      return true;
    }
    const seq = s.startFor(w.rv);
    if (seq === null) {
      s.closeIfIdle();
      countForwarded('window');
      return false;
    }
    this.#attach(s, req, w, seq);
    return true;
  }

  #attach(s: SharedWatch, req: SharedWatchRequest, w: ShareableWatch, seq: number): void {
    req.record.upstream = s.endpointName;
    s.attach({ x: req.x, record: req.record }, w, req.record.identity!, seq);
  }

  #accessOf(cluster: ClusterRuntime): WatchAccess {
    let a = this.#access.get(cluster.name);
    if (a === undefined) {
      const name = cluster.name;
      const live = (): ClusterRuntime | undefined => this.#gw.cluster(name);
      a = new WatchAccess(
        new UpstreamJSONClient(
          () => live()?.upstream ?? null,
          () => live()?.upstreamToken,
        ),
        () => {
          const t = (live() ?? cluster).config.authentication.tokenReview;
          return { allowedMs: t.successTTLMs, deniedMs: t.failureTTLMs };
        },
      );
      this.#access.set(name, a);
    }
    return a;
  }

  #host(clusterName: string, subset: readonly string[] | null): SharedWatchHost {
    return {
      cluster: () => this.#gw.cluster(clusterName),
      subset,
      forget: (s) => {
        const list = this.#streams.get(s.key);
        if (list === undefined) return;
        const rest = list.filter((o) => o !== s);
        if (rest.length === 0) this.#streams.delete(s.key);
        else this.#streams.set(s.key, rest);
      },
      warn: (msg, fields) =>
        process.emitWarning(`${msg} ${JSON.stringify(fields)}`, { code: 'KG_SHARED_WATCH' }),
    };
  }
}

const byGateway = new WeakMap<Gateway, WatchShares>();

/** The shared watches of `gw`, made on first use. */
export function watchSharesOf(gw: Gateway): WatchShares {
  let s = byGateway.get(gw);
  if (s === undefined) {
    s = new WatchShares(gw);
    byGateway.set(gw, s);
  }
  return s;
}
