import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { SharedLimitRegistry, type SharedLimitsDelta } from '../cluster/shared-limits.ts';
import type { ClusterConfig, GatewayConfig } from '../config/model.ts';
import { configVersionOf } from '../gateway.ts';
import { allocateSharedKeyedCap, allocateSharedPenaltyBox } from '../policy/index.ts';
import { startAdminServer, type AdminServer, type AdminView } from '../observe/admin.ts';
import { GatewayMetrics, type ConfigSourceState } from '../observe/metrics.ts';
import { type Command, type ListenerPorts, packConfig, type Reply, type WorkerData } from './messages.ts';

const WORKER_MAIN = new URL('./worker-main.ts', import.meta.url);

/** A command without its id (the thread numbers them). */
type Body = Command extends infer C ? (C extends Command ? Omit<C, 'id'> : never) : never;

/** A command failed in a worker thread. */
export class WorkerCommandError extends Error {
  override name = 'WorkerCommandError';
  readonly code = 'KG_WORKER_FAILED';
}

/** One worker thread and its pending commands. */
class WorkerThread {
  readonly index: number;
  readonly thread: Worker;
  readonly #pending = new Map<number, PromiseWithResolvers<unknown>>();
  #next = 0;

  constructor(index: number, logPath: string | undefined, youngGenerationMb: number) {
    this.index = index;
    this.thread = new Worker(WORKER_MAIN, {
      workerData: { index, logPath } satisfies WorkerData,
      resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb },
    });
    this.thread.on('message', (r: Reply) => {
      const p = this.#pending.get(r.id);
      if (p === undefined) return;
      this.#pending.delete(r.id);
      if (r.ok) p.resolve(r.result);
      else p.reject(new WorkerCommandError(`worker ${index}: ${r.error.message}`));
    });
    this.thread.on('exit', (code) => {
      for (const p of this.#pending.values())
        p.reject(new WorkerCommandError(`worker ${index} exited (${code})`));
      this.#pending.clear();
    });
  }

  send(c: Body): Promise<unknown> {
    const id = this.#next++;
    const p = Promise.withResolvers<unknown>();
    this.#pending.set(id, p);
    this.thread.postMessage({ ...c, id });
    return p.promise;
  }
}

/** `config` with the listeners the configuration leaves at port 0 bound to the ports worker 0 got. */
function withPorts(config: GatewayConfig, ports: ListenerPorts): GatewayConfig {
  return {
    ...config,
    listeners: config.listeners.map((l) =>
      l.port === 0 && ports[l.name] !== undefined ? { ...l, port: ports[l.name] } : l,
    ),
  };
}

/**
 * kubegate on N worker threads (`workers` > 1). The main thread keeps what is one per gateway:
 * the configuration sources (it is what `serveFile` drives: `reload`, `setDynamicClusters`), the
 * limiters' shared memory (`SharedLimitRegistry`), and the admin listener, whose `/metrics` sums
 * the workers' registries and whose `/readyz` is ready when every worker is. Each worker runs a
 * whole `RunningGateway` on the same ports (SO_REUSEPORT: the kernel spreads connections over the
 * workers' accept queues) with its own upstream sessions and health checks; the main thread serves
 * no requests. A configuration counts as applied when every worker has applied it.
 *
 * A worker that dies is fatal (`onWorkerExit`): the slots its requests held in shared limits would
 * never be given back, so the process should exit and be restarted rather than limp on.
 */
export class ThreadedGateway {
  readonly metrics: GatewayMetrics;
  admin: AdminServer | null = null;
  draining = false;
  #config: GatewayConfig;
  readonly #workers: WorkerThread[];
  readonly #registry = new SharedLimitRegistry();
  readonly #dynamic = new Map<string, readonly ClusterConfig[]>();
  readonly #configSources = new Map<string, () => ConfigSourceState>();
  #ports: ListenerPorts = {};
  #stopping = false;

  private constructor(
    config: GatewayConfig,
    log: Logger,
    onWorkerExit: (index: number, code: number) => void,
  ) {
    this.#config = config;
    this.metrics = new GatewayMetrics(
      {
        clusters: () => [],
        listeners: () => [],
        configSources: () => [...this.#configSources].map(([source, read]) => [source, read()] as const),
      },
      { perUser: config.metrics?.perUser },
    );
    const n = config.workers ?? 1;
    this.#workers = Array.from({ length: n }, (_, i) => {
      const w = new WorkerThread(i, config.accessLog.path, config.workerYoungGenerationMb ?? 16);
      w.thread.on('error', (err) =>
        log.error({ kind: 'worker', worker: i, err: err.message, stack: err.stack }, 'worker thread failed'),
      );
      w.thread.on('exit', (code) => {
        if (!this.#stopping) onWorkerExit(i, code);
      });
      return w;
    });
  }

  /** Starts `config.workers` threads: worker 0 first (it picks the ports of listeners at port 0), then the others. */
  static async start(
    config: GatewayConfig,
    log: Logger,
    onWorkerExit: (index: number, code: number) => void,
  ): Promise<ThreadedGateway> {
    const gw = new ThreadedGateway(config, log, onWorkerExit);
    try {
      const shared = gw.#assign();
      // One count of connections per client address and of watches per user, and one list of
      // addresses penalised for rapid reset, for all workers.
      const counts = {
        connectionsByIP: allocateSharedKeyedCap(),
        longRunningByUser: allocateSharedKeyedCap(),
        penalizedIPs: allocateSharedPenaltyBox(),
      };
      const [first, ...rest] = gw.#workers;
      gw.#ports = (await first.send({ type: 'start', config, shared, counts })) as ListenerPorts;
      const cfg = withPorts(config, gw.#ports);
      await Promise.all(rest.map((w) => w.send({ type: 'start', config: cfg, shared, counts })));
    } catch (err) {
      await gw.stop(0, 0);
      throw err;
    }
    log.info(
      { kind: 'start', workers: gw.#workers.length, listeners: Object.entries(gw.#ports) },
      'kubegate worker threads listening',
    );
    return gw;
  }

  get workers(): number {
    return this.#workers.length;
  }

  /** Listener ports, by name (as worker 0 bound them). */
  get ports(): ListenerPorts {
    return this.#ports;
  }

  get config(): GatewayConfig {
    return this.#config;
  }

  /** Applies a new file configuration in every worker; resolves once all of them have. */
  async reload(config: GatewayConfig): Promise<void> {
    this.#config = config;
    const shared = this.#assign();
    const [first, ...rest] = this.#workers;
    if (config.listeners.some((l) => l.port === 0)) {
      // A new listener at port 0 gets its port in worker 0; the others then join it there.
      this.#ports = (await first.send({
        type: 'reload',
        config: packConfig(config),
        shared,
      })) as ListenerPorts;
      const cfg = packConfig(withPorts(config, this.#ports));
      await this.#all(rest.map((w) => w.send({ type: 'reload', config: cfg, shared })));
    } else {
      const packed = packConfig(config);
      const all = await this.#all(
        this.#workers.map((w) => w.send({ type: 'reload', config: packed, shared })),
      );
      this.#ports = all[0] as ListenerPorts;
    }
  }

  /** Sets the clusters one custom-resource source defines, in every worker. */
  async setDynamicClusters(source: string, clusters: readonly ClusterConfig[]): Promise<void> {
    this.#dynamic.set(source, clusters);
    const shared = this.#assign();
    await this.#all(this.#workers.map((w) => w.send({ type: 'dynamic', source, clusters, shared })));
  }

  /** Like `RunningGateway.addConfigSource`: the sources live in the main thread. */
  addConfigSource(source: string, read: () => ConfigSourceState): void {
    this.#configSources.set(source, read);
  }

  get configVersion(): string {
    return configVersionOf(this.#configSources);
  }

  /** null when every worker is ready; else the first reason one is not. */
  async notReady(): Promise<string | null> {
    if (this.draining) return 'shutting down';
    const why = (await Promise.all(this.#workers.map((w) => w.send({ type: 'ready' })))) as (string | null)[];
    const i = why.findIndex((w) => w !== null);
    return i < 0 ? null : `worker ${i}: ${why[i]}`;
  }

  /** The admin listener, in the main thread. */
  async startAdmin(log: Logger): Promise<AdminServer | null> {
    const a = this.#config.admin;
    if (!a || this.admin) return this.admin;
    this.admin = await startAdminServer(this.#adminView(), a, log);
    return this.admin;
  }

  /** The Prometheus text of the main thread's metrics and every worker's, summed (see docs/metrics.md). */
  async metricsText(): Promise<string> {
    const own = await this.metrics.registry.getMetricsAsJSON();
    const theirs = (await Promise.all(
      this.#workers.map((w) => w.send({ type: 'metrics' })),
    )) as MetricObjectWithValues<MetricValue<string>>[][];
    return AggregatorRegistry.aggregate([own, ...theirs]).metrics();
  }

  #adminView(): AdminView {
    const contentType = this.metrics.contentType;
    return {
      notReady: () => this.notReady(),
      metrics: { contentType, text: () => this.metricsText() },
      status: {
        // Worker 0's view (see docs/operations.md), with the main thread's version and draining.
        json: async () => ({
          ...((await this.#workers[0].send({ type: 'status' })) as Record<string, unknown>),
          version: this.configVersion,
          draining: this.draining,
          workers: this.#workers.length,
        }),
      },
    };
  }

  /** The limiters' shared memory for the clusters now, as a delta every worker must then be sent. */
  #assign(): SharedLimitsDelta {
    const all = [...this.#config.clusters];
    for (const list of this.#dynamic.values()) all.push(...list);
    return this.#registry.assignDelta(all);
  }

  /** Waits for every worker; if any failed, the first failure (the others may have applied). */
  async #all(ps: Promise<unknown>[]): Promise<unknown[]> {
    const settled = await Promise.allSettled(ps);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }

  /** Graceful shutdown of every worker at once (see RunningGateway.stop), then the admin listener. */
  async stop(drainMs?: number, delayMs?: number): Promise<void> {
    this.draining = true;
    this.#stopping = true;
    await Promise.allSettled(this.#workers.map((w) => w.send({ type: 'stop', drainMs, delayMs })));
    await Promise.all(this.#workers.map((w) => w.thread.terminate()));
    await this.admin?.close();
  }
}
