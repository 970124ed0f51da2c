import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Two control planes per test run, shared by every e2e file, each `kubegate dev` itself, started
// the way a user starts it, so the e2e tests exercise its folder contract:
// - cluster A (KUBEGATE_DEV_DIR): 3 apiservers and 2 nodes, with Gateway API and node networking
//   (`kubegate node` in each node: Services and NetworkPolicies), the one most tests use;
// - cluster B (KUBEGATE_DEV_DIR_B): 1 apiserver with its own etcd and PKI, for multi-cluster tests,
//   and 1 node of its own (two labs side by side on one machine must not collide).
const BIN = fileURLToPath(new URL('../../bin/kubegate', import.meta.url));
const PROVIDE = fileURLToPath(new URL('../../tools/control-plane/provide.sh', import.meta.url));
const children: ChildProcess[] = [];

function startDev(envName: string, apiservers: number, nodes: number, extra: string[] = []): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-e2e-'));
  process.env[envName] = dir;
  const args = ['dev', '--dir', dir, '--apiservers', String(apiservers), '--nodes', String(nodes), ...extra];
  const child = spawn(BIN, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`kubegate dev (${envName}) not ready after 15 min:\n${out}`)),
      15 * 60_000,
    );
    const onData = (c: Buffer) => {
      out += c.toString();
      if (/^kubegate dev: ready$/m.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kubegate dev (${envName}) exited with ${code} before ready:\n${out}`));
    });
  });
}

export async function globalSetup(): Promise<void> {
  // The tests' kubectl is the one built with the control plane (same Kubernetes version).
  process.env.KUBEGATE_KUBECTL = join(
    execFileSync('sh', [PROVIDE, 'kubectl'], { encoding: 'utf8' }).trim(),
    'kubectl',
  );
  await Promise.all([
    startDev('KUBEGATE_DEV_DIR', 3, 2, ['--gateway-api', '--node-networking']),
    startDev('KUBEGATE_DEV_DIR_B', 1, 1),
  ]);
}

export async function globalTeardown(): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }),
  );
  // The control planes' folders (etcd data, PKI, logs) are the run's own: leave nothing behind.
  for (const name of ['KUBEGATE_DEV_DIR', 'KUBEGATE_DEV_DIR_B']) {
    const dir = process.env[name];
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
