import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { devDir, kubectlPath } from '../env.ts';

const run = promisify(execFile);

/** The two ways in: through kubegate, and straight to an apiserver. */
export const KUBECONFIGS = ['gateway.kubeconfig', 'apiserver-0.kubeconfig'] as const;

export const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.66';

/** Runs kubectl and resolves with its exit code and output, whatever the code. */
export function kubectlRun(
  kubeconfig: string,
  args: readonly string[],
  opts: { input?: Buffer | string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath(), ['--kubeconfig', join(devDir(), kubeconfig), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kubectl ${args.join(' ')} timed out; stderr: ${err}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** kubectl that must succeed; resolves with stdout as text. */
export async function k(
  args: readonly string[],
  kubeconfig = 'gateway.kubeconfig',
  input?: string,
): Promise<string> {
  const r = await kubectlRun(kubeconfig, args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout.toString();
}

/** Applies a manifest (objects as JSON) with kubectl. */
export async function apply(...objects: object[]): Promise<void> {
  await k(['apply', '-f', '-'], 'gateway.kubeconfig', objects.map((o) => JSON.stringify(o)).join('\n'));
}

export async function createNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${Date.now().toString(36)}`;
  await k(['create', 'namespace', ns]);
  // The namespace's default ServiceAccount comes from kube-controller-manager a moment later.
  await waitFor(
    async () => (await kubectlRun('gateway.kubeconfig', ['-n', ns, 'get', 'sa', 'default'])).code === 0,
    30_000,
    `default ServiceAccount in ${ns}`,
  );
  return ns;
}

export async function deleteNamespace(ns: string): Promise<void> {
  await kubectlRun('gateway.kubeconfig', ['delete', 'namespace', ns, '--wait=false']);
}

export interface PodJSON {
  metadata: { name: string; uid: string; namespace: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state: {
        waiting?: { reason: string; message?: string };
        running?: object;
        terminated?: { exitCode: number };
      };
    }[];
  };
}

export async function getPod(ns: string, name: string): Promise<PodJSON> {
  return JSON.parse(await k(['-n', ns, 'get', 'pod', name, '-o', 'json'])) as PodJSON;
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
}

export async function waitPodReady(ns: string, name: string, timeoutMs = 60_000): Promise<PodJSON> {
  let last = null as PodJSON | null;
  try {
    await waitFor(
      async () => {
        last = await getPod(ns, name);
        return last.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
      timeoutMs,
      `pod ${ns}/${name} Ready`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`, {
      cause: err,
    });
  }
  return last!;
}

/** A pod running `command` with the agnhost image; pinned to a node when `node` is given. */
export function pod(
  name: string,
  command: string[],
  opts: { node?: string; env?: Record<string, string>; grace?: number; extra?: Record<string, unknown> } = {},
): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      ...(opts.node ? { nodeSelector: { 'kubernetes.io/hostname': opts.node } } : {}),
      ...(opts.grace !== undefined ? { terminationGracePeriodSeconds: opts.grace } : {}),
      containers: [
        {
          name: 'main',
          image: AGNHOST,
          command,
          env: Object.entries(opts.env ?? {}).map(([n, value]) => ({ name: n, value })),
          ...opts.extra,
        },
      ],
    },
  };
}

/** Processes whose environment holds `KEY=value` (root can read every /proc/<pid>/environ). */
export function processesWithEnv(entry: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(entry)) pids.push(Number(d));
    } catch {
      // gone, or a kernel thread
    }
  }
  return pids;
}

export async function netnsList(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((l) => l !== '');
}
