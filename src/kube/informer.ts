import type { Logger } from 'pino';
import { KubeAPIError, type KubeClient } from './client.ts';
import { watchStream, type WatchEvent } from './watch.ts';

/** The fields of an object the informer needs. */
export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
  };
}

const BACKOFF_MS = [200, 500, 1000, 2000, 5000];

/** A list answer as the informer reads it. */
export interface InformerList<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

/**
 * List+watch of one collection into a map by name; `onChange` runs (debounced a little, so a burst
 * of events is one rebuild) with the whole current set. Relists on 410 Gone and after errors, with
 * backoff. A missing collection (CRD not installed) is retried quietly.
 */
export class Informer<T extends KubeObject> {
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #onChange: (items: readonly T[]) => void;
  readonly #log: Logger;
  readonly #items = new Map<string, T>();
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | null = null;
  #synced: Promise<void>;
  #markSynced!: () => void;

  readonly #debounceMs: number;

  /** `debounceMs`: watch events within this window are one `onChange` (default 20 ms). */
  constructor(
    client: KubeClient,
    path: string,
    onChange: (items: readonly T[]) => void,
    log: Logger,
    debounceMs = 20,
  ) {
    this.#debounceMs = debounceMs;
    this.#client = client;
    this.#path = path;
    this.#onChange = onChange;
    this.#log = log;
    this.#synced = new Promise((r) => (this.#markSynced = r));
  }

  /**
   * Starts the loop; resolves after the first list was delivered (or failed once). `firstList`: the
   * collection's list already sent (a command that starts its lists before loading the rest); a
   * failed one is retried as any list is.
   */
  start(firstList?: Promise<InformerList<T>>): Promise<void> {
    void this.#run(firstList);
    return this.#synced;
  }

  get items(): readonly T[] {
    return [...this.#items.values()];
  }

  async #run(firstList?: Promise<InformerList<T>>): Promise<void> {
    let failures = 0;
    let sent = firstList;
    while (!this.#abort.signal.aborted) {
      try {
        const listing = sent ?? this.#client.json<InformerList<T>>('GET', this.#path);
        sent = undefined;
        const list = await listing;
        this.#items.clear();
        for (const o of list.items) this.#items.set(key(o), o);
        this.#emit(0);
        this.#markSynced();
        let rv = list.metadata.resourceVersion;
        failures = 0;
        for (;;) {
          if (this.#abort.signal.aborted) return;
          let gone = false;
          const sep = this.#path.includes('?') ? '&' : '?';
          await watchStream<T>(
            this.#client.target,
            this.#client.watchAgent,
            `${this.#path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}&timeoutSeconds=300`,
            (e: WatchEvent<T>) => {
              if (e.type === 'ERROR') {
                gone = (e.object as unknown as { code?: number }).code === 410;
                return;
              }
              if (e.object.metadata.resourceVersion) rv = e.object.metadata.resourceVersion;
              if (e.type === 'BOOKMARK') return;
              if (e.type === 'DELETED') this.#items.delete(key(e.object));
              else this.#items.set(key(e.object), e.object);
              this.#emit(this.#debounceMs);
            },
            this.#abort.signal,
          );
          if (gone) break; // relist
        }
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        const quiet = err instanceof KubeAPIError && err.status === 404;
        if (!quiet || failures === 0)
          this.#log.warn(
            { kind: 'informer', path: this.#path, err: (err as Error).message },
            'list/watch failed; retrying',
          );
        this.#markSynced();
        await new Promise((r) => setTimeout(r, BACKOFF_MS[Math.min(failures++, BACKOFF_MS.length - 1)]));
      }
    }
  }

  #emit(delayMs: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#onChange(this.items);
    }, delayMs);
  }

  stop(): void {
    this.#abort.abort();
    if (this.#timer) clearTimeout(this.#timer);
  }
}

function key(o: KubeObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}
