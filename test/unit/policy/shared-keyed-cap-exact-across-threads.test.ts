import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { SharedKeyedCap, allocateSharedKeyedCap } from '../../../src/policy/index.ts';

test('threads sharing a SharedKeyedCap never hold more than max per key between them', async (t) => {
  const keys = 3;
  const job = {
    cap: allocateSharedKeyedCap(),
    probe: new SharedArrayBuffer((2 + 2 * keys) * 4),
    keys,
    max: 4,
    rounds: 200_000,
  };
  const workers = [0, 1, 2].map(
    () => new Worker(new URL('./shared-keyed-cap-hammer.ts', import.meta.url), { workerData: job }),
  );
  const reports = workers.map(
    (w) =>
      new Promise<{ granted: number; refused: number }>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`worker exited (${code}) without a report`)));
      }),
  );
  const probe = new Int32Array(job.probe);
  while (Atomics.load(probe, 1) < workers.length) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(probe, 0, 1);
  const done = await Promise.all(reports);
  await Promise.all(workers.map((w) => w.terminate()));
  t.diagnostic(
    `granted ${done.map((d) => d.granted).join(' + ')}, refused ${done.map((d) => d.refused).join(' + ')}`,
  );

  // The probe counts after the permit is granted and before it is released, so it can only
  // under-count what the cap holds: at most max at once per key, however the threads interleave.
  for (let k = 0; k < keys; k++) {
    const most = Atomics.load(probe, 3 + 2 * k);
    assert.ok(most <= job.max, `user-${k}: ${most} held at once`);
    assert.ok(most >= 1, `user-${k} was granted at all`);
  }
  // 3 threads × up to 4 wanted per key > 4 allowed: some were refused.
  assert.ok(done.some((d) => d.refused > 0));
  // Everything given back: every key's count is 0 again.
  const cap = new SharedKeyedCap(job.cap, () => job.max);
  for (let k = 0; k < keys; k++) assert.equal(cap.held(`user-${k}`), 0);
});
