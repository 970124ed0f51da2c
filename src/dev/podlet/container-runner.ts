import type { V1Container, V1ContainerState, V1ContainerStatus, V1Probe } from '@kubernetes/client-node';
import { findImage, KNOWN_IMAGES, ProgramNotFound, type KnownImage } from './images.ts';
import { pause, RestartBackoff, shouldRestart } from './restart-backoff.ts';
import type { ContainerProcess, ExitStatus, Mount } from './types.ts';

export type ContainerKind = 'init' | 'sidecar' | 'regular';

/** What a container needs from its pod: the pod's sandbox, spec resolution and reporting. */
export interface ContainerHost {
  readonly signal: AbortSignal;
  readonly restartPolicy: string;
  /** terminationGracePeriodSeconds in ms, for kills after a failed probe. */
  readonly graceMs: number;
  /** Environment, argv and mounts, or throws a SpecError / ProgramNotFound. */
  prepare(
    spec: V1Container,
    image: KnownImage,
  ): Promise<{ env: Record<string, string>; argv: string[]; mounts: Mount[] }>;
  start(
    spec: V1Container,
    id: string,
    prepared: { env: Record<string, string>; argv: string[]; mounts: Mount[] },
    logPath: string,
  ): ContainerProcess;
  logPath(name: string, restartCount: number): string;
  /** A probe runner for this container; `onResult` is called on every transition. */
  probe(
    spec: V1Container,
    probe: V1Probe,
    kind: ProbeKind,
    onResult: (ok: boolean, message: string) => void,
  ): { stop(): void };
  changed(): void;
  event(type: 'Normal' | 'Warning', reason: string, message: string, fieldPath: string): void;
}

export type ProbeKind = 'startup' | 'readiness' | 'liveness';

interface Termination {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
  containerID: string;
}

/**
 * One container of a pod through its life: image, config, start, probes, exit, restart with
 * back-off as `restartPolicy` says. Its status is read by the pod worker whenever it changes.
 */
export class ContainerRunner {
  readonly spec: V1Container;
  readonly kind: ContainerKind;
  readonly #host: ContainerHost;
  readonly #fieldPath: string;
  readonly #backoff = new RestartBackoff();
  restartCount = 0;
  process: ContainerProcess | null = null;
  env: Record<string, string> = {};
  ready = false;
  started = false;
  #waiting: { reason: string; message?: string } | null = { reason: 'ContainerCreating' };
  #terminated: Termination | null = null;
  #last: Termination | null = null;
  #probes: { stop(): void }[] = [];
  #killReason: string | null = null;

  constructor(spec: V1Container, kind: ContainerKind, host: ContainerHost) {
    this.spec = spec;
    this.kind = kind;
    this.#host = host;
    this.#fieldPath = `spec.${kind === 'regular' ? 'containers' : 'initContainers'}{${spec.name}}`;
  }

  get terminated(): Termination | null {
    return this.#terminated;
  }

  /** The CRI log of the current instance, or of the previous one. */
  logPath(previous: boolean): string | null {
    if (previous)
      return this.restartCount > 0 ? this.#host.logPath(this.spec.name, this.restartCount - 1) : null;
    return this.#host.logPath(this.spec.name, this.restartCount);
  }

  /** Runs until the container is done for good (no restart due) or the pod is stopping. */
  async run(): Promise<void> {
    const signal = this.#host.signal;
    let pullFailures = 0;
    while (!signal.aborted) {
      const image = findImage(this.spec.image ?? '');
      if (!image) {
        const known = KNOWN_IMAGES.map((i) => i.name).join(', ');
        const message = `podlet: image "${this.spec.image}" is not one the podlet can run (known: ${known})`;
        this.#wait(pullFailures === 0 ? 'ErrImagePull' : 'ImagePullBackOff', message);
        this.#host.event(
          'Warning',
          'Failed',
          `Failed to pull image "${this.spec.image}": ${message}`,
          this.#fieldPath,
        );
        if (!(await pause(Math.min(10_000 * 2 ** pullFailures++, 300_000), signal))) return;
        continue;
      }
      let prepared: Awaited<ReturnType<ContainerHost['prepare']>>;
      try {
        prepared = await this.#host.prepare(this.spec, image);
      } catch (err) {
        const reason =
          err instanceof ProgramNotFound
            ? 'RunContainerError'
            : ((err as { reason?: string }).reason ?? 'CreateContainerConfigError');
        this.#wait(reason, (err as Error).message);
        this.#host.event('Warning', 'Failed', `Error: ${(err as Error).message}`, this.#fieldPath);
        if (!(await pause(this.#backoff.delay(0) || 1000, signal))) return;
        continue;
      }
      if (signal.aborted) return;
      this.env = prepared.env;
      const id = `${this.spec.name}-${this.restartCount}`;
      let proc: ContainerProcess;
      try {
        proc = this.#host.start(
          this.spec,
          id,
          prepared,
          this.#host.logPath(this.spec.name, this.restartCount),
        );
      } catch (err) {
        this.#wait('RunContainerError', (err as Error).message);
        this.#host.event('Warning', 'Failed', `Error: ${(err as Error).message}`, this.#fieldPath);
        if (!(await pause(this.#backoff.delay(0) || 1000, signal))) return;
        continue;
      }
      this.process = proc;
      this.#waiting = null;
      this.#terminated = null;
      this.#host.event('Normal', 'Created', `Created container: ${this.spec.name}`, this.#fieldPath);
      this.#host.event('Normal', 'Started', `Started container ${this.spec.name}`, this.#fieldPath);
      this.#startProbes(proc);
      this.#host.changed();

      const exit = await proc.exited;
      this.#stopProbes();
      const t = this.#termination(proc, exit);
      this.#last = t;
      this.process = null;
      this.#killReason = null;
      if (signal.aborted || !shouldRestart(this.#host.restartPolicy, exit.code)) {
        this.#terminated = t;
        this.#host.changed();
        return;
      }
      const delay = this.#backoff.delay(exit.finishedAt.getTime() - t.startedAt.getTime());
      if (delay > 0) {
        const message = `back-off ${delay / 1000}s restarting failed container=${this.spec.name}`;
        this.#wait('CrashLoopBackOff', message);
        this.#host.event('Warning', 'BackOff', 'Back-off restarting failed container', this.#fieldPath);
        if (!(await pause(delay, signal))) return;
      }
      this.restartCount++;
    }
  }

  #wait(reason: string, message?: string): void {
    this.#waiting = { reason, message };
    this.#terminated = null;
    this.#host.changed();
  }

  #termination(proc: ContainerProcess, exit: ExitStatus): Termination {
    const reason = this.#killReason ?? (exit.code === 0 ? 'Completed' : 'Error');
    return {
      exitCode: exit.code,
      reason,
      startedAt: proc.startedAt,
      finishedAt: exit.finishedAt,
      containerID: `podlet://${proc.id}`,
    };
  }

  #startProbes(proc: ContainerProcess): void {
    const { startupProbe, readinessProbe, livenessProbe } = this.spec;
    this.ready = !readinessProbe;
    this.started = !startupProbe;
    const afterStartup = () => {
      if (readinessProbe)
        this.#probes.push(
          this.#host.probe(this.spec, readinessProbe, 'readiness', (ok) => {
            this.ready = ok;
            this.#host.changed();
          }),
        );
      if (livenessProbe)
        this.#probes.push(
          this.#host.probe(this.spec, livenessProbe, 'liveness', (ok, message) => {
            if (!ok) this.#failed(proc, 'Liveness', message);
          }),
        );
    };
    if (startupProbe) {
      this.#probes.push(
        this.#host.probe(this.spec, startupProbe, 'startup', (ok, message) => {
          if (!ok) return this.#failed(proc, 'Startup', message);
          if (this.started) return;
          this.started = true;
          this.#host.changed();
          afterStartup();
        }),
      );
    } else afterStartup();
  }

  #failed(proc: ContainerProcess, kind: string, message: string): void {
    this.#host.event('Warning', 'Unhealthy', `${kind} probe failed: ${message}`, this.#fieldPath);
    this.#host.event(
      'Normal',
      'Killing',
      `Container ${this.spec.name} failed ${kind.toLowerCase()} probe, will be restarted`,
      this.#fieldPath,
    );
    this.#killReason = 'Error';
    void proc.stop(this.#host.graceMs);
  }

  #stopProbes(): void {
    for (const p of this.#probes) p.stop();
    this.#probes = [];
    this.ready = false;
  }

  /** Stops the current instance (pod deletion): probes off, SIGTERM, SIGKILL after the grace. */
  async stop(graceMs: number): Promise<void> {
    this.#stopProbes();
    const proc = this.process;
    if (proc) {
      this.#host.event('Normal', 'Killing', `Stopping container ${this.spec.name}`, this.#fieldPath);
      await proc.stop(graceMs);
    }
  }

  /** The `containerStatuses[]` entry, as a kubelet reports it. */
  status(): V1ContainerStatus {
    const state: V1ContainerState = {};
    if (this.process) state.running = { startedAt: this.process.startedAt };
    else if (this.#terminated) state.terminated = terminatedState(this.#terminated);
    else state.waiting = this.#waiting ?? { reason: 'ContainerCreating' };
    const s: V1ContainerStatus = {
      name: this.spec.name,
      image: this.spec.image ?? '',
      imageID: `podlet://${findImage(this.spec.image ?? '')?.name ?? 'unknown'}`,
      ready: this.process !== null && this.ready && this.started,
      started: this.process !== null && this.started,
      restartCount: this.restartCount,
      state,
      lastState:
        this.#last && this.#last !== this.#terminated ? { terminated: terminatedState(this.#last) } : {},
    };
    if (this.process) s.containerID = `podlet://${this.process.id}`;
    else if (this.#terminated) s.containerID = this.#terminated.containerID;
    return s;
  }
}

function terminatedState(t: Termination) {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    ...(t.message ? { message: t.message } : {}),
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    containerID: t.containerID,
  };
}
