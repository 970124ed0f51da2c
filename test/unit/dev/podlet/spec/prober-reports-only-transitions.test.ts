import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { V1Probe } from '@kubernetes/client-node';
import { Prober, type ProbeContext, type ProbeKind } from '../../../../../src/dev/podlet/spec/index.ts';

const ctx: ProbeContext = {
  podIP: '127.0.0.1',
  containerPorts: [],
  connect: () => Promise.reject(new Error('unused')),
  exec: () => Promise.reject(new Error('unused')),
};

/** A Prober whose runs follow `script` (then repeat its last entry), 1 probe second = 5 ms. */
function scripted(kind: ProbeKind, probe: V1Probe, script: boolean[]) {
  const changes: [boolean, string][] = [];
  const runs: number[] = [];
  const t0 = Date.now();
  const prober = new Prober(probe, kind, ctx, (v, m) => changes.push([v, m]), {
    secondMs: 5,
    run: async () => {
      const i = runs.length;
      runs.push(Date.now() - t0);
      const ok = script[Math.min(i, script.length - 1)];
      return { ok, message: `run ${i} ${ok ? 'ok' : 'failed'}` };
    },
  });
  return { prober, changes, runs };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(5);
  }
}

test('readiness starts not ready and flips after the success and failure thresholds', async () => {
  const { prober, changes, runs } = scripted(
    'readiness',
    { periodSeconds: 1, successThreshold: 2, failureThreshold: 3 },
    [false, true, false, true, true, true, false, false, true, false, false, false, true],
  );
  assert.equal(prober.value, false);
  prober.start();
  await until(() => runs.length >= 13);
  prober.stop();
  assert.deepEqual(changes, [
    [true, 'run 4 ok'],
    [false, 'run 11 failed'],
  ]);
  assert.equal(prober.value, false);
});

test('liveness is unknown until a threshold, then stops probing after reporting failure', async () => {
  const { prober, changes, runs } = scripted('liveness', { periodSeconds: 1 }, [
    true,
    true,
    false,
    false,
    false,
  ]);
  assert.equal(prober.value, undefined);
  prober.start();
  await until(() => changes.length >= 2);
  await sleep(50);
  assert.deepEqual(changes, [
    [true, 'run 0 ok'],
    [false, 'run 4 failed'],
  ]);
  assert.equal(runs.length, 5);
  prober.stop();
});

test('startup stops after its first success', async () => {
  const { prober, changes, runs } = scripted('startup', { periodSeconds: 1, failureThreshold: 30 }, [
    false,
    false,
    true,
  ]);
  prober.start();
  await until(() => changes.length === 1);
  await sleep(50);
  assert.deepEqual(changes, [[true, 'run 2 ok']]);
  assert.equal(runs.length, 3);
});

test('initialDelaySeconds delays the first run; stop ends probing', async () => {
  const { prober, runs } = scripted('readiness', { initialDelaySeconds: 10, periodSeconds: 2 }, [true]);
  prober.start();
  await until(() => runs.length >= 2);
  assert.ok(runs[0] >= 45, `first run at ${runs[0]} ms`);
  assert.ok(runs[1] - runs[0] >= 8, `period ${runs[1] - runs[0]} ms`);
  prober.stop();
  const n = runs.length;
  await sleep(50);
  assert.equal(runs.length, n);
});

test('a run that throws counts as a failure', async () => {
  const changes: boolean[] = [];
  const p = new Prober({ periodSeconds: 1, failureThreshold: 1 }, 'liveness', ctx, (v) => changes.push(v), {
    secondMs: 5,
    run: () => Promise.reject(new Error('boom')),
  });
  p.start();
  await until(() => changes.length === 1);
  assert.deepEqual(changes, [false]);
  p.stop();
});
