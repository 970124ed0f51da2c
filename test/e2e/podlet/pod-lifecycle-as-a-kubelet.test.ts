import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  AGNHOST,
  apply,
  createNamespace,
  deleteNamespace,
  getPod,
  k,
  netnsList,
  pod,
  processesWithEnv,
  waitFor,
  waitPodReady,
} from './pods.ts';

let ns = '';

/** The processes carrying `marker` in their environment, once there is one (at most 10 s). */
async function containerProcesses(marker: string): Promise<number[]> {
  let pids: number[] = [];
  await waitFor(
    async () => (pids = processesWithEnv(marker)).length > 0,
    10_000,
    `a process with ${marker}`,
  ).catch(() => undefined);
  return pids;
}
before(async () => {
  ns = await createNamespace('podlet-life');
});
after(async () => {
  await deleteNamespace(ns);
});

test(
  'a deleted pod that ignores SIGTERM is killed at the end of its grace period, and its namespace is gone',
  { timeout: 90_000 },
  async () => {
    const marker = `PODLET_MARK=${randomUUID()}`;
    const [key, value] = marker.split('=');
    await apply({
      ...pod('stubborn', ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'], {
        grace: 3,
        env: { [key]: value },
      }),
      metadata: { name: 'stubborn', namespace: ns },
    });
    const p = await waitPodReady(ns, 'stubborn');
    // Running is reported once the process is spawned; its exec chain (setpriv, nsenter, unshare,
    // env) reaches the program, and the program's own environment, a moment later.
    const pids = await containerProcesses(marker);
    assert.ok(pids.length >= 1, 'the container runs as a process of this machine');
    const netnsBefore = (await netnsList()).filter((n) => n.endsWith(p.metadata.uid.slice(0, 8)));
    assert.equal(netnsBefore.length, 1, 'the pod has a network namespace of its own');

    const started = Date.now();
    await k(['-n', ns, 'delete', 'pod', 'stubborn', '--wait=false']);
    // Still running inside the grace period: SIGTERM was ignored.
    await new Promise((r) => setTimeout(r, 1500));
    assert.ok(processesWithEnv(marker).length >= 1, 'alive during the grace period');
    await waitFor(async () => processesWithEnv(marker).length === 0, 10_000, 'the process to be killed');
    const killedAfter = Date.now() - started;
    assert.ok(killedAfter >= 2500 && killedAfter <= 8000, `killed after ${killedAfter} ms (grace 3 s)`);
    await waitFor(
      async () => !(await netnsList()).includes(netnsBefore[0]),
      10_000,
      'the network namespace to be removed',
    );
    await waitFor(
      async () => (await k(['-n', ns, 'get', 'pods', '-o', 'name'])).trim() === '',
      10_000,
      'the pod object to be deleted',
    );
  },
);

test('killing a pod process restarts it with restartCount 1', { timeout: 90_000 }, async () => {
  const marker = `PODLET_MARK=${randomUUID()}`;
  const [key, value] = marker.split('=');
  await apply({
    ...pod('restarter', ['/agnhost', 'netexec', '--http-port=8080'], { env: { [key]: value } }),
    metadata: { name: 'restarter', namespace: ns },
  });
  await waitPodReady(ns, 'restarter');
  const [pid] = await containerProcesses(marker);
  assert.ok(pid, 'found the container process');
  process.kill(pid, 'SIGKILL');
  await waitFor(
    async () => {
      const p = await getPod(ns, 'restarter');
      const c = p.status.containerStatuses?.[0];
      return c?.restartCount === 1 && c.state.running !== undefined && c.ready;
    },
    30_000,
    'the container to run again with restartCount 1',
  );
  const [again] = await containerProcesses(marker);
  assert.ok(again && again !== pid, 'a new process');
  const p = await getPod(ns, 'restarter');
  const last = (
    p.status.containerStatuses?.[0] as unknown as { lastState: { terminated: { exitCode: number } } }
  ).lastState;
  assert.equal(last.terminated.exitCode, 137, 'the last state shows SIGKILL as 128+9');
});

test(
  'an unknown image shows ErrImagePull or ImagePullBackOff and the node keeps running other pods',
  { timeout: 60_000 },
  async () => {
    await apply(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'unknown', namespace: ns },
        spec: { containers: [{ name: 'main', image: 'example.com/no/such-image:1' }] },
      },
      { ...pod('neighbour', ['/agnhost', 'pause']), metadata: { name: 'neighbour', namespace: ns } },
    );
    let reason = '';
    let message = '';
    await waitFor(
      async () => {
        const w = (await getPod(ns, 'unknown')).status.containerStatuses?.[0]?.state.waiting;
        reason = w?.reason ?? '';
        message = w?.message ?? '';
        return reason === 'ErrImagePull' || reason === 'ImagePullBackOff';
      },
      30_000,
      'the waiting reason',
    );
    assert.match(message, /such-image/);
    await waitPodReady(ns, 'neighbour');
    const events = await k([
      '-n',
      ns,
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=unknown',
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    assert.match(events, /Failed/);
  },
);

test(
  'a pod asking for hostPID gets a clear waiting reason and an event, not a crash',
  { timeout: 60_000 },
  async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'hostpid', namespace: ns },
      spec: { hostPID: true, containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }] },
    });
    let waiting: { reason: string; message?: string } | undefined;
    await waitFor(
      async () => {
        waiting = (await getPod(ns, 'hostpid')).status.containerStatuses?.[0]?.state.waiting;
        return waiting?.reason === 'CreateContainerConfigError';
      },
      30_000,
      'the waiting reason',
    );
    assert.match(waiting!.message ?? '', /hostPID/);
  },
);

test(
  'an exec readiness probe gates Ready, and a failing liveness probe restarts the container',
  { timeout: 90_000 },
  async () => {
    await apply(
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'gated', namespace: ns },
        spec: {
          volumes: [{ name: 'data', emptyDir: {} }],
          containers: [
            {
              name: 'main',
              image: AGNHOST,
              args: ['netexec', '--http-port=8080'],
              volumeMounts: [{ name: 'data', mountPath: '/srv/data' }],
              readinessProbe: { exec: { command: ['test', '-f', '/srv/data/ready'] }, periodSeconds: 1 },
              startupProbe: {
                httpGet: { path: '/hostname', port: 8080 },
                periodSeconds: 1,
                failureThreshold: 30,
              },
            },
          ],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'unhealthy', namespace: ns },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'main',
              image: AGNHOST,
              args: ['netexec', '--http-port=8080'],
              livenessProbe: { tcpSocket: { port: 9999 }, periodSeconds: 1, failureThreshold: 2 },
            },
          ],
        },
      },
    );
    await waitFor(
      async () => (await getPod(ns, 'gated')).status.containerStatuses?.[0]?.state.running !== undefined,
      30_000,
      'gated to run',
    );
    await new Promise((r) => setTimeout(r, 3000));
    const before = await getPod(ns, 'gated');
    assert.equal(before.status.containerStatuses?.[0]?.ready, false, 'not ready while the probe fails');
    await k(['-n', ns, 'exec', 'gated', '--', 'touch', '/srv/data/ready']);
    await waitPodReady(ns, 'gated', 15_000);

    await waitFor(
      async () => ((await getPod(ns, 'unhealthy')).status.containerStatuses?.[0]?.restartCount ?? 0) >= 1,
      30_000,
      'a restart after the liveness probe failed',
    );
    const events = await k([
      '-n',
      ns,
      'get',
      'events',
      '--field-selector',
      'involvedObject.name=unhealthy',
      '-o',
      'jsonpath={.items[*].reason}',
    ]);
    assert.match(events, /Unhealthy/);
    assert.match(events, /Killing/);
  },
);
