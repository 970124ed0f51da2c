import type { ClusterRuntime } from '../cluster/runtime.ts';
import { perGateway } from './per-gateway.ts';
import type { Gateway } from '../proxy/context.ts';
import type { ClientExchange } from '../proxy/exchange.ts';
import type { AccessRecord } from '../observe/access-log.ts';
import { UpstreamJSONClient } from '../upstream/review-client.ts';
import { forbiddenWatch } from './forbidden.ts';
import { SharedWatch, type SharedWatchHost } from './shared-watch.ts';
import { countForwarded, shareStats } from './stats.ts';
import { WatchAccess } from './watch-access.ts';
import { shareableWatch, WATCH_LIST_SUFFIX, type ShareableWatch } from './watch-key.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WindowLimits } from './window.ts';

/** Per key, at most this many upstream watches (a newer one opens for clients past the older's progress). */
const MAX_STREAMS_PER_KEY = 2;
/**
 * Per watch-list key, at most this many streams: each keeps the clients it answered (a
 * watch-list goes on as a watch), one more is sent per set of initial events.
 */
const MAX_WATCH_LISTS_PER_KEY = 64;
/** How often a watch-list's clients are offered to the plain stream (once a second). */
const HAND_OVER_TRIES = 30;
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
    const arrived = performance.now();
    const { cluster, x, record } = req;
    const w = shareableWatch(cluster.name, record.info, record.uri, x.headers);
    if (typeof w === 'string') {
      countForwarded(w);
      return false;
    }
    const access = await this.authorize(req, 'watch', w);
    if (access === 'review_failed') {
      // The review failed: the apiserver decides, as for any forwarded watch.
      countForwarded('review_failed');
      return false;
    }
    if (access === 'answered') return true;
    return w.watchList ? this.#joinWatchList(req, w, arrived) : this.join(req, w, null);
  }

  /**
   * A watch-list joins one whose request goes upstream after the client came (the answer is a
   * consistent read, as kube-apiserver's is); else a new one is made, which waits for the
   * newest one's initial events before it is sent, so the clients that come meanwhile share it.
   */
  async #joinWatchList(req: SharedWatchRequest, w: ShareableWatch, arrived: number): Promise<boolean> {
    const takes = (s: SharedWatch) => s.takesWatchList(arrived);
    return this.#joinOrOpen(req, w, {
      candidates: this.#streams.get(w.key) ?? [],
      worth: takes,
      seqIn: (s) => (takes(s) ? 0 : null),
      cap: MAX_WATCH_LISTS_PER_KEY,
      open: (now) => {
        const before = now.findLast((o) => o.inInitialEvents);
        const s = new SharedWatch(
          this.#host(req.cluster.name, req.subset),
          w,
          req.record.identity!,
          WINDOW_LIMITS,
          before?.initialDone ?? null,
        );
        void s.initialDone.then(() => this.#handOver(s, req.cluster.name, req.subset));
        return s;
      },
      initial: null,
      attached: () => shareStats.watchListsServed++,
    });
  }

  /**
   * After its initial events a watch-list's clients move to the plain stream of the same watch
   * (one that can serve from where they are, else a new one from the watch-list's progress), so
   * a key keeps at most MAX_STREAMS_PER_KEY upstream watches however many watch-lists it took.
   * Clients not level with the watch-list yet are tried again each second, for a while.
   */
  async #handOver(f: SharedWatch, clusterName: string, subset: readonly string[] | null): Promise<void> {
    const key = f.key.slice(0, -WATCH_LIST_SUFFIX.length);
    const over = () => f.state === 'done' || f.clients.size === 0;
    for (let i = 0; i < HAND_OVER_TRIES; i++) {
      if (i > 0) await sleep(1000);
      if (over()) return;
      const first = f.clients.values().next();
      if (first.done === true) return;
      // Chosen by where the watch-list is, not by its first client: one still being written its
      // state is behind the plain stream's start, and a second plain stream would open for it.
      let to = await this.#plainFor(key, f.progress);
      if (over()) return;
      if (to === undefined) {
        const now = this.#streams.get(key) ?? [];
        if (now.length >= MAX_STREAMS_PER_KEY) continue;
        const spec: ShareableWatch = { ...f.spec, key, watchList: false, rv: f.progress };
        to = new SharedWatch(this.#host(clusterName, subset), spec, first.value.identity, WINDOW_LIMITS);
        this.#streams.set(key, [...now, to]);
        if (!(await to.opened)) continue;
      }
      shareStats.watchListsMoved += f.clients.size - f.moveClientsTo(to);
      to.closeIfIdle();
    }
  }

  /**
   * The newest plain stream of `key` that can take a client level at `rv`. One still opening (as
   * another watch-list's hand-over opened it) is waited for: two watch-lists done at once would
   * otherwise open a plain stream each and keep both.
   */
  async #plainFor(key: string, rv: bigint): Promise<SharedWatch | undefined> {
    for (const s of (this.#streams.get(key) ?? []).toReversed()) {
      if (s.state === 'opening' && !(await s.opened)) continue;
      if (s.startFor(rv, true) !== null) return s;
    }
    return undefined;
  }

  /**
   * The client's own access review for `verb` on the request's resource: 'allowed'; 'answered' when
   * the client is gone or was refused (the apiserver's 403 written); 'review_failed' when the review
   * could not be made (the caller forwards).
   */
  async authorize(
    req: SharedWatchRequest,
    verb: 'watch' | 'list',
    selectors: { labelSelector: string; fieldSelector: string },
  ): Promise<'allowed' | 'answered' | 'review_failed'> {
    const { cluster, x, record } = req;
    const identity = record.identity!;
    const info = record.info;
    let decision;
    try {
      decision = await this.accessOf(cluster).decide(identity, {
        verb,
        group: info.apiGroup,
        version: info.apiVersion,
        resource: info.resource,
        namespace: info.namespace,
        name: info.name,
        labelSelector: selectors.labelSelector,
        fieldSelector: selectors.fieldSelector,
      });
    } catch {
      return 'review_failed';
    }
    if (x.gone) return 'answered';
    if (!decision.allowed) {
      if (verb === 'list') shareStats.listsRefused++;
      else shareStats.refused++;
      forbiddenWatch(x, record, identity.user, info, decision.why);
      return 'answered';
    }
    return 'allowed';
  }

  /**
   * Attaches an authorized client to a stream of `w.key` that can serve it from `w.rv` (opening one
   * if needed), after `initial` (see SharedWatch.attach); false when it must be forwarded.
   */
  async join(req: SharedWatchRequest, w: ShareableWatch, initial: Buffer | null): Promise<boolean> {
    return this.#joinOrOpen(req, w, {
      candidates: (this.#streams.get(w.key) ?? []).toReversed(),
      seqIn: (s) => s.startFor(w.rv),
      cap: MAX_STREAMS_PER_KEY,
      open: () =>
        new SharedWatch(this.#host(req.cluster.name, req.subset), w, req.record.identity!, WINDOW_LIMITS),
      initial,
    });
  }

  /**
   * Attaches the client to the first of `way.candidates` that can serve it (`seqIn` not null once
   * opened), else to a new stream `way.open` makes while the key has fewer than `way.cap`; false
   * (having written nothing) when it must be forwarded.
   */
  async #joinOrOpen(
    req: SharedWatchRequest,
    w: ShareableWatch,
    way: {
      candidates: readonly SharedWatch[];
      /** A stream not worth waiting for while it opens. */
      worth?: (s: SharedWatch) => boolean;
      seqIn: (s: SharedWatch) => number | null;
      cap: number;
      open: (now: readonly SharedWatch[]) => SharedWatch;
      initial: Buffer | null;
      attached?: () => void;
    },
  ): Promise<boolean> {
    const { x } = req;
    for (const s of way.candidates) {
      if (way.worth?.(s) === false) continue;
      if (s.state === 'opening' && !(await s.opened)) continue;
      if (x.gone) return true;
      const seq = way.seqIn(s);
      if (seq === null) continue;
      this.#attach(s, req, w, seq, way.initial);
      way.attached?.();
      return true;
    }
    const now = this.#streams.get(w.key) ?? [];
    if (now.length >= way.cap) {
      countForwarded('window');
      return false;
    }
    const s = way.open(now);
    this.#streams.set(w.key, [...now, s]);
    if (!(await s.opened)) {
      countForwarded('upstream_refused');
      return false;
    }
    if (x.gone) {
      s.closeIfIdle(); // the opener left while it opened
      return true;
    }
    const seq = way.seqIn(s);
    if (seq === null) {
      s.closeIfIdle();
      countForwarded('window');
      return false;
    }
    this.#attach(s, req, w, seq, way.initial);
    way.attached?.();
    return true;
  }

  #attach(
    s: SharedWatch,
    req: SharedWatchRequest,
    w: ShareableWatch,
    seq: number,
    initial: Buffer | null,
  ): void {
    req.record.upstream = s.endpointName;
    s.attach({ x: req.x, record: req.record }, w, req.record.identity!, seq, initial);
  }

  /** The access reviews of `cluster` (shared by its shared watches and cached lists). */
  accessOf(cluster: ClusterRuntime): WatchAccess {
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

/** The shared watches of `gw`, made on first use. */
export const watchSharesOf = perGateway((gw) => new WatchShares(gw));
