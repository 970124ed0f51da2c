import type { Duplex, Readable, Writable } from 'node:stream';

// The seams between the podlet's parts: the pod worker (pod lifecycle and status), the runtime
// (network namespaces, processes, mounts), the spec resolver (env, volumes, probes) and the kubelet
// API server (logs, exec, attach, port-forward). Each side codes against these shapes only.

/** A pod's network sandbox: its own network namespace with one veth into the node's bridge. */
export interface PodSandbox {
  /** Name of the network namespace (`ip netns` name, under /run/netns). */
  readonly netns: string;
  readonly ip: string;
  /** Removes the namespace and its veth and frees the IP. Idempotent. */
  destroy(): Promise<void>;
}

/** A file or folder made visible inside a container at `mountPath`. */
export interface Mount {
  readonly hostPath: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
}

export interface ContainerStartOptions {
  readonly sandbox: PodSandbox;
  /** Unique per container instance (pod uid, container name, restart count). */
  readonly id: string;
  /** Resolved program and arguments (argv[0] is an absolute path on this machine). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  readonly mounts: readonly Mount[];
  /** Where stdout and stderr go, in the CRI log format (`<RFC3339Nano> stdout|stderr F|P <text>`). */
  readonly logPath: string;
  /** `spec.containers[].stdin`: keep an open stdin that `attach` can write to. */
  readonly stdin: boolean;
  readonly stdinOnce: boolean;
  readonly tty: boolean;
  /** `securityContext.runAsUser` / `runAsGroup`, when set. */
  readonly uid?: number;
  readonly gid?: number;
  /** The container's hostname (its own UTS namespace); default: the machine's. */
  readonly hostname?: string;
}

export interface ExitStatus {
  /** Exit code; 128+signal when killed by a signal (as a container runtime reports it). */
  readonly code: number;
  readonly signal: NodeJS.Signals | null;
  readonly finishedAt: Date;
}

/** An output stream an attached client reads, and the input it writes. */
export interface AttachStreams {
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  /** null when the container has a TTY (stderr is merged into stdout). */
  readonly stderr: Readable | null;
  resize(cols: number, rows: number): void;
  /** Stops delivering output to this attacher. */
  detach(): void;
}

/** One running container process. */
export interface ContainerProcess {
  readonly id: string;
  readonly pid: number;
  readonly startedAt: Date;
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs: number): Promise<ExitStatus>;
  /** SIGKILL now. */
  kill(): void;
  attach(): AttachStreams;
}

export interface ExecOptions {
  readonly argv: readonly string[];
  readonly stdin: boolean;
  readonly tty: boolean;
}

/** A command started inside a running container's namespaces (kubectl exec). */
export interface ExecProcess {
  readonly stdin: Writable | null;
  readonly stdout: Readable;
  /** null with a TTY. */
  readonly stderr: Readable | null;
  resize(cols: number, rows: number): void;
  readonly exited: Promise<ExitStatus>;
  kill(): void;
}

/** What the kubelet API server needs from the podlet: lookups by namespace/pod/container. */
export interface KubeletBackend {
  /** The CRI-format log file of the container's current (or, with `previous`, last) instance. */
  logPath(namespace: string, pod: string, container: string, previous: boolean): string | KubeletLookupError;
  /** Resolves once the container's current instance has exited (for `follow` to end). */
  containerExited(namespace: string, pod: string, container: string): Promise<void> | null;
  exec(
    namespace: string,
    pod: string,
    container: string,
    opts: ExecOptions,
  ): ExecProcess | KubeletLookupError;
  attach(namespace: string, pod: string, container: string): AttachStreams | KubeletLookupError;
  /** Whether the pod runs on this node (checked before a port-forward upgrade). */
  hasPod(namespace: string, pod: string): boolean;
  /** A TCP connection to `port` on the pod's own loopback, from inside its network namespace. */
  portForward(namespace: string, pod: string, port: number): Promise<Duplex> | KubeletLookupError;
}

/** A lookup that failed: the kubelet answers it with this HTTP status and message. */
export class KubeletLookupError extends Error {
  override name = 'KubeletLookupError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Objects a pod's spec refers to, read as the node (the Node authorizer allows what its pods use). */
export interface ObjectSource {
  secret(namespace: string, name: string): Promise<KubeSecret | null>;
  configMap(namespace: string, name: string): Promise<KubeConfigMap | null>;
  /** TokenRequest bound to the pod, as the kubelet asks for projected tokens. */
  serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    req: { audience?: string; expirationSeconds: number; podName: string; podUID: string },
  ): Promise<{ token: string; expirationTimestamp: string }>;
}

export interface KubeSecret {
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  type?: string;
}

export interface KubeConfigMap {
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}
