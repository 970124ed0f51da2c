import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import type { KubeClient } from '../../kube/client.ts';
import {
  ContainerRunner,
  type ContainerHost,
  type ContainerKind,
  type ProbeKind,
} from './container-runner.ts';
import type { EventRecorder } from './events.ts';
import { containerArgv, type KnownImage } from './images.ts';
import { podPhase, podStatus } from './pod-status.ts';
import { pause } from './restart-backoff.ts';
import type { Slots } from './slots.ts';
import {
  connectInNetns,
  createPodSandbox,
  execInContainer,
  startContainer,
  type PodIPAM,
} from './runtime/index.ts';
import {
  containerMounts,
  expandArgs,
  materializeVolumes,
  Prober,
  refreshVolumes,
  resolveEnv,
  SpecError,
  podHostsFile,
  podResolvConf,
  unsupportedReason,
  type EnvEvent,
  type NodeDns,
} from './spec/index.ts';
import type { ContainerProcess, Mount, ObjectSource, PodSandbox } from './types.ts';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** How often Secret, ConfigMap and projected volume content is re-read (tokens renewed when due). */
const VOLUME_REFRESH_MS = 60_000;

/** What every pod worker of one node shares. */
export interface NodeContext {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly events: EventRecorder;
  readonly source: ObjectSource;
  readonly nodeName: string;
  readonly nodeIP: string;
  readonly nodeNetns: string;
  readonly bridge: string;
  readonly gateway: string;
  readonly prefixLength: number;
  readonly ipam: PodIPAM;
  /** Where the image programs are (tools/control-plane/provide.sh). */
  readonly binDir: string;
  /** Per-pod folders (volumes, logs) go under it. */
  readonly podsDir: string;
  readonly allocatable: { cpu: string; memory: string };
  /** Pod set-up (sandbox and volumes) runs in one of these. */
  readonly setup: Slots;
  /** What the pods' /etc/resolv.conf is made from. */
  readonly dns: NodeDns;
}

/**
 * One pod on this node, from binding to deletion: its sandbox, volumes, init containers in order,
 * then its containers; its status written whenever it changes; graceful termination when the
 * pod is deleted, then the final delete that lets the API server forget it.
 */
export class PodWorker {
  pod: V1Pod;
  readonly #ctx: NodeContext;
  readonly #abort = new AbortController();
  readonly #log: Logger;
  #sandbox: PodSandbox | null = null;
  #volumes = new Map<string, string>();
  /** The kubelet-managed /etc/hosts and /etc/resolv.conf, bound into every container. */
  #dnsMounts: Mount[] = [];
  #init: ContainerRunner[] = [];
  #containers: ContainerRunner[] = [];
  #initDone = false;
  #blocked: { reason: string; message: string } | null = null;
  #terminating: Promise<void> | null = null;
  #statusTimer: NodeJS.Timeout | null = null;
  #refreshTimer: NodeJS.Timeout | null = null;
  #lastStatus = '';
  #writing: Promise<void> = Promise.resolve();
  readonly #startTime = new Date();

  constructor(pod: V1Pod, ctx: NodeContext) {
    this.pod = pod;
    this.#ctx = ctx;
    this.#log = ctx.log.child({ pod: `${pod.metadata!.namespace}/${pod.metadata!.name}` });
    const spec = pod.spec!;
    const policy = spec.restartPolicy ?? 'Always';
    this.#init = (spec.initContainers ?? []).map((c) => {
      const kind: ContainerKind = c.restartPolicy === 'Always' ? 'sidecar' : 'init';
      return new ContainerRunner(
        c,
        kind,
        this.#host(kind === 'sidecar' ? 'Always' : policy === 'Never' ? 'Never' : 'OnFailure'),
      );
    });
    this.#containers = spec.containers.map((c) => new ContainerRunner(c, 'regular', this.#host(policy)));
  }

  get uid(): string {
    return this.pod.metadata!.uid!;
  }

  get sandbox(): PodSandbox | null {
    return this.#sandbox;
  }

  get #dir(): string {
    const m = this.pod.metadata!;
    return join(this.#ctx.podsDir, `${m.namespace}_${m.name}_${m.uid}`);
  }

  container(name: string): ContainerRunner | undefined {
    return this.#containers.find((c) => c.spec.name === name) ?? this.#init.find((c) => c.spec.name === name);
  }

  start(): void {
    void this.#run().catch((err: Error) => {
      this.#log.error({ err: err.message, stack: err.stack }, 'pod worker failed');
      this.#blocked = { reason: 'PodletError', message: err.message };
      this.#changed();
    });
  }

  /** A newer version of the pod from the API server. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) void this.terminate(false);
  }

  /**
   * Stops the pod: containers get SIGTERM and, after the grace period, SIGKILL; the sandbox and IP
   * are freed; then (unless the pod is already gone from the API) it is deleted for good.
   */
  terminate(gone: boolean): Promise<void> {
    this.#terminating ??= this.#terminate(gone);
    return this.#terminating;
  }

  async #terminate(gone: boolean): Promise<void> {
    const m = this.pod.metadata!;
    const graceSeconds = gone
      ? 0
      : (m.deletionGracePeriodSeconds ?? this.pod.spec?.terminationGracePeriodSeconds ?? 30);
    this.#abort.abort();
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    await Promise.all([...this.#containers, ...this.#init].map((c) => c.stop(graceSeconds * 1000)));
    await this.#teardown();
    if (this.#statusTimer) clearTimeout(this.#statusTimer);
    await this.#writing;
    this.#ctx.events.forget(this.uid);
    if (gone) return;
    const res = await this.#ctx.client.raw('DELETE', `/api/v1/namespaces/${m.namespace}/pods/${m.name}`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
      preconditions: { uid: m.uid },
    });
    if (res.status !== 200 && res.status !== 404 && res.status !== 409)
      this.#log.warn({ status: res.status, body: res.body }, 'final delete of the pod failed');
  }

  async #teardown(): Promise<void> {
    const sandbox = this.#sandbox;
    this.#sandbox = null;
    if (sandbox) await sandbox.destroy();
    this.#ctx.ipam.release(this.uid);
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const unsupported = unsupportedReason(this.pod);
    if (unsupported) {
      this.#blocked = { reason: 'CreateContainerConfigError', message: `podlet: ${unsupported}` };
      this.#ctx.events.emit(
        this.pod,
        'Warning',
        'FailedCreatePodSandBox',
        `podlet cannot run this pod: ${unsupported}`,
      );
      this.#changed();
      return;
    }
    const t0 = performance.now();
    if (this.pod.spec?.hostNetwork) {
      // The node's own namespace and address; nothing to create or tear down.
      this.#sandbox = { netns: this.#ctx.nodeNetns, ip: this.#ctx.nodeIP, destroy: async () => {} };
    } else if (!(await this.#createSandbox())) return;
    if (signal.aborted) return;
    this.#changed();
    const t1 = performance.now();
    await this.#writeDnsFiles();

    const volumesDir = join(this.#dir, 'volumes');
    const volumeOpts = { nodeAllocatable: this.#ctx.allocatable };
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        this.#volumes = await this.#ctx.setup.run(() =>
          materializeVolumes(this.pod, volumesDir, this.#ctx.source, volumeOpts),
        );
        this.#blocked = null;
        this.#log.debug(
          { sandboxMs: Math.round(t1 - t0), volumesMs: Math.round(performance.now() - t1) },
          'pod set up',
        );
        break;
      } catch (err) {
        const reason = err instanceof SpecError ? err.eventReason : 'FailedMount';
        this.#blocked = { reason: 'ContainerCreating', message: (err as Error).message };
        this.#ctx.events.emit(this.pod, 'Warning', reason, (err as Error).message);
        this.#changed();
        if (!(await pause(Math.min(1000 * 2 ** attempt, 30_000), signal))) return;
      }
    }
    if (signal.aborted) return;
    this.#refreshTimer = setInterval(() => {
      void refreshVolumes(this.pod, volumesDir, this.#ctx.source, volumeOpts).catch((err: Error) =>
        this.#log.warn({ err: err.message }, 'volume refresh failed; the last content stays'),
      );
    }, VOLUME_REFRESH_MS);

    for (const init of this.#init) {
      if (signal.aborted) return;
      if (init.kind === 'sidecar') {
        void init.run();
        while (!signal.aborted && !(init.process && init.started)) await pause(100, signal);
        continue;
      }
      await init.run();
      if (init.terminated?.exitCode !== 0) return this.#changed(); // restartPolicy Never: the pod failed
    }
    this.#initDone = true;
    this.#changed();
    await Promise.all(this.#containers.map((c) => c.run()));
    if (signal.aborted) return;
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    // Every container is done for good: the pod is Succeeded or Failed; the kubelet tears the sandbox down.
    this.#changed();
    await this.#flushStatus();
    await this.#teardown();
  }

  #host(restartPolicy: string): ContainerHost {
    const ctx = this.#ctx;
    return {
      signal: this.#abort.signal,
      restartPolicy,
      graceMs: (this.pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000,
      prepare: (spec, image) => this.#prepare(spec, image),
      start: (spec, id, prepared, logPath) => this.#start(spec, id, prepared, logPath),
      logPath: (name, n) => join(this.#dir, 'logs', name, `${n}.log`),
      probe: (spec, probe, kind, onResult) => this.#probe(spec, probe, kind, onResult),
      changed: () => this.#changed(),
      event: (type, reason, message, fieldPath) =>
        ctx.events.emit(this.pod, type, reason, message, fieldPath),
    };
  }

  async #prepare(
    spec: V1Container,
    image: KnownImage,
  ): Promise<{ env: Record<string, string>; argv: string[]; mounts: Mount[] }> {
    const events: EnvEvent[] = [];
    const env = await resolveEnv(this.pod, spec, this.#ctx.source, {
      events,
      nodeName: this.#ctx.nodeName,
      hostIP: this.#ctx.nodeIP,
      podIP: this.#sandbox?.ip ?? '',
      nodeAllocatable: this.#ctx.allocatable,
    });
    for (const e of events) this.#ctx.events.emit(this.pod, e.type, e.reason, e.message);
    const path = env.PATH ?? DEFAULT_PATH;
    const argv = containerArgv(
      image,
      this.#ctx.binDir,
      spec.command && expandArgs(spec.command, env),
      spec.args && expandArgs(spec.args, env),
      path,
    );
    const own = containerMounts(this.pod, spec, this.#volumes, env);
    // A container that mounts a volume on /etc/hosts or /etc/resolv.conf keeps its own (as with a kubelet).
    const managed = this.#dnsMounts.filter((m) => !own.some((o) => o.mountPath === m.mountPath));
    return { env, argv, mounts: [...managed, ...own] };
  }

  /** The pod's own network namespace and address; false when no address is free (reported). */
  async #createSandbox(): Promise<boolean> {
    const ip = this.#ctx.ipam.allocate(this.uid);
    if (!ip) {
      this.#blocked = { reason: 'ContainerCreating', message: 'podlet: no free address in the node podCIDR' };
      this.#ctx.events.emit(this.pod, 'Warning', 'FailedCreatePodSandBox', this.#blocked.message);
      this.#changed();
      return false;
    }
    // Set-up runs in a slot of the node's; a retry's wait does not hold one.
    this.#sandbox = await this.#ctx.setup.run(() =>
      createPodSandbox({
        nodeNetns: this.#ctx.nodeNetns,
        bridge: this.#ctx.bridge,
        netns: `${this.#ctx.nodeNetns}-${this.uid.slice(0, 8)}`,
        ip,
        prefixLength: this.#ctx.prefixLength,
        gateway: this.#ctx.gateway,
      }),
    );

    return true;
  }

  async #writeDnsFiles(): Promise<void> {
    const { dns } = this.#ctx;
    const etc = join(this.#dir, 'etc');
    await mkdir(etc, { recursive: true });
    const files: [string, string | null][] = [
      ['/etc/hosts', podHostsFile(this.pod, this.#sandbox?.ip ?? '', dns.clusterDomain)],
      ['/etc/resolv.conf', podResolvConf(this.pod, dns)],
    ];
    this.#dnsMounts = [];
    for (const [mountPath, text] of files) {
      if (text === null) continue;
      const hostPath = join(etc, mountPath.slice('/etc/'.length));
      await writeFile(hostPath, text, { mode: 0o644 });
      this.#dnsMounts.push({ hostPath, mountPath, readOnly: false });
    }
  }

  #start(
    spec: V1Container,
    id: string,
    prepared: { env: Record<string, string>; argv: string[]; mounts: Mount[] },
    logPath: string,
  ): ContainerProcess {
    if (!this.#sandbox) throw new Error('the pod sandbox is gone');
    const sc = { ...this.pod.spec?.securityContext, ...spec.securityContext };
    return startContainer({
      sandbox: this.#sandbox,
      id: `${this.uid.slice(0, 8)}-${id}`,
      argv: prepared.argv,
      env: prepared.env,
      workingDir: spec.workingDir,
      mounts: prepared.mounts,
      logPath,
      stdin: spec.stdin ?? false,
      stdinOnce: spec.stdinOnce ?? false,
      tty: spec.tty ?? false,
      uid: sc.runAsUser,
      gid: sc.runAsGroup,
      hostname: this.pod.spec?.hostNetwork
        ? this.#ctx.nodeName
        : (this.pod.spec?.hostname ?? this.pod.metadata!.name!),
    });
  }

  #probe(
    spec: V1Container,
    probe: V1Probe,
    kind: ProbeKind,
    onResult: (ok: boolean, message: string) => void,
  ) {
    const runner = this.container(spec.name)!;
    const prober = new Prober(
      probe,
      kind,
      {
        podIP: this.#sandbox?.ip ?? '',
        containerPorts: spec.ports ?? [],
        connect: (host: string, port: number) => connectInNetns(this.#sandbox!.netns, host, port),
        exec: (argv: string[], timeoutMs: number) => execForProbe(runner, argv, timeoutMs),
      },
      onResult,
    );
    prober.start();
    return prober;
  }

  #changed(): void {
    if (this.#statusTimer) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = null;
      void this.#flushStatus();
    }, 20);
  }

  #flushStatus(): Promise<void> {
    this.#writing = this.#writing
      .then(() => this.#writeStatus())
      .catch((err: Error) => {
        this.#log.warn({ err: err.message }, 'pod status update failed');
      });
    return this.#writing;
  }

  async #writeStatus(): Promise<void> {
    if (this.#terminating && this.#sandbox === null) return;
    const init = this.#init.map((c) => c.status());
    const containers = this.#containers.map((c) => c.status());
    if (this.#blocked)
      for (const c of containers) if (c.state?.waiting) c.state.waiting = { ...this.#blocked };
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    const initFailed = this.#init.some(
      (c) => c.kind === 'init' && c.terminated && c.terminated.exitCode !== 0,
    );
    const status = podStatus(this.pod, {
      hostIP: this.#ctx.nodeIP,
      podIP: this.#sandbox?.ip ?? null,
      startTime: this.#startTime,
      sandboxReady: this.#sandbox !== null,
      initDone: this.#initDone,
      phase: initFailed ? 'Failed' : podPhase(policy, containers, this.#initDone),
      initContainerStatuses: init,
      containerStatuses: containers,
    });
    const body = JSON.stringify(status, (k, v: unknown) => (k === 'lastTransitionTime' ? undefined : v));
    if (body === this.#lastStatus) return;
    const m = this.pod.metadata!;
    const res = await this.#ctx.client.raw(
      'PATCH',
      `/api/v1/namespaces/${m.namespace}/pods/${m.name}/status`,
      {
        metadata: { uid: m.uid },
        status,
      },
    );
    if (res.status === 200) {
      this.#lastStatus = body;
      this.pod = { ...this.pod, status };
    } else if (res.status !== 404) {
      this.#log.warn({ status: res.status, body: res.body }, 'pod status update refused');
    }
  }
}

/** Runs an exec probe's command in the container, collecting at most 10 KiB of output. */
async function execForProbe(
  runner: ContainerRunner,
  argv: string[],
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  const proc = runner.process;
  if (!proc) return { code: -1, output: 'container is not running' };
  const p = execInContainer(proc, runner.env, { argv, stdin: false, tty: false });
  let output = '';
  const take = (c: Buffer) => {
    if (output.length < 10_240) output += c.toString('utf8');
  };
  p.stdout.on('data', take);
  p.stderr?.on('data', take);
  const timer = setTimeout(() => p.kill(), timeoutMs);
  const exit = await p.exited;
  clearTimeout(timer);
  return { code: exit.code, output };
}
