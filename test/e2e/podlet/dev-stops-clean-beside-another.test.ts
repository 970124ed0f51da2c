import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { devDir, devDirB, kubectlPath } from '../env.ts';
import { netnsList, waitFor } from './pods.ts';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/kubegate', import.meta.url));

interface State {
  pids: Record<string, number>;
  nodes: { name: string; internalIP: string; netns: string }[];
}

const stateOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;

/** Processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text)) pids.push(Number(d));
    } catch {
      // gone
    }
  }
  return pids;
}

test('the test run’s two kubegate dev clusters have labs of their own on one machine', async () => {
  const a = stateOf(devDir());
  const b = stateOf(devDirB());
  const namespaces = await netnsList();
  for (const n of [...a.nodes, ...b.nodes]) assert.ok(namespaces.includes(n.netns), `${n.netns} exists`);
  const prefixes = new Set([...a.nodes, ...b.nodes].map((n) => n.netns.split('-')[0]));
  assert.equal(prefixes.size, 2, 'each run names its namespaces with its own prefix');
  // Both have a node-1 with the same InternalIP, each in its own namespaces: no collision.
  assert.equal(a.nodes[0].internalIP, b.nodes[0].internalIP);
  assert.notEqual(a.nodes[0].netns, b.nodes[0].netns);
});

test(
  'Ctrl-C on kubegate dev --nodes 2 leaves no process, network namespace, veth or mount behind',
  { timeout: 240_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubegate-ctrlc-'));
    const child = spawn(BIN, ['dev', '--dir', dir, '--apiservers', '1', '--nodes', '2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await waitFor(async () => /^kubegate dev: ready$/m.test(out), 180_000, 'kubegate dev to be ready');
      const state = stateOf(dir);
      const prefix = state.nodes[0].netns.split('-')[0];
      const kc = ['--kubeconfig', join(dir, 'gateway.kubeconfig')];
      await waitFor(
        async () => Boolean(await run(kubectlPath(), [...kc, 'get', 'sa', 'default'])),
        30_000,
        'default ServiceAccount',
      );
      // A pod with a volume (mounted in its own mount namespace) on each node.
      const pods = ['node-1', 'node-2'].map((node) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p-${node}`, namespace: 'default' },
        spec: {
          nodeSelector: { 'kubernetes.io/hostname': node },
          volumes: [{ name: 'v', emptyDir: {} }],
          containers: [
            {
              name: 'main',
              image: 'registry.k8s.io/pause:3.10',
              volumeMounts: [{ name: 'v', mountPath: '/srv/data' }],
            },
          ],
        },
      }));
      const apply = spawn(kubectlPath(), [...kc, 'apply', '-f', '-']);
      apply.stdin.end(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
      assert.equal(await new Promise((r) => apply.once('close', r)), 0);
      await run(kubectlPath(), [...kc, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=60s']);
      assert.ok(
        (await netnsList()).filter((n) => n.startsWith(`${prefix}-`)).length >= 5,
        'underlay, 2 nodes, 2 pods',
      );
      assert.ok(processesMentioning(dir).length > 5);

      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      assert.deepEqual(processesMentioning(dir), [], 'no process of the run is left');
      for (const pid of Object.values(state.pids))
        assert.throws(() => process.kill(pid, 0), `pid ${pid} is gone`);
      assert.deepEqual(
        (await netnsList()).filter((n) => n.startsWith(`${prefix}-`)),
        [],
        'no network namespace left',
      );
      const links = (await run('ip', ['-o', 'link'])).stdout;
      assert.doesNotMatch(links, /\bkg[0-9a-f]{12}\b/, 'no pod veth in the root namespace');
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
      assert.ok(!mounts.includes(prefix) && !mounts.includes(dir), 'no mount of the run is left');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
