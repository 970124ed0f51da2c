import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Server } from 'node:https';
import type { Logger } from 'pino';
import type { V1Pod } from '@kubernetes/client-node';
import { KubeClient } from '../../kube/client.ts';
import { Informer } from '../../kube/informer.ts';
import { setPodCIDR } from '../lab/index.ts';
import { PodletBackend } from './backend.ts';
import { EventRecorder } from './events.ts';
import { installImagePrograms } from './images.ts';
import { NodeAgent } from './node-agent.ts';
import { NodeObjectSource } from './object-source.ts';
import { PodWorker } from './pod-worker.ts';
import { Slots } from './slots.ts';
import { PodIPAM } from './runtime/index.ts';
import { createKubeletServer } from './server/index.ts';

/** Pods set up at once (two cores here: more only thrash them). */
const SETUP_SLOTS = 4;

/** Everything one podlet needs; `kubegate dev` writes it as JSON for each node. */
export interface PodletConfig {
  nodeName: string;
  /** The node's InternalIP, on the lab's underlay. */
  nodeIP: string;
  /** The node's network namespace and the bridge its pods attach to. */
  nodeNetns: string;
  underlayNetns: string;
  /** False: no static route to this node's pod CIDR on the underlay (BGP announces it). */
  underlayPodRoute?: boolean;
  bridge: string;
  /** API server URL and the node's client certificate (CN system:node:<name>, O system:nodes). */
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The kubelet API's serving pair (IP SAN = nodeIP). */
  servingCertFile: string;
  servingKeyFile: string;
  /** The unix socket the kubelet API listens on (the apiservers' egress proxy joins it). */
  kubeletSocket: string;
  /** Folder of the image programs. */
  binDir: string;
  /** Folder for the pods' volumes and logs. */
  podsDir: string;
  maxPods: number;
  /** Cluster DNS addresses written into the pods' resolv.conf (kubelet `--cluster-dns`). */
  clusterDNS?: string[];
  /** kubelet `--cluster-domain` (default cluster.local). */
  clusterDomain?: string;
}

/** A running podlet: its Node registered and kept alive, its pods run, its kubelet API served. */
export class Podlet {
  readonly #cfg: PodletConfig;
  readonly #log: Logger;
  readonly #client: KubeClient;
  readonly #workers = new Map<string, PodWorker>();
  #agent: NodeAgent | null = null;
  #informer: Informer<V1Pod & { metadata: { name: string } }> | null = null;
  #server: Server | null = null;

  constructor(cfg: PodletConfig, log: Logger) {
    this.#cfg = cfg;
    this.#log = log;
    this.#client = new KubeClient({
      server: cfg.server,
      ca: readFileSync(cfg.caFile, 'utf8'),
      cert: readFileSync(cfg.certFile, 'utf8'),
      key: readFileSync(cfg.keyFile, 'utf8'),
    });
  }

  async start(): Promise<void> {
    const cfg = this.#cfg;
    this.#agent = new NodeAgent(
      this.#client,
      { name: cfg.nodeName, internalIP: cfg.nodeIP, maxPods: cfg.maxPods },
      this.#log,
    );
    const node = await this.#agent.register();
    const cidr = await this.#agent.podCIDR();
    const { gateway, prefixLength } = await setPodCIDR({
      underlayNetns: cfg.underlayNetns,
      nodeNetns: cfg.nodeNetns,
      nodeIP: cfg.nodeIP,
      bridge: cfg.bridge,
      cidr,
      underlayRoute: cfg.underlayPodRoute !== false,
    });
    this.#log.info({ podCIDR: cidr }, 'node registered');

    this.#log.info({ programs: installImagePrograms(cfg.binDir) }, 'image programs at their image paths');
    await mkdir(dirname(cfg.kubeletSocket), { recursive: true });
    await rm(cfg.kubeletSocket, { force: true });
    const backend = new PodletBackend(() => this.#workers.values(), cfg.binDir);
    this.#server = createKubeletServer({
      backend,
      tls: {
        cert: readFileSync(cfg.servingCertFile, 'utf8'),
        key: readFileSync(cfg.servingKeyFile, 'utf8'),
        ca: readFileSync(cfg.caFile, 'utf8'),
      },
      log: this.#log,
    });
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(cfg.kubeletSocket, () => resolve());
    });

    const capacity = node.status?.allocatable ?? {};
    const ctx = {
      client: this.#client,
      log: this.#log,
      events: new EventRecorder(this.#client, cfg.nodeName, this.#log),
      source: new NodeObjectSource(this.#client),
      nodeName: cfg.nodeName,
      nodeIP: cfg.nodeIP,
      nodeNetns: cfg.nodeNetns,
      bridge: cfg.bridge,
      gateway,
      prefixLength,
      ipam: new PodIPAM(cidr),
      binDir: cfg.binDir,
      podsDir: cfg.podsDir,
      allocatable: { cpu: capacity.cpu ?? '1', memory: capacity.memory ?? '1Gi' },
      setup: new Slots(SETUP_SLOTS),
      dns: {
        clusterDNS: cfg.clusterDNS ?? [],
        clusterDomain: cfg.clusterDomain ?? 'cluster.local',
        hostResolvConf: readResolvConf(),
      },
    };
    const selector = encodeURIComponent(`spec.nodeName=${cfg.nodeName}`);
    this.#informer = new Informer(
      this.#client,
      `/api/v1/pods?fieldSelector=${selector}`,
      (pods) => this.#sync(pods, ctx),
      this.#log,
    );
    await this.#informer.start();
  }

  #sync(pods: readonly V1Pod[], ctx: ConstructorParameters<typeof PodWorker>[1]): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata!.uid!;
      seen.add(uid);
      const w = this.#workers.get(uid);
      if (w) {
        w.update(pod);
        continue;
      }
      // A pod that already finished (Succeeded/Failed) before this podlet started is left alone.
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const worker = new PodWorker(pod, ctx);
      this.#workers.set(uid, worker);
      if (pod.metadata?.deletionTimestamp) void worker.terminate(false).then(() => this.#workers.delete(uid));
      else worker.start();
    }
    for (const [uid, w] of this.#workers) {
      if (seen.has(uid)) continue;
      // Deleted from the API (force-deleted, or our own final delete): stop whatever is left.
      void w.terminate(true).then(() => this.#workers.delete(uid));
    }
    for (const [uid, w] of this.#workers) {
      if (w.pod.metadata?.deletionTimestamp) void w.terminate(false).then(() => this.#workers.delete(uid));
    }
  }

  /** Stops every pod at once (the node goes away) and the kubelet API. */
  async stop(): Promise<void> {
    this.#informer?.stop();
    this.#agent?.stop();
    await Promise.all([...this.#workers.values()].map((w) => w.terminate(true)));
    this.#workers.clear();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    this.#server?.closeAllConnections();
    await rm(this.#cfg.kubeletSocket, { force: true });
    this.#client.close();
  }
}

/** The node's own resolver configuration, for pods with dnsPolicy Default. */
function readResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}
