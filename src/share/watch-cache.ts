import { constants, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2';
import { impersonationHeaders } from '../auth/index.ts';
import type { ClusterRuntime } from '../cluster/runtime.ts';
import type { Identity } from '../request/types.ts';
import type { Endpoint } from '../upstream/endpoint.ts';
import type { WatchEvent } from './event.ts';
import type { FieldSelector } from './field-selector.ts';
import { JSONLayoutError, members } from './json-items.ts';
import { parseJSONList, type JSONList, type JSONListLayout } from './json-lists.ts';
import { JSONFrameReader } from './json-frames.ts';
import type { LabelSelector } from './label-selector.ts';
import type { ListForm } from './list-media.ts';
import {
  customResourceMetadataListBody,
  customResourceProtobufMetadataListBody,
  jsonMetadataListBody,
  protobufMetadataListBody,
} from './metadata-lists.ts';
import { ProtobufFrameReader } from './protobuf-frames.ts';
import {
  objectSummary,
  parseProtobufList,
  protobufEventObject,
  protobufListBody,
  type ObjectSummary,
} from './protobuf-items.ts';
import { shareStats } from './stats.ts';

/** What a watch cache needs from the gateway around it. */
export interface WatchCacheHost {
  /** The live runtime of the cache's cluster (undefined once it is removed). */
  cluster(): ClusterRuntime | undefined;
  /** The endpoint names the opening client's rule may use; null: all. */
  readonly subset: readonly string[] | null;
  /** The cache has ended: forget it. */
  forget(c: WatchCache): void;
  /** Something the operator should know (a list format the cache cannot reproduce). */
  warn(msg: string, fields: Record<string, unknown>): void;
}

/** One object of the collection, as a list item (the apiserver's bytes) and the fields selectors read. */
interface CachedObject {
  /** namespace/name (name for cluster-scoped objects): the order of the apiserver's watch cache. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly item: Buffer;
}

/**
 * Why a cache cannot serve now: still listing, relisting after a 410, a format it does not
 * reproduce, or a collection larger than its cap. The last two keep the cache (empty) until it
 * is idle, so the collection is not listed again for every list that is forwarded.
 */
export type CacheState = 'syncing' | 'ready' | 'relisting' | 'unsupported' | 'too_large' | 'done';

const LIST_TIMEOUT_MS = 60_000;
const RETRY_FOR_MS = 30_000;
const BACKOFF_MS = [0, 250, 500, 1000, 2000, 4000];
/** A cache no list has used this long stops (`KUBEGATE_SHARED_LIST_IDLE_MS` overrides it). */
const IDLE_MS = Number(process.env.KUBEGATE_SHARED_LIST_IDLE_MS) || 5 * 60_000;
/**
 * The most item bytes one cache holds (`KUBEGATE_SHARED_LIST_MAX_BYTES`, read as each cache opens,
 * overrides it): past it the objects are dropped and lists of the collection are forwarded, so one
 * huge collection cannot take the gateway's memory.
 */
const MAX_BYTES = 64 * 1024 * 1024;
/** At most this many list bodies (distinct selectors) are kept between changes. */
const MAX_BODIES = 32;

interface ObjectMeta {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

function jsonSummary(object: Buffer): ObjectSummary {
  const meta = (JSON.parse(object.toString('utf8')) as ObjectMeta).metadata ?? {};
  return { name: meta.name ?? '', namespace: meta.namespace ?? '', labels: meta.labels };
}

function cachedObject(item: Buffer, { name, namespace, labels }: ObjectSummary): CachedObject {
  return { key: namespace ? `${namespace}/${name}` : name, name, namespace, labels, item };
}

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const PROTOBUF_WATCH = 'application/vnd.kubernetes.protobuf;stream=watch';

const byKey = (a: CachedObject, b: CachedObject): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * The current objects of one collection (a URL path of one cluster), kept as kube-apiserver's
 * watch cache keeps them: a LIST, then a WATCH from its resourceVersion applying every event;
 * the watch resumes from the last resourceVersion when it ends, and a 410 relists. Lists with
 * `resourceVersion=0` are answered from it, in the watch cache's order (by key) and format.
 * The upstream requests run as the client that opened the cache (each client is authorized
 * as itself before it is served).
 */
export class WatchCache {
  readonly key: string;
  readonly path: string;
  /** Every event up to this resourceVersion is applied (the LIST's, then each event's and bookmark's). */
  rv = 0n;
  /** Whether the objects have namespaces (null until an object says; a namespaced path says yes). */
  namespaced: boolean | null;
  /** Resolves true once the first LIST is held, false when it failed or cannot be reproduced. */
  readonly synced: Promise<boolean>;
  /** When a list last used it (performance.now()). */
  lastUsed = performance.now();
  #state: CacheState = 'syncing';
  #resolveSynced!: (ok: boolean) => void;
  readonly #host: WatchCacheHost;
  readonly #identity: Identity;
  readonly #objects = new Map<string, CachedObject>();
  #sorted: CachedObject[] | null = null;
  /** List bodies by selectors, made from #bodiesOf at #bodiesRV. */
  readonly #bodies = new Map<string, Buffer>();
  #bodiesOf: CachedObject[] | null = null;
  #bodiesRV = -1n;
  /** The item bytes of #objects, and their cap. */
  #bytes = 0;
  readonly #maxBytes = Number(process.env.KUBEGATE_SHARED_LIST_MAX_BYTES) || MAX_BYTES;
  /** The `Accept` of its LIST and WATCH; the LIST's answer decides the format (JSON for custom resources). */
  readonly #accept: string;
  #protobuf = false;
  /** How its JSON lists are written (a built-in type's or a custom resource's); set by the first LIST. */
  #layout: JSONListLayout | null = null;
  /** A protobuf list's TypeMeta, as the apiserver wrote it. */
  #typeMeta = Buffer.alloc(0);
  #upstream: ClientHttp2Stream | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #retrySince = 0;
  #attempt = 0;
  readonly #idleTimer: NodeJS.Timeout;

  constructor(
    host: WatchCacheHost,
    key: string,
    path: string,
    namespaced: boolean,
    opener: Identity,
    accept = 'application/json',
  ) {
    this.#host = host;
    this.#accept = accept;
    this.key = key;
    this.path = path;
    this.namespaced = namespaced ? true : null;
    this.#identity = opener;
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
    this.#idleTimer = setInterval(this.#checkIdle, Math.min(IDLE_MS, 60_000));
    this.#idleTimer.unref();
    shareStats.listCaches++;
    void this.#list(null);
  }

  get state(): CacheState {
    return this.#state;
  }

  get size(): number {
    return this.#objects.size;
  }

  /** The media type of its lists. */
  get contentType(): string {
    return this.#protobuf ? PROTOBUF : 'application/json';
  }

  /**
   * Whether it makes lists in `form`: the objects always; their metadata in the encoding the
   * cache holds (`protobuf` or JSON), and a custom resource's (JSON) in both.
   */
  makes(form: ListForm, protobuf: boolean): boolean {
    return form === 'objects' || this.#protobuf === protobuf || this.#layout?.unstructured === true;
  }

  /** The media type of its lists in `form` (a custom resource's protobuf metadata list is made from JSON). */
  contentTypeOf(form: ListForm, protobuf: boolean): string {
    return form === 'metadata' && protobuf ? PROTOBUF : this.contentType;
  }

  /**
   * The list body kube-apiserver's watch cache would answer for these selectors now. `selectors`
   * (their text) keys the bodies made since the last change, so a herd of identical lists (every
   * kube-proxy after a restart) costs one body. Null: a custom resource's metadata list whose
   * metadata is not rebuilt exactly (object-meta-json.ts); it is forwarded.
   */
  listBody(
    labels: LabelSelector,
    fields: FieldSelector,
    selectors: string,
    form: ListForm = 'objects',
    protobuf = this.#protobuf,
  ): Buffer | null {
    this.lastUsed = performance.now();
    const sorted = (this.#sorted ??= [...this.#objects.values()].sort(byKey));
    if (this.#bodiesOf !== sorted || this.#bodiesRV !== this.rv || this.#bodies.size >= MAX_BODIES) {
      this.#bodies.clear();
      this.#bodiesOf = sorted;
      this.#bodiesRV = this.rv;
    }
    const held = this.#bodies.get(selectors);
    if (held !== undefined) return held;
    const body = this.#makeBody(sorted, labels, fields, form, protobuf);
    if (body !== null) this.#bodies.set(selectors, body);
    return body;
  }

  #makeBody(
    sorted: readonly CachedObject[],
    labels: LabelSelector,
    fields: FieldSelector,
    form: ListForm,
    protobuf: boolean,
  ): Buffer | null {
    if (this.#protobuf || form === 'metadata') {
      const items = sorted.filter((o) => labels.matches(o.labels) && fields.matches(o)).map((o) => o.item);
      if (form === 'metadata')
        return this.#protobuf
          ? protobufMetadataListBody(this.rv, items)
          : !this.#layout!.unstructured
            ? jsonMetadataListBody(this.rv, items)
            : protobuf
              ? customResourceProtobufMetadataListBody(this.rv, items)
              : customResourceMetadataListBody(this.rv, items);
      return protobufListBody(this.#typeMeta, this.rv, items);
    }
    const items = [];
    for (const o of sorted) if (labels.matches(o.labels) && fields.matches(o)) items.push(o.item);
    return this.#layout!.body(this.rv, items);
  }

  /**
   * What kube-apiserver's watch cache sends a watch from resourceVersion 0 first: an ADDED event
   * for each object the selectors match, in key order, each object with `kind` and `apiVersion`
   * first as in any watch event; `rv` is the point they describe (the stream goes on after it).
   */
  initialEvents(labels: LabelSelector, fields: FieldSelector): { rv: bigint; bytes: Buffer } {
    this.lastUsed = performance.now();
    const sorted = (this.#sorted ??= [...this.#objects.values()].sort(byKey));
    const parts: Buffer[] = [];
    for (const o of sorted) {
      if (!labels.matches(o.labels) || !fields.matches(o)) continue;
      parts.push(...this.#layout!.added(o.item));
    }
    return { rv: this.rv, bytes: Buffer.concat(parts) };
  }

  /** Stops the upstream watch and forgets the objects. */
  stop(): void {
    if (this.#state === 'done') return;
    const syncing = this.#state === 'syncing';
    this.#state = 'done';
    if (syncing) this.#resolveSynced(false);
    clearInterval(this.#idleTimer);
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#cancelUpstream();
    this.#objects.clear();
    this.#bytes = 0;
    this.#sorted = null;
    this.#bodies.clear();
    shareStats.listCaches--;
    this.#host.forget(this);
  }

  readonly #checkIdle = (): void => {
    if (performance.now() - this.lastUsed > IDLE_MS) this.stop();
  };

  #cancelUpstream(): void {
    const s = this.#upstream;
    this.#upstream = null;
    if (s !== null && !s.closed) s.close(constants.NGHTTP2_CANCEL);
  }

  #headers(cluster: ClusterRuntime, ep: Endpoint, path: string): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {
      ':method': 'GET',
      ':path': path,
      ':authority': ep.url.host,
      accept: this.#accept,
      'user-agent': 'kubegate (watch cache)',
    };
    if (cluster.upstreamToken) out.authorization = `Bearer ${cluster.upstreamToken}`;
    for (const [k, v] of impersonationHeaders(this.#identity)) {
      const prev = out[k];
      out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [String(prev), v];
    }
    return out;
  }

  #pick(longRunning: boolean, exclude: Endpoint | null): { cluster: ClusterRuntime; ep: Endpoint } | null {
    const cluster = this.#host.cluster();
    if (cluster === undefined) return null;
    const subset = this.#host.subset === null ? undefined : cluster.upstream.subset(this.#host.subset);
    const ep = cluster.upstream.pick(longRunning, exclude ?? undefined, subset);
    return ep === null ? null : { cluster, ep };
  }

  /** A consistent LIST (no resourceVersion: the latest state), then the watch from its resourceVersion. */
  async #list(exclude: Endpoint | null): Promise<void> {
    const picked = this.#pick(false, exclude);
    if (picked === null) return this.#failed('list', 0, null);
    const { cluster, ep } = picked;
    let h2;
    try {
      h2 = await ep.pool.acquire(false);
    } catch {
      cluster.upstream.eject(ep);
      return this.#failed('list', 0, ep);
    }
    if (this.#state === 'done') return ep.pool.release(h2, false);
    let s: ClientHttp2Stream;
    try {
      s = h2.request(this.#headers(cluster, ep, this.path), { endStream: true });
    } catch {
      ep.pool.release(h2, false);
      return this.#failed('list', 0, ep);
    }
    ep.inflight++;
    ep.requests++;
    this.#upstream = s;
    s.setTimeout(LIST_TIMEOUT_MS, () => s.close(constants.NGHTTP2_CANCEL));
    let status = 0;
    let protobuf = false;
    const chunks: Buffer[] = [];
    s.on('error', () => {}); // 'close' follows and decides
    s.once('response', (h) => {
      status = Number(h[':status']);
      protobuf = h['content-type'] === PROTOBUF;
    });
    s.on('data', (c: Buffer) => chunks.push(c));
    s.once('close', () => {
      ep.pool.release(h2, false);
      ep.inflight--;
      if (this.#upstream !== s) return;
      this.#upstream = null;
      if (this.#state === 'done') return;
      if (status !== 200 || !s.readableEnded) return this.#failed('list', status, ep);
      const body = Buffer.concat(chunks);
      if (protobuf) this.#listedProtobuf(body, ep);
      else this.#listed(body, ep);
    });
  }

  #listed(body: Buffer, ep: Endpoint): void {
    let list: JSONList;
    let objects: CachedObject[];
    try {
      list = parseJSONList(body);
      objects = list.items.map((item) => {
        const copy = Buffer.from(item);
        return cachedObject(copy, jsonSummary(copy));
      });
    } catch (err) {
      return this.#unsupported(err as Error);
    }
    this.#layout = list.layout;
    this.#protobuf = false;
    this.#hold(objects, list.rv, ep);
  }

  #listedProtobuf(body: Buffer, ep: Endpoint): void {
    let list;
    let objects: CachedObject[];
    try {
      list = parseProtobufList(body);
      objects = list.items.map((item) => {
        const copy = Buffer.from(item);
        return cachedObject(copy, objectSummary(copy));
      });
    } catch (err) {
      return this.#unsupported(err as Error);
    }
    this.#typeMeta = Buffer.from(list.typeMeta);
    this.#protobuf = true;
    this.#hold(objects, list.rv!, ep);
  }

  /** A list it cannot reproduce: lists of the collection are forwarded. */
  #unsupported(err: Error): void {
    this.#host.warn('a list could not be cached; lists of it are forwarded', {
      path: this.path,
      err: err.message,
    });
    const syncing = this.#state === 'syncing';
    this.#state = 'unsupported';
    if (syncing) this.#resolveSynced(false);
  }

  /** The listed objects at `rv` are the cache's; then the watch from there. */
  #hold(objects: CachedObject[], rv: bigint, ep: Endpoint): void {
    this.#objects.clear();
    this.#bytes = 0;
    for (const o of objects) {
      this.#objects.set(o.key, o);
      this.#bytes += o.item.length;
      if (o.namespace !== '') this.namespaced = true;
    }
    this.#sorted = null;
    if (this.#bytes > this.#maxBytes) return this.#tooLarge();
    this.rv = rv;
    const syncing = this.#state === 'syncing';
    this.#state = 'ready';
    this.#attempt = 0;
    if (syncing) this.#resolveSynced(true);
    shareStats.listSyncs++;
    void this.#watch(ep);
  }

  /** The WATCH from `rv` (bookmarks on), applying each event; `prefer`: the endpoint just listed from. */
  async #watch(prefer: Endpoint | null, exclude: Endpoint | null = null): Promise<void> {
    const picked =
      prefer !== null && prefer.healthy
        ? { cluster: this.#host.cluster(), ep: prefer }
        : this.#pick(true, exclude);
    if (picked === null || picked.cluster === undefined) return this.#failed('watch', 0, null);
    const { cluster, ep } = picked;
    let h2;
    try {
      h2 = await ep.pool.acquire(true);
    } catch {
      cluster.upstream.eject(ep);
      return this.#failed('watch', 0, ep);
    }
    if (this.#state === 'done') return ep.pool.release(h2, true);
    const q = `?watch=true&resourceVersion=${this.rv}&allowWatchBookmarks=true`;
    let s: ClientHttp2Stream;
    try {
      s = h2.request(this.#headers(cluster, ep, this.path + q), { endStream: true });
    } catch {
      ep.pool.release(h2, true);
      return this.#failed('watch', 0, ep);
    }
    ep.longRunning++;
    ep.requests++;
    this.#upstream = s;
    const protobuf = this.#protobuf;
    const reader = protobuf ? new ProtobufFrameReader(this.rv) : new JSONFrameReader(this.rv);
    const away = (): void => {
      if (this.#upstream === s) s.close(constants.NGHTTP2_CANCEL);
    };
    h2.once('goaway', away);
    ep.watches.add(away);
    let status = 0;
    s.on('error', () => {});
    s.once('response', (h) => {
      status = Number(h[':status']);
      // A watch must come as the list did: else the cache cannot go on (`failed` decides).
      if (status === 200 && (h['content-type'] === PROTOBUF_WATCH) !== protobuf) status = 415;
      if (status !== 200) {
        s.close(constants.NGHTTP2_CANCEL);
        return;
      }
      this.#attempt = 0;
      s.on('data', (chunk: Buffer) => {
        if (this.#upstream !== s) return;
        try {
          reader.push(chunk, this.#apply);
        } catch (err) {
          this.#host.warn('a watch event could not be applied; the collection is listed again', {
            path: this.path,
            err: (err as Error).message,
          });
          this.#relist();
        }
      });
    });
    s.once('close', () => {
      ep.pool.release(h2, true);
      ep.longRunning--;
      h2.off('goaway', away);
      ep.watches.delete(away);
      if (this.#upstream !== s) return;
      this.#upstream = null;
      if (this.#state !== 'ready') return;
      if (status === 410) return this.#relist();
      if (status !== 200) return this.#failed('watch', status, ep);
      // The apiserver ended the watch (its timeout, a restart): resume from rv elsewhere.
      this.#retrySince = performance.now();
      this.#schedule(() => void this.#watch(null, ep));
    });
  }

  readonly #apply = (e: WatchEvent): void => {
    if (this.#state !== 'ready') return;
    if (e.kind === 'error') return this.#relist(); // 410 Gone after a compaction…
    if (e.kind === 'event') {
      let t: string;
      let o: CachedObject;
      if (this.#protobuf) {
        const ev = protobufEventObject(e.bytes);
        t = ev.type;
        const item = Buffer.from(ev.item);
        o = cachedObject(item, objectSummary(item));
      } else [t, o] = jsonEvent(e.bytes, this.#layout!);
      if (t !== 'DELETED' && t !== 'ADDED' && t !== 'MODIFIED')
        throw new JSONLayoutError(`a watch event of type ${t}`);
      this.#bytes -= this.#objects.get(o.key)?.item.length ?? 0;
      if (t === 'DELETED') this.#objects.delete(o.key);
      else {
        this.#objects.set(o.key, o);
        this.#bytes += o.item.length;
      }
      if (o.namespace !== '') this.namespaced = true;
      this.#sorted = null;
      if (this.#bytes > this.#maxBytes) return this.#tooLarge();
    }
    if (e.rv > this.rv) this.rv = e.rv;
  };

  /** Past the cap: the objects go, the watch stops, lists are forwarded until the cache is idle. */
  #tooLarge(): void {
    this.#host.warn('a collection is larger than a cached list may be; lists of it are forwarded', {
      path: this.path,
      bytes: this.#bytes,
      maxBytes: this.#maxBytes,
    });
    this.#cancelUpstream();
    this.#objects.clear();
    this.#bytes = 0;
    this.#sorted = null;
    this.#bodies.clear();
    const syncing = this.#state === 'syncing';
    this.#state = 'too_large';
    if (syncing) this.#resolveSynced(false);
  }

  /** The watch cannot go on from rv (410, an event it cannot read): list again; lists are forwarded meanwhile. */
  #relist(): void {
    this.#cancelUpstream();
    this.#state = 'relisting';
    this.#retrySince = performance.now();
    this.#attempt = 0;
    shareStats.listRelists++;
    this.#schedule(() => void this.#list(null));
  }

  /**
   * A LIST or WATCH failed. The first LIST's failure ends the cache (its clients are forwarded and
   * get the apiserver's answer); later ones retry with back-off for a while on another endpoint
   * (429, 5xx, unreachable), else the cache stops and the next list opens a new one.
   */
  #failed(what: 'list' | 'watch', status: number, ep: Endpoint | null): void {
    if (this.#state === 'done' || this.#state === 'unsupported' || this.#state === 'too_large') return;
    if (this.#state === 'syncing') return this.stop();
    const retriable = status === 0 || status === 429 || status >= 500;
    if (this.#attempt === 0) this.#retrySince = performance.now();
    if (!retriable || performance.now() - this.#retrySince > RETRY_FOR_MS) {
      this.#host.warn('a watch cache could not go on; it stops', { path: this.path, what, status });
      return this.stop();
    }
    if (what === 'list') this.#schedule(() => void this.#list(ep));
    else this.#schedule(() => void this.#watch(null, ep));
  }

  #schedule(fn: () => void): void {
    const delay = BACKOFF_MS[Math.min(this.#attempt, BACKOFF_MS.length - 1)];
    this.#attempt++;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#state === 'ready' || this.#state === 'relisting') fn();
    }, delay);
    // A retry never holds the process open (a stopped gateway's cache just fails its last tries).
    this.#retryTimer.unref();
  }
}

/** The type and object (as a list item) of one JSON watch event. */
function jsonEvent(bytes: Buffer, layout: JSONListLayout): [string, CachedObject] {
  const m = members(bytes);
  const type = m.find((x) => x.name === 'type');
  const obj = m.find((x) => x.name === 'object');
  if (type === undefined || obj === undefined)
    throw new JSONLayoutError('a watch event without type or object');
  const object = bytes.subarray(obj.start, obj.end);
  return [
    JSON.parse(bytes.toString('utf8', type.start, type.end)) as string,
    cachedObject(layout.item(object), jsonSummary(object)),
  ];
}
