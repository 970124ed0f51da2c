import {
  constants,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { impersonationHeaders } from '../auth/index.ts';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import type { Identity } from '../request/types.ts';
import type { Endpoint } from '../upstream/endpoint.ts';
import { endEvent, type FrameReader, type WatchEvent } from './event.ts';
import { CBORFrameReader } from './cbor-frames.ts';
import { JSONFrameReader } from './json-frames.ts';
import { ProtobufFrameReader } from './protobuf-frames.ts';
import { shareStats } from './stats.ts';
import type { ShareableWatch } from './watch-key.ts';
import { WatchClient, type ClientSink } from './watch-client.ts';
import { EventWindow, type WindowLimits } from './window.ts';

/** What a shared watch needs from the gateway around it. */
export interface SharedWatchHost {
  /** The live runtime of the stream's cluster (undefined once it is removed). */
  cluster(): ClusterRuntime | undefined;
  /** The endpoint names the opening client's rule may use; null: all. */
  readonly subset: readonly string[] | null;
  /** The stream has ended: forget it. */
  forget(w: SharedWatch): void;
  /** Something the operator should know (an upstream that cannot be resumed). */
  warn(msg: string, fields: Record<string, unknown>): void;
}

/** The annotation of the BOOKMARK that ends a watch-list's initial events (in JSON and protobuf alike). */
const INITIAL_EVENTS_END = Buffer.from('k8s.io/initial-events-end');
/** A watch-list request waits at most this long for the one before it to have its initial events. */
const CHAIN_WAIT_MS = 2000;

/** How long the stream tries to resume before it ends its clients (they re-watch themselves). */
const RESUME_FOR_MS = 30_000;
const RESUME_BACKOFF_MS = [0, 250, 500, 1000, 2000, 4000];

// Response headers of the upstream's answer that belong to that one request, not to a client's.
const OWN_HEADERS = new Set([
  ':status',
  'audit-id',
  'date',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'x-kubernetes-pf-flowschema-uid',
  'x-kubernetes-pf-prioritylevel-uid',
]);

type State = 'opening' | 'live' | 'resuming' | 'done';

/**
 * One upstream watch (JSON, protobuf or CBOR, as the key says) shared by every client with the
 * same key on this worker. The events go into a bounded window in the apiserver's order, framed
 * and read once; each client is written the
 * same bytes from its own resourceVersion on. When the upstream watch ends (the apiserver's own
 * timeout, a restart, GOAWAY, a lost connection) it is resumed from the last resourceVersion on
 * another replica, so clients see neither gap nor duplicate; an apiserver `Status` in the stream
 * (410 Gone…) goes to every client as it came, and their responses end.
 */
export class SharedWatch {
  readonly key: string;
  readonly spec: ShareableWatch;
  readonly window: EventWindow;
  readonly clients = new Set<WatchClient>();
  /** Every event up to this resourceVersion was received (the start, or the last event or bookmark). */
  progress: bigint;
  /** Resolves true once the first upstream answer is a 200, false when it is not (clients then forward). */
  readonly opened: Promise<boolean>;
  #state: State = 'opening';
  #resolveOpened!: (ok: boolean) => void;
  readonly #host: SharedWatchHost;
  #frames: FrameReader | null = null;
  #upstream: ClientHttp2Stream | null = null;
  #endpoint: Endpoint | null = null;
  #clientHeaders: OutgoingHttpHeaders = {};
  #resumeTimer: NodeJS.Timeout | null = null;
  #resumeSince = 0;
  #attempt = 0;
  /** A watch-list stream: when its request went upstream (performance.now()), null before. */
  #sentAt: number | null = null;
  /** A watch-list stream before its initial-events-end bookmark. */
  #initial: boolean;
  #resolveInitialDone!: () => void;
  /** Resolves once a watch-list stream has had its initial events (or ended); at once for others. */
  readonly initialDone: Promise<void>;

  /**
   * `after`: a watch-list stream sends its request once that resolves (the previous watch-list of
   * its key has its initial events) or after CHAIN_WAIT_MS, so the clients that come meanwhile
   * share it.
   */
  constructor(
    host: SharedWatchHost,
    spec: ShareableWatch,
    opener: Identity,
    limits: WindowLimits,
    after: Promise<void> | null = null,
  ) {
    this.#host = host;
    this.key = spec.key;
    this.spec = spec;
    this.progress = spec.rv;
    this.window = new EventWindow(limits, spec.rv);
    this.opened = new Promise((resolve) => (this.#resolveOpened = resolve));
    this.#initial = spec.watchList;
    this.initialDone = new Promise((resolve) => (this.#resolveInitialDone = resolve));
    if (!spec.watchList) this.#resolveInitialDone();
    if (after === null) void this.#connect(opener, null);
    else {
      let timer: NodeJS.Timeout | undefined;
      const wait = new Promise<void>((r) => (timer = setTimeout(r, CHAIN_WAIT_MS)));
      void Promise.race([after, wait]).then(() => {
        clearTimeout(timer);
        return this.#connect(opener, null);
      });
    }
  }

  /**
   * Whether a watch-list client that arrived at `arrived` (performance.now()) gets its answer from
   * this stream: only if the request went upstream after it came (kube-apiserver answers a
   * watch-list with a consistent read, so the state must be at least that recent) and every
   * initial event is still in the window.
   */
  takesWatchList(arrived: number): boolean {
    return (
      this.#initial &&
      this.#state !== 'done' &&
      (this.#sentAt === null || arrived <= this.#sentAt) &&
      this.window.firstSeq === 0
    );
  }

  /** A watch-list stream that has not had all its initial events yet. */
  get inInitialEvents(): boolean {
    return this.#initial && this.#state !== 'done';
  }

  get state(): State {
    return this.#state;
  }

  /** The endpoint serving the upstream watch now (for the access log), if any. */
  get endpointName(): string | null {
    return this.#endpoint?.name ?? null;
  }

  /**
   * The sequence number a client starting after `rv` begins at, or null when this stream cannot
   * serve it exactly: events it needs left the window, or `rv` is past what the stream has
   * seen (the apiserver may not have reached it: a direct watch is then the one that answers).
   * `reached`: the apiserver is known to have reached `rv` (it ended a watch-list's consistent
   * read), so a stream behind it serves the client from its next event on, skipping those at or
   * below `rv` (they were in the client's initial state).
   */
  startFor(rv: bigint, reached = false): number | null {
    if (this.#state !== 'live' && this.#state !== 'resuming') return null;
    if (rv > this.progress && !reached) return null;
    return this.window.startAfter(rv);
  }

  /**
   * Attaches a client at `seq` (from `startFor`) and sends it the response head, `initial` (the
   * current state as ADDED frames, for a watch from resourceVersion 0) and its backlog.
   */
  attach(
    sink: ClientSink,
    spec: ShareableWatch,
    identity: Identity,
    seq: number,
    initial: Buffer | null = null,
  ): WatchClient {
    const c = new WatchClient(this, sink, spec, identity, seq);
    this.clients.add(c);
    shareStats.clientWatches++;
    sink.x.respond(200, { ...this.#clientHeaders }, true);
    if (initial !== null && initial.length > 0) c.write(initial);
    this.pump(c);
    return c;
  }

  /**
   * Moves the clients that are level with this stream (a watch-list past its initial events) to
   * `to`, a plain stream of the same watch, where each resumes after the last resourceVersion it
   * was written; the stream closes when none is left. Returns how many stay.
   */
  moveClientsTo(to: SharedWatch): number {
    if (this.#initial) return this.clients.size;
    for (const c of [...this.clients]) {
      if (c.blocked || c.done || c.seq < this.window.nextSeq) continue;
      const seq = to.startFor(c.lastRV, true);
      if (seq === null) continue;
      this.clients.delete(c);
      to.clients.add(c);
      c.rebind(to, seq);
      to.pump(c);
    }
    if (this.clients.size === 0) this.#close();
    return this.clients.size;
  }

  /** Ends the stream when no client is attached (an opener that left before it was attached). */
  closeIfIdle(): void {
    if (this.clients.size === 0) this.#close();
  }

  /** A client's response is over (ended, timed out, evicted, or the client left). */
  detach(c: WatchClient): void {
    if (!this.clients.delete(c)) return;
    shareStats.clientWatches--;
    if (this.clients.size === 0) this.#close();
  }

  /** Writes `c` the events it has not had, until its buffer is full or it is level with the stream. */
  pump(c: WatchClient): void {
    const w = this.window;
    while (!c.blocked && !c.done && c.seq < w.nextSeq) {
      const e = w.at(c.seq);
      if (e === undefined) {
        // Fell out of the window while its buffer was full: closed cleanly, it re-watches.
        shareStats.evictions++;
        c.end('fell behind the shared watch window');
        return;
      }
      c.seq++;
      if (e.kind === 'end') {
        c.end(null);
        return;
      }
      if (e.kind === 'error') {
        c.write(e.bytes);
        c.end(null);
        return;
      }
      if (e.rv <= c.rv || (e.kind === 'bookmark' && !c.bookmarks)) continue;
      shareStats.eventsFannedOut++;
      if (e.rv > c.lastRV) c.lastRV = e.rv;
      c.write(e.bytes);
    }
  }

  #fanOut(e: WatchEvent): void {
    this.window.push(e);
    const first = this.window.firstSeq;
    for (const c of this.clients) {
      if (c.blocked) {
        if (c.seq < first) {
          shareStats.evictions++;
          c.end('fell behind the shared watch window');
        }
      } else this.pump(c);
    }
  }

  readonly #onData = (chunk: Buffer): void => {
    try {
      this.#frames!.push(chunk, this.#onEvent);
    } catch (err) {
      this.#host.warn('a shared watch stream could not be read; its clients re-watch', {
        key: this.key.replaceAll('\u0000', ' '),
        err: (err as Error).message,
      });
      this.#finish();
    }
  };

  readonly #onEvent = (e: WatchEvent): void => {
    if (this.#state === 'done') return;
    if (e.kind !== 'error') {
      if (e.rv > this.progress) this.progress = e.rv;
      if (this.#initial && e.kind === 'bookmark' && e.bytes.includes(INITIAL_EVENTS_END)) {
        // From here on a resume is a plain watch from `progress`.
        this.#initial = false;
        this.#resolveInitialDone();
      }
      this.#fanOut(e);
      return;
    }
    // The apiserver's Status in the stream (410 Gone after a compaction, an internal error): the
    // watch is over for everyone, exactly as it would be for each direct client.
    this.#setDone();
    this.#fanOut(e);
    this.#stopUpstream();
    this.#host.forget(this);
  };

  /** Ends every client cleanly (each re-watches from its own resourceVersion) and the stream. */
  #finish(): void {
    if (this.#state === 'done') return;
    this.#setDone();
    this.#fanOut(endEvent(this.progress));
    this.#stopUpstream();
    this.#host.forget(this);
  }

  /** No client left: the upstream watch is cancelled. */
  #close(): void {
    if (this.#state === 'done' || this.#state === 'opening') return;
    this.#setDone();
    this.#stopUpstream();
    this.#host.forget(this);
  }

  /** The stream is over: an opening one tells its waiting clients to forward; nobody waits on its initial events. */
  #setDone(): void {
    if (this.#state === 'opening') this.#resolveOpened(false);
    this.#state = 'done';
    this.#resolveInitialDone();
  }

  #stopUpstream(): void {
    if (this.#resumeTimer !== null) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = null;
    const s = this.#upstream;
    this.#upstream = null;
    if (s !== null && !s.closed) s.close(constants.NGHTTP2_CANCEL);
  }

  /** Opens the upstream watch from `progress` as `identity`, on an endpoint other than `exclude` if any. */
  async #connect(identity: Identity, exclude: Endpoint | null): Promise<void> {
    const cluster = this.#host.cluster();
    if (cluster === undefined) return this.#failed('unreachable', 0);
    const subset = this.#host.subset === null ? undefined : cluster.upstream.subset(this.#host.subset);
    const ep = cluster.upstream.pick(true, exclude ?? undefined, subset);
    if (ep === null) return this.#failed('unreachable', 0);
    let h2;
    try {
      h2 = await ep.pool.acquire(true);
    } catch {
      cluster.upstream.eject(ep);
      return this.#failed('unreachable', 0, ep);
    }
    if (this.#state === 'done') {
      ep.pool.release(h2, true);
      return;
    }
    let s: ClientHttp2Stream;
    try {
      s = h2.request(this.#requestHeaders(cluster, ep, identity), { endStream: true });
    } catch {
      ep.pool.release(h2, true);
      return this.#failed('unreachable', 0, ep);
    }
    ep.longRunning++;
    ep.requests++;
    this.#upstream = s;
    this.#endpoint = ep;
    shareStats.upstreamWatches++;
    if (this.#initial && this.#sentAt === null) {
      this.#sentAt = performance.now();
      shareStats.watchListsUpstream++;
    }
    // kube-apiserver going away (GOAWAY) or the endpoint retired by a reload: resume elsewhere now.
    const away = (): void => {
      if (this.#upstream === s) s.close(constants.NGHTTP2_CANCEL);
    };
    h2.once('goaway', away);
    ep.watches.add(away);
    s.on('error', () => {}); // 'close' follows and decides
    s.once('close', () => {
      ep.pool.release(h2, true);
      ep.longRunning--;
      shareStats.upstreamWatches--;
      h2.off('goaway', away);
      ep.watches.delete(away);
      if (this.#upstream === s) this.#upstreamGone(ep);
    });
    s.once('response', (headers: IncomingHttpHeaders) => {
      const status = Number(headers[':status']);
      const reader = this.#frames ?? frameReader(headers['content-type'], this.progress);
      // A resumed watch must come in the media type the clients were answered with.
      const changed =
        this.#frames !== null && headers['content-type'] !== this.#clientHeaders['content-type'];
      if (status !== 200 || reader === null || changed) {
        this.#upstream = null;
        s.close(constants.NGHTTP2_CANCEL);
        this.#failed('refused', status, ep);
        return;
      }
      this.#frames = reader;
      this.#attempt = 0;
      s.on('data', this.#onData);
      if (this.#state === 'opening') {
        this.#clientHeaders = clientHeaders(headers);
        this.#state = 'live';
        this.#resolveOpened(true);
      } else if (this.#state === 'resuming') {
        this.#state = 'live';
        shareStats.resumes++;
      }
    });
  }

  #requestHeaders(cluster: ClusterRuntime, ep: Endpoint, identity: Identity): OutgoingHttpHeaders {
    const q = new URLSearchParams();
    q.set('watch', 'true');
    if (this.spec.labelSelector) q.set('labelSelector', this.spec.labelSelector);
    if (this.spec.fieldSelector) q.set('fieldSelector', this.spec.fieldSelector);
    q.set('allowWatchBookmarks', 'true');
    if (this.#initial) {
      q.set('sendInitialEvents', 'true');
      q.set('resourceVersionMatch', 'NotOlderThan');
    } else q.set('resourceVersion', String(this.progress));
    const out: OutgoingHttpHeaders = {
      ':method': 'GET',
      ':path': `${this.spec.path}?${q.toString()}`,
      ':authority': ep.url.host,
      accept: this.spec.accept,
      'user-agent': 'kubegate (shared watch)',
    };
    if (cluster.upstreamToken) out.authorization = `Bearer ${cluster.upstreamToken}`;
    for (const [k, v] of impersonationHeaders(identity)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    return out;
  }

  /** The upstream watch ended while clients still listen: resume from `progress`. */
  #upstreamGone(ep: Endpoint): void {
    this.#upstream = null;
    this.#frames?.reset();
    if (this.#state === 'done') return;
    if (this.#state === 'opening') {
      // Closed before any answer: the opening clients go to the apiserver themselves.
      this.#setDone();
      this.#host.forget(this);
      return;
    }
    if (this.clients.size === 0) return this.#close();
    // Cut during its initial events: the state cannot be finished from a resourceVersion. The
    // clients end cleanly and watch-list again.
    if (this.#initial) return this.#finish();
    if (this.#state === 'resuming') return this.#failed('unreachable', 0, ep); // a resume cut short
    this.#state = 'resuming';
    this.#resumeSince = performance.now();
    this.#attempt = 0;
    this.#scheduleResume(ep);
  }

  /**
   * The upstream could not be opened. At the start the clients forward instead (each then gets
   * the apiserver's own answer); later the stream retries with back-off for a while, on another
   * endpoint, then ends its clients cleanly.
   */
  #failed(why: 'unreachable' | 'refused', status: number, ep?: Endpoint): void {
    if (this.#state === 'done') return;
    if (this.#state === 'opening') {
      this.#setDone();
      this.#host.forget(this);
      return;
    }
    // A refusal other than overload (403 for the identity resumed as, 410 for the resourceVersion…)
    // is the apiserver's answer to this watch: the clients re-watch and get it themselves.
    const retriable = why === 'unreachable' || status === 429 || status >= 500;
    if (!retriable || performance.now() - this.#resumeSince > RESUME_FOR_MS) {
      this.#host.warn('a shared watch could not be resumed; its clients re-watch', {
        key: this.key.replaceAll('\u0000', ' '),
        why,
        status,
      });
      this.#finish();
      return;
    }
    this.#scheduleResume(ep ?? null);
  }

  #scheduleResume(exclude: Endpoint | null): void {
    const delay = RESUME_BACKOFF_MS[Math.min(this.#attempt, RESUME_BACKOFF_MS.length - 1)];
    this.#attempt++;
    this.#resumeTimer = setTimeout(() => {
      this.#resumeTimer = null;
      const first = this.clients.values().next();
      if (first.done === true || this.#state !== 'resuming') return;
      // Resumed as a client still attached: each was authorized to watch this (see WatchAccess).
      void this.#connect(first.value.identity, exclude);
    }, delay);
  }
}

/** A reader for the stream's media type (JSON, protobuf or CBOR); null for any other: not shared. */
function frameReader(contentType: string | undefined, rv: bigint): FrameReader | null {
  const t = (contentType ?? '').toLowerCase().replaceAll(' ', '');
  if (t === 'application/json' || t.startsWith('application/json;')) return new JSONFrameReader(rv);
  if (t === 'application/vnd.kubernetes.protobuf;stream=watch') return new ProtobufFrameReader(rv);
  if (t === 'application/cbor-seq') return new CBORFrameReader(rv);
  return null;
}

function clientHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (OWN_HEADERS.has(name)) continue;
    const v = upstream[name];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
