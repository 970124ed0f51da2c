import type { Duplex } from 'node:stream';
import type { ContainerRunner } from './container-runner.ts';
import { imageProgram } from './images.ts';
import type { PodWorker } from './pod-worker.ts';
import { connectInNetns, execInContainer } from './runtime/index.ts';
import {
  KubeletLookupError,
  type AttachStreams,
  type ExecOptions,
  type ExecProcess,
  type KubeletBackend,
} from './types.ts';

/** The kubelet API's view of this node's pods: lookups by namespace, pod and container name. */
export class PodletBackend implements KubeletBackend {
  readonly #pods: () => Iterable<PodWorker>;
  readonly #binDir: string;

  constructor(pods: () => Iterable<PodWorker>, binDir: string) {
    this.#pods = pods;
    this.#binDir = binDir;
  }

  #worker(namespace: string, pod: string): PodWorker | KubeletLookupError {
    for (const w of this.#pods()) {
      const m = w.pod.metadata!;
      if (m.namespace === namespace && m.name === pod) return w;
    }
    return new KubeletLookupError(404, `pod "${pod}" in namespace "${namespace}" is not on this node`);
  }

  #container(namespace: string, pod: string, container: string): ContainerRunner | KubeletLookupError {
    const w = this.#worker(namespace, pod);
    if (w instanceof KubeletLookupError) return w;
    return (
      w.container(container) ??
      new KubeletLookupError(404, `container "${container}" not found in pod "${namespace}/${pod}"`)
    );
  }

  #running(namespace: string, pod: string, container: string): ContainerRunner | KubeletLookupError {
    const c = this.#container(namespace, pod, container);
    if (c instanceof KubeletLookupError) return c;
    if (!c.process) return new KubeletLookupError(400, `container ${container} is not running`);
    return c;
  }

  logPath(namespace: string, pod: string, container: string, previous: boolean): string | KubeletLookupError {
    const c = this.#container(namespace, pod, container);
    if (c instanceof KubeletLookupError) return c;
    const path = c.logPath(previous);
    if (path) return path;
    return new KubeletLookupError(
      400,
      `previous terminated container "${container}" in pod "${pod}" not found`,
    );
  }

  containerExited(namespace: string, pod: string, container: string): Promise<void> | null {
    const c = this.#container(namespace, pod, container);
    if (c instanceof KubeletLookupError || !c.process) return null;
    return c.process.exited.then(() => undefined);
  }

  exec(
    namespace: string,
    pod: string,
    container: string,
    opts: ExecOptions,
  ): ExecProcess | KubeletLookupError {
    const c = this.#running(namespace, pod, container);
    if (c instanceof KubeletLookupError) return c;
    // `kubectl exec pod -- /agnhost connect …` names the program by its path inside the image.
    const program = imageProgram(opts.argv[0] ?? '', this.#binDir);
    const argv = program ? [program, ...opts.argv.slice(1)] : opts.argv;
    return execInContainer(c.process!, c.env, { ...opts, argv });
  }

  attach(namespace: string, pod: string, container: string): AttachStreams | KubeletLookupError {
    const c = this.#running(namespace, pod, container);
    if (c instanceof KubeletLookupError) return c;
    return c.process!.attach();
  }

  hasPod(namespace: string, pod: string): boolean {
    return !(this.#worker(namespace, pod) instanceof KubeletLookupError);
  }

  portForward(namespace: string, pod: string, port: number): Promise<Duplex> | KubeletLookupError {
    const w = this.#worker(namespace, pod);
    if (w instanceof KubeletLookupError) return w;
    const sandbox = w.sandbox;
    if (!sandbox) return new KubeletLookupError(400, `pod "${pod}" has no running sandbox`);
    return connectInNetns(sandbox.netns, '127.0.0.1', port);
  }
}
