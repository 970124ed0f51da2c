import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { Informer, type KubeObject } from '../kube/informer.ts';
import type { ClusterConfig } from './model.ts';
import type { Defaults } from './schema/cluster.ts';

/**
 * Clusters defined by custom resources of one kind: list+watch, and a rebuild of the whole set on
 * every change, serialized, so a slow rebuild is never overtaken by the next one. Subclasses say how
 * an object becomes a `ClusterConfig` (`rebuild`).
 */
export abstract class ObjectClusterSource<T extends KubeObject> {
  protected readonly client: KubeClient;
  protected readonly informer: Informer<T>;
  protected readonly apply: (clusters: readonly ClusterConfig[]) => Promise<void>;
  protected readonly log: Logger;
  /** The file's `defaults`, applied to every object's cluster. */
  protected defaults: Defaults;
  /** Cluster names the file defines: the file wins a clash. */
  protected reserved: ReadonlySet<string>;
  /** Object versions rejected (each once), for metrics. */
  rejections = 0;
  readonly #source: string;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    client: KubeClient,
    path: string,
    source: string,
    defaults: Defaults,
    reserved: ReadonlySet<string>,
    apply: (clusters: readonly ClusterConfig[]) => Promise<void>,
    log: Logger,
  ) {
    this.client = client;
    this.#source = source;
    this.defaults = defaults;
    this.reserved = reserved;
    this.apply = apply;
    this.log = log;
    this.informer = new Informer<T>(client, path, () => void this.sync(), log);
  }

  /** Starts list+watch; resolves once the first list was applied. */
  async start(): Promise<void> {
    await this.informer.start();
    await this.#queue;
  }

  /** New file defaults or file cluster names: re-evaluates every object. */
  update(defaults: Defaults, reserved: ReadonlySet<string>): Promise<void> {
    this.defaults = defaults;
    this.reserved = reserved;
    return this.sync();
  }

  /** Queues a rebuild after the ones already queued. */
  protected sync(): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.rebuild())
      .catch((err: unknown) =>
        this.log.error({ kind: 'config', source: this.#source, err: (err as Error).message }, 'sync failed'),
      );
    return this.#queue;
  }

  /** Turns the informer's current objects into clusters and hands them to `apply`. */
  protected abstract rebuild(): Promise<void>;

  stop(): void {
    this.informer.stop();
  }
}
