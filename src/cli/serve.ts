import { createHash } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { ClusterSecretSource } from '../clustergateway/index.ts';
import { fileHostClaims, UpstreamClusterSource } from '../config/crd-source.ts';
import { loadConfigFile } from '../config/file-config.ts';
import { FileSource } from '../config/file-source.ts';
import { KubeGatewayClusterSource } from '../config/kubegateway-source.ts';
import type { ClusterConfig, GatewayConfig } from '../config/model.ts';
import { RunningGateway } from '../gateway.ts';
import { KubeClient } from '../kube/client.ts';
import type { ConfigSourceState } from '../observe/metrics.ts';
import { ThreadedGateway } from '../workers/index.ts';
import { loadKubeTarget } from '../kube/kubeconfig.ts';
import { UsageError } from './errors.ts';

/** What the configuration sources drive: one `RunningGateway`, or a `ThreadedGateway` over workers. */
export interface ConfigTarget {
  reload(config: GatewayConfig): Promise<void>;
  setDynamicClusters(source: string, clusters: readonly ClusterConfig[]): Promise<void>;
  addConfigSource(source: string, read: () => ConfigSourceState): void;
  startAdmin(log: Logger): Promise<unknown>;
  stop(drainMs?: number, delayMs?: number): Promise<void>;
}

/** A gateway with its configuration sources: the file (watched) and, if configured, custom resources. */
export interface ServingGateway<G extends ConfigTarget = RunningGateway> {
  gateway: G;
  file: FileSource;
  crds: UpstreamClusterSource | null;
  kubeGateway: KubeGatewayClusterSource | null;
  stop(drainMs?: number): Promise<void>;
}

/** Starts the gateway from a configuration file and keeps it in step with the file and the CRDs. */
export async function serveFile(file: string, log: Logger, initial?: GatewayConfig): Promise<ServingGateway> {
  const cfg = initial ?? (await loadConfigFile(file));
  return withSources(await RunningGateway.start(cfg, log), file, cfg, log);
}

/**
 * `serveFile` on `cfg.workers` worker threads: the sources and the admin listener stay in this
 * thread, requests are served by the workers. A worker that dies calls `onWorkerExit`.
 */
export async function serveThreaded(
  file: string,
  log: Logger,
  cfg: GatewayConfig,
  onWorkerExit: (index: number, code: number) => void,
): Promise<ServingGateway<ThreadedGateway>> {
  return withSources(await ThreadedGateway.start(cfg, log, onWorkerExit), file, cfg, log);
}

async function withSources<G extends ConfigTarget>(
  gateway: G,
  file: string,
  cfg: GatewayConfig,
  log: Logger,
): Promise<ServingGateway<G>> {
  try {
    await gateway.startAdmin(log);
  } catch (err) {
    await gateway.stop(0, 0);
    throw err;
  }
  let crds: UpstreamClusterSource | null = null;
  let kubeGateway: KubeGatewayClusterSource | null = null;
  let client: KubeClient | null = null;
  let secrets: ClusterSecretSource | null = null;
  const reserved = (c: GatewayConfig) => new Set(c.clusters.map((x) => x.name));
  /**
   * Reload counters of a custom-resource source: a change of what it serves counts once; failures
   * are failed applies plus object versions the source rejected.
   */
  const dynamic = (source: string, rejected: () => number) => {
    const state = { reloads: 0, failures: 0, hash: '' };
    gateway.addConfigSource(source, () => ({ ...state, failures: state.failures + rejected() }));
    return async (list: readonly ClusterConfig[]) => {
      const hash = createHash('sha256').update(JSON.stringify(list)).digest('hex');
      try {
        await gateway.setDynamicClusters(source, list);
      } catch (err) {
        state.failures++;
        throw err;
      }
      if (hash !== state.hash) {
        if (state.hash !== '' || list.length > 0) state.reloads++;
        state.hash = hash;
      }
    };
  };
  const k = cfg.kubernetes;
  if (k && (k.upstreamClusters || k.kubeGatewayClusters || k.clusterGatewaySecretNamespace !== undefined)) {
    client = new KubeClient(await loadKubeTarget(k.kubeconfigFile));
    if (k.clusterGatewaySecretNamespace !== undefined) {
      const apply = dynamic('cluster.core.oam.dev', () => secrets?.rejections ?? 0);
      const ns = k.clusterGatewaySecretNamespace;
      const rules = k.clusterGatewayExchange;
      secrets = new ClusterSecretSource(client, ns, cfg.defaults, reserved(cfg), apply, log, rules);
      await secrets.start();
    }
    if (k.upstreamClusters) {
      const apply = dynamic('kubegate.io', () => crds?.rejections ?? 0);
      crds = new UpstreamClusterSource(
        client,
        cfg.defaults,
        reserved(cfg),
        apply,
        log,
        fileHostClaims(cfg.clusters),
      );
      await crds.start();
    }
    if (k.kubeGatewayClusters) {
      const apply = dynamic('proxy.kubegateway.io', () => kubeGateway?.rejections ?? 0);
      kubeGateway = new KubeGatewayClusterSource(client, cfg.defaults, reserved(cfg), apply, log);
      await kubeGateway.start();
    }
  }
  const source = new FileSource(
    file,
    cfg,
    async (next) => {
      if ((next.workers ?? 1) !== (cfg.workers ?? 1))
        log.warn(
          { kind: 'config', workers: next.workers, running: cfg.workers },
          'a change of workers applies at the next restart',
        );
      if (next.workerYoungGenerationMb !== cfg.workerYoungGenerationMb)
        log.warn(
          {
            kind: 'config',
            workerYoungGenerationMb: next.workerYoungGenerationMb,
            running: cfg.workerYoungGenerationMb,
          },
          'a change of workerYoungGenerationMb applies at the next restart',
        );
      await gateway.reload(next);
      // Custom-resource clusters see new defaults and reserved names on their own queue.
      void crds?.update(next.defaults, reserved(next), fileHostClaims(next.clusters));
      void kubeGateway?.update(next.defaults, reserved(next));
      void secrets?.update(next.defaults, reserved(next), next.kubernetes?.clusterGatewayExchange ?? []);
    },
    log,
  );
  gateway.addConfigSource('file', () => ({
    reloads: source.reloads,
    failures: source.failures,
    hash: source.hash,
    material: source.material,
  }));
  source.start();
  const accessLog = cfg.accessLog.path;
  if (accessLog !== undefined && source.watchesFolderOf(accessLog))
    log.warn(
      { kind: 'config', accessLog },
      "the access log is in a folder the configuration's watcher watches: each write wakes it; log elsewhere",
    );
  return {
    gateway,
    file: source,
    crds,
    kubeGateway,
    async stop(drainMs?: number) {
      source.stop();
      crds?.stop();
      kubeGateway?.stop();
      secrets?.stop();
      await gateway.stop(drainMs);
      client?.close();
    },
  };
}

/** `kubegate serve -f FILE`: runs the gateway until SIGINT/SIGTERM, reloading the file as it changes. */
export async function serve(v: Record<string, unknown>): Promise<number> {
  const file = v.file;
  if (typeof file !== 'string') throw new UsageError('serve: -f FILE is required');
  const cfg = await loadConfigFile(file);
  const log = pino(
    cfg.accessLog.path ? pino.destination({ dest: cfg.accessLog.path, mkdir: true }) : undefined,
  );
  const running =
    (cfg.workers ?? 1) > 1
      ? await serveThreaded(file, log, cfg, (index, code) => {
          // Its requests' slots in shared limits are lost with it: restart whole rather than limp on.
          log.fatal({ kind: 'worker', worker: index, code }, 'a worker thread exited; stopping');
          log.flush();
          process.exit(1);
        })
      : await serveFile(file, log, cfg);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await running.stop();
  log.flush();
  return 0;
}
