import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { upstreamClusterCRD } from '../config/generate/crd.ts';
import { KubeClient } from '../kube/client.ts';
import {
  AUDIT_POLICY,
  apiserverArgs,
  controllerManagerArgs,
  egressSelectorConfig,
  etcdArgs,
  schedulerArgs,
  pkiPaths,
  type PKIPaths,
} from './flags.ts';
import { APISERVICE_HOST } from './apiservice.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createCA, createSigningKey, issueCert } from './pki.ts';
import { EgressProxy } from './egress-proxy.ts';
import { freePort } from './ports.ts';
import { startProcess, stopProcess, type ManagedProcess } from './process.ts';
import {
  CLUSTER_SECRETS_NAMESPACE,
  clusterSecretsNamespace,
  clusterSecretsRole,
  clusterSecretsRoleBinding,
  GATEWAY_USER,
  gatewayClusterRole,
  gatewayClusterRoleBinding,
} from './rbac.ts';

export interface ControlPlaneOptions {
  dir: string;
  apiservers: number;
  /** Folder holding kube-apiserver, etcd and kube-controller-manager. */
  binDir: string;
  /** Progress messages. */
  log?: (msg: string) => void;
}

/** One kube-apiserver replica of the local control plane. */
export interface APIServer {
  readonly index: number;
  readonly port: number;
  readonly url: string;
  readonly kubeconfig: string;
  readonly auditLog: string;
  process: ManagedProcess | null;
}

class StartupError extends Error {
  override name = 'StartupError';
}

/** A local control plane: one etcd, N kube-apiservers sharing it and one kube-controller-manager. */
export class ControlPlane {
  readonly dir: string;
  readonly pki: PKIPaths;
  readonly apiservers: APIServer[] = [];
  readonly #bin: string;
  readonly #log: (msg: string) => void;
  #etcd: ManagedProcess | null = null;
  #etcdPort = 0;
  #kcm: ManagedProcess | null = null;
  #scheduler: ManagedProcess | null = null;
  #egress: EgressProxy | null = null;

  private constructor(opts: ControlPlaneOptions) {
    this.dir = opts.dir;
    this.pki = pkiPaths(opts.dir);
    this.#bin = opts.binDir;
    this.#log = opts.log ?? (() => {});
  }

  /** Creates the PKI and starts everything; on failure stops what it started and throws. */
  static async start(opts: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = new ControlPlane(opts);
    try {
      await cp.#start(opts.apiservers);
      return cp;
    } catch (err) {
      await cp.stop();
      throw err;
    }
  }

  /** Lets the apiservers reach the loopback `port` at `address:port` (see `EgressProxy.expose`). */
  exposeToAPIServers(address: string, port: number): void {
    this.#egress!.expose(address, port);
  }

  /** A client with cluster-admin rights straight to apiserver `i`. */
  adminClient(i = 0): KubeClient {
    return this.#client(this.apiservers[i].url, this.pki.admin);
  }

  async #start(n: number): Promise<void> {
    const { dir } = this;
    await Promise.all(['audit', 'logs', 'etcd'].map((d) => mkdir(join(dir, d), { recursive: true })));
    await writeFile(join(dir, 'audit-policy.yaml'), AUDIT_POLICY);
    this.#egress = await EgressProxy.start(dir);
    await writeFile(join(dir, 'egress-selector.yaml'), egressSelectorConfig(this.#egress.socket));
    this.#log('generating PKI');
    await this.#createPKI();

    this.#etcdPort = await freePort();
    const peerPort = await freePort();
    this.#log(`starting etcd on 127.0.0.1:${this.#etcdPort}`);
    this.#etcd = startProcess(
      'etcd',
      join(this.#bin, 'etcd'),
      etcdArgs(dir, this.#etcdPort, peerPort),
      join(dir, 'logs', 'etcd.log'),
    );
    await this.#waitHTTP('etcd', `http://127.0.0.1:${this.#etcdPort}/health`, this.#etcd);

    for (let i = 0; i < n; i++) {
      const port = await freePort();
      const url = `https://127.0.0.1:${port}`;
      const kubeconfig = join(dir, `apiserver-${i}.kubeconfig`);
      await writeKubeconfig(kubeconfig, `apiserver-${i}`, url, this.pki.ca.cert, this.pki.admin);
      this.apiservers.push({
        index: i,
        port,
        url,
        kubeconfig,
        auditLog: join(dir, 'audit', `apiserver-${i}.log`),
        process: null,
      });
    }
    this.#log(`starting ${n} kube-apiserver(s) on ports ${this.apiservers.map((a) => a.port).join(', ')}`);
    for (const a of this.apiservers) this.startAPIServer(a.index);
    await Promise.all(this.apiservers.map((a) => this.waitAPIServer(a.index)));

    this.#log('creating RBAC for the gateway identity and the UpstreamCluster CRD');
    const admin = this.adminClient(0);
    try {
      await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterroles', gatewayClusterRole);
      await admin.apply('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', gatewayClusterRoleBinding);
      await admin.apply('/api/v1/namespaces', clusterSecretsNamespace);
      const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${CLUSTER_SECRETS_NAMESPACE}`;
      await admin.apply(`${rbac}/roles`, clusterSecretsRole);
      await admin.apply(`${rbac}/rolebindings`, clusterSecretsRoleBinding);
      await admin.apply(
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
        upstreamClusterCRD() as never,
      );
      await waitEstablished(admin, 'upstreamclusters.kubegate.io');
    } finally {
      admin.close();
    }

    const kcmPort = await freePort();
    await writeKubeconfig(
      join(dir, 'controller-manager.kubeconfig'),
      'kcm',
      this.apiservers[0].url,
      this.pki.ca.cert,
      this.pki.controllerManager,
    );
    this.#log('starting kube-controller-manager');
    this.#kcm = startProcess(
      'kube-controller-manager',
      join(this.#bin, 'kube-controller-manager'),
      controllerManagerArgs(dir, kcmPort),
      join(dir, 'logs', 'controller-manager.log'),
    );
    await this.#waitHTTP(
      'kube-controller-manager',
      `https://127.0.0.1:${kcmPort}/healthz`,
      this.#kcm,
      this.pki.admin,
    );

    const schedulerPort = await freePort();
    await writeKubeconfig(
      join(dir, 'scheduler.kubeconfig'),
      'scheduler',
      this.apiservers[0].url,
      this.pki.ca.cert,
      this.pki.scheduler,
    );
    this.#log('starting kube-scheduler');
    this.#scheduler = startProcess(
      'kube-scheduler',
      join(this.#bin, 'kube-scheduler'),
      schedulerArgs(dir, schedulerPort),
      join(dir, 'logs', 'scheduler.log'),
    );
    await this.#waitHTTP(
      'kube-scheduler',
      `https://127.0.0.1:${schedulerPort}/healthz`,
      this.#scheduler,
      this.pki.admin,
    );
  }

  async #createPKI(): Promise<void> {
    const p = this.pki;
    const ca = await createCA(p.dir, 'ca', 'kubegate-dev-ca');
    const fp = await createCA(p.dir, 'front-proxy-ca', 'kubegate-dev-front-proxy-ca');
    const local = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };
    await Promise.all([
      createSigningKey(p.dir),
      issueCert(p.dir, 'front-proxy-client', fp, { cn: 'front-proxy-client', usage: 'client' }),
      issueCert(p.dir, 'apiserver', ca, {
        cn: 'kube-apiserver',
        usage: 'server',
        dns: [
          ...local.dns,
          'kubernetes',
          'kubernetes.default',
          'kubernetes.default.svc',
          'kubernetes.default.svc.cluster.local',
        ],
        ips: [...local.ips, '10.96.0.1'],
      }),
      // Also the name the aggregator verifies for the ClusterGateway APIService (src/dev/apiservice.ts).
      issueCert(p.dir, 'gateway', ca, {
        cn: 'kubegate',
        usage: 'server',
        dns: [...local.dns, APISERVICE_HOST],
        ips: local.ips,
      }),
      issueCert(p.dir, 'admin', ca, { cn: 'kubegate-admin', orgs: ['system:masters'], usage: 'client' }),
      issueCert(p.dir, 'gateway-upstream', ca, { cn: GATEWAY_USER, usage: 'client' }),
      issueCert(p.dir, 'controller-manager', ca, { cn: 'system:kube-controller-manager', usage: 'client' }),
      issueCert(p.dir, 'scheduler', ca, { cn: 'system:kube-scheduler', usage: 'client' }),
      // kubeadm's name for the identity kube-apiserver presents to kubelets.
      issueCert(p.dir, 'apiserver-kubelet-client', ca, {
        cn: 'kube-apiserver-kubelet-client',
        orgs: ['kubeadm:cluster-admins'],
        usage: 'client',
      }),
    ]);
  }

  /** (Re)starts apiserver `i` with its original flags and port. */
  startAPIServer(i: number): void {
    const a = this.apiservers[i];
    if (a.process && a.process.child.exitCode === null && a.process.child.signalCode === null) return;
    a.process = startProcess(
      `kube-apiserver-${i}`,
      join(this.#bin, 'kube-apiserver'),
      apiserverArgs(this.dir, i, a.port, this.#etcdPort),
      join(this.dir, 'logs', `apiserver-${i}.log`),
    );
  }

  /** Stops apiserver `i` (SIGKILL when `kill`, else SIGTERM). */
  async stopAPIServer(i: number, kill = false): Promise<void> {
    const p = this.apiservers[i].process;
    if (!p) return;
    await stopProcess(p, kill ? 0 : 5000);
  }

  /** Waits until apiserver `i` answers `/readyz` with 200. */
  async waitAPIServer(i: number, timeoutMs = 90_000): Promise<void> {
    const a = this.apiservers[i];
    if (!a.process) throw new StartupError(`kube-apiserver-${i} is not running`);
    await this.#waitHTTP(`kube-apiserver-${i}`, `${a.url}/readyz`, a.process, this.pki.admin, timeoutMs);
  }

  async #waitHTTP(
    name: string,
    url: string,
    proc: ManagedProcess,
    cert?: { cert: string; key: string },
    timeoutMs = 90_000,
  ): Promise<void> {
    const u = new URL(url);
    const client = cert ? this.#client(u.origin, cert) : null;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    try {
      while (Date.now() < deadline) {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
          throw new StartupError(
            `${name} exited (${proc.child.exitCode ?? proc.child.signalCode}) during start; see ${join(this.dir, 'logs')}`,
          );
        }
        try {
          if (client) {
            const res = await client.raw('GET', u.pathname, undefined, 5000);
            if (res.status === 200) return;
            last = `HTTP ${res.status}`;
          } else {
            const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
            if (res.ok) return;
            last = `HTTP ${res.status}`;
          }
        } catch (err) {
          last = (err as Error).message;
        }
        await sleep(250);
      }
    } finally {
      client?.close();
    }
    throw new StartupError(
      `${name} not ready after ${timeoutMs / 1000}s (${last}); see ${join(this.dir, 'logs')}`,
    );
  }

  #client(server: string, user: { cert: string; key: string }): KubeClient {
    // Files are read synchronously once per client: bootstrap only, never on a request path.
    return new KubeClient({ server, ...readPEM(this.pki.ca.cert, user) });
  }

  /** Stops every process this control plane started: the controller manager, apiservers, then etcd. */
  async stop(): Promise<void> {
    const procs = [this.#scheduler, this.#kcm, ...this.apiservers.map((a) => a.process)].filter(
      (p): p is ManagedProcess => p !== null,
    );
    await Promise.all(procs.map((p) => stopProcess(p)));
    if (this.#etcd) await stopProcess(this.#etcd);
    await this.#egress?.close();
  }

  /** Process ids, for the state file and for tests. */
  pids(): Record<string, number | null> {
    const out: Record<string, number | null> = {
      etcd: this.#etcd?.pid ?? null,
      'kube-controller-manager': this.#kcm?.pid ?? null,
      'kube-scheduler': this.#scheduler?.pid ?? null,
    };
    for (const a of this.apiservers) out[`kube-apiserver-${a.index}`] = a.process?.pid ?? null;
    return out;
  }
}

function readPEM(caFile: string, user: { cert: string; key: string }) {
  return {
    ca: readFileSync(caFile, 'utf8'),
    cert: readFileSync(user.cert, 'utf8'),
    key: readFileSync(user.key, 'utf8'),
  };
}

/** Until the CRD's Established condition is True (its API is served), at most 30 s. */
async function waitEstablished(client: KubeClient, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const crd = await client.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
      'GET',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
    );
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`CRD ${name} not established within 30s`);
}
