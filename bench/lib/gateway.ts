import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { stopChild, waitPort } from './haproxy.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface GatewayOptions {
  port: number;
  adminPort: number;
  upstreams: readonly string[];
  /** Listener TLS: serving cert/key and the client CA. */
  tls: { certFile: string; keyFile: string; clientCAFile: string };
  upstreamCA: string;
  credentials: { certFile: string; keyFile: string };
  /** Folder for the config file, the access log and any CPU profile. */
  dir: string;
  /** Write a V8 CPU profile into this folder on exit. */
  cpuProfDir?: string;
  /** Run with `--trace-gc` and keep what it prints (`gcTrace()`). */
  traceGc?: boolean;
  /** Extra rules ahead of the defaults (the reload scenario swaps them). */
  rules?: readonly Record<string, unknown>[];
}

// Full pipeline, nothing ever triggers: rules a request walks past, limits far above the load.
const RULES: readonly Record<string, unknown>[] = [
  { name: 'probes', match: { nonResourceURLs: ['/healthz*', '/livez*', '/readyz*'] }, exempt: true },
  {
    name: 'shed-pod-lists',
    match: { verbs: ['list'], apiGroups: [''], resources: ['pods'], namespaces: [''] },
  },
  {
    name: 'ci',
    match: { serviceAccounts: ['ci:*'] },
    limits: { qps: 5, burst: 10, perUser: { key: 'serviceAccount' } },
  },
  {
    name: 'everyone',
    exclude: { namespaces: ['kube-system'] },
    limits: {
      qps: 1000000,
      burst: 1000000,
      maxInflightReadOnly: 100000,
      maxInflightMutating: 10000,
      maxLongRunning: 100000,
      queue: { length: 1000, timeoutSeconds: 10 },
    },
  },
];

function workersSetting(): number | 'auto' {
  const w = process.env.BENCH_KUBEGATE_WORKERS;
  return w === undefined || w === 'auto' ? 'auto' : Number(w);
}

/** The GatewayConfiguration document the bench runs kubegate with. */
export function gatewayConfiguration(o: GatewayOptions): Record<string, unknown> {
  return {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [{ name: 'main', address: '127.0.0.1', port: o.port, tls: o.tls, cluster: 'bench' }],
    clusters: [
      {
        name: 'bench',
        endpoints: o.upstreams.map((url, i) => ({ name: `upstream-${i}`, url })),
        upstreamCA: { file: o.upstreamCA },
        credentials: o.credentials,
        balancer: 'least-request',
        healthCheck: { intervalSeconds: 2, timeoutSeconds: 1, rise: 1, fall: 2 },
        rules: [...(o.rules ?? []), ...RULES],
        defaultRule: { limits: { maxInflightReadOnly: 100000, maxInflightMutating: 10000 } },
      },
    ],
    accessLog: { path: join(o.dir, 'access.log') },
    admin: { address: '127.0.0.1', port: o.adminPort },
    shutdown: { drainSeconds: 1 },
    // One worker thread per core; BENCH_KUBEGATE_WORKERS=1 measures a single thread.
    workers: workersSetting(),
    // BENCH_KUBEGATE_YOUNG_MB: the workers' young generation (kubegate's default: 16 MiB).
    ...(process.env.BENCH_KUBEGATE_YOUNG_MB
      ? { workerYoungGenerationMb: Number(process.env.BENCH_KUBEGATE_YOUNG_MB) }
      : {}),
  };
}

/** `kubegate serve` as a child process (node directly, so its pid is the gateway's). */
export class Gateway {
  readonly opts: GatewayOptions;
  readonly file: string;
  #child: ChildProcess | null = null;
  #stdout = '';

  constructor(opts: GatewayOptions) {
    this.opts = opts;
    // A folder of its own, as a ConfigMap volume is: kubegate watches the configuration's folder, and
    // the access log and h2load's request log beside it woke its main thread on every write (4.4%
    // of a core at max load, 0.6% without).
    mkdirSync(join(opts.dir, 'config'), { recursive: true });
    this.file = join(opts.dir, 'config', 'kubegate.yaml');
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  get url(): string {
    return `https://127.0.0.1:${this.opts.port}`;
  }

  /** The configuration file's text with `rules` ahead of the defaults (default: the options' rules). */
  render(rules?: readonly Record<string, unknown>[]): string {
    return stringify(gatewayConfiguration({ ...this.opts, rules: rules ?? this.opts.rules }));
  }

  /**
   * Replaces the configuration file with `text` atomically (written beside it, then renamed; kubegate
   * reloads it live). Synchronous, so that a clock read just before brackets the rename: this process
   * also serves the tiny upstream, and each asynchronous step would wait behind its requests.
   */
  replace(text: string): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.file);
  }

  /** Rewrites the configuration atomically (kubegate reloads it live). */
  async write(rules?: readonly Record<string, unknown>[]): Promise<void> {
    this.replace(this.render(rules));
  }

  /** Starts the gateway and waits until its admin /readyz answers 200. */
  async start(): Promise<void> {
    await this.write();
    const args = this.opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${this.opts.cpuProfDir}`] : [];
    // BENCH_NODE_ARGS (e.g. --trace-gc): extra node flags, and the gateway's stdout shown.
    const extra = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    // --max-semi-space-size as bin/kubegate and the image start it.
    if (this.opts.traceGc) args.push('--trace-gc');
    const argv = [...args, '--max-semi-space-size=8', ...extra, MAIN, 'serve', '-f', this.file];
    this.#child = spawn(process.execPath, argv, {
      stdio: ['ignore', this.opts.traceGc ? 'pipe' : extra.length > 0 ? 'inherit' : 'ignore', 'inherit'],
    });
    this.#stdout = '';
    this.#child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.#stdout += s));
    await waitPort(this.opts.port, 30_000);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await fetch(`http://127.0.0.1:${this.opts.adminPort}/readyz`).catch(() => null);
      if (res?.status === 200) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('kubegate did not become ready within 30 s');
  }

  /** What `--trace-gc` printed so far (with `traceGc`); a length of it marks a point in time. */
  gcTrace(): string {
    return this.#stdout;
  }

  /** SIGTERM (a CPU profile is written on a clean exit), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await stopChild(this.#child, 10_000);
    this.#child = null;
  }
}
