import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  SharedInflightLimiter,
  SharedKeyedTokenBuckets,
  SharedTokenBucket,
} from '../../../src/policy/index.ts';

interface Report {
  bucketAdmitted: number;
  keyedAdmitted: Record<string, number>;
  capGranted: number;
  capRefused: number;
  queueServed: number;
}

test('two worker threads hammering shared limiters get exactly the limits between them', async (t) => {
  const job = {
    bucket: new SharedArrayBuffer(SharedTokenBucket.BYTES),
    keyed: SharedKeyedTokenBuckets.allocate(50),
    cap: new SharedArrayBuffer(SharedInflightLimiter.BYTES),
    queue: new SharedArrayBuffer(SharedInflightLimiter.BYTES),
    probe: new SharedArrayBuffer(6 * 4),
    takes: 20_000,
  };
  const workers = [0, 1].map(
    () => new Worker(new URL('./shared-limits-hammer.ts', import.meta.url), { workerData: job }),
  );
  const reports = workers.map(
    (w) =>
      new Promise<Report>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
        w.once('exit', (code) => reject(new Error(`worker exited (${code}) without a report`)));
      }),
  );
  // Both at the start line, then off at once.
  const probe = new Int32Array(job.probe);
  while (Atomics.load(probe, 5) < 2) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(probe, 0, 1);
  const [a, b] = await Promise.all(reports);
  await Promise.all(workers.map((w) => w.terminate()));

  // Qps 0.001 refills one token in 1000 s: what the threads got together is exactly the burst.
  assert.equal(a.bucketAdmitted + b.bucketAdmitted, 5000, `${a.bucketAdmitted} + ${b.bucketAdmitted}`);
  // How the split falls depends on the scheduler (one thread may drain the bucket before the other
  // runs on a busy machine); the total may not depend on it.
  t.diagnostic(
    `bucket split ${a.bucketAdmitted} + ${b.bucketAdmitted}; cap grants ${a.capGranted} + ${b.capGranted}, refusals ${a.capRefused} + ${b.capRefused}`,
  );
  for (let i = 0; i < 10; i++) {
    const key = `system:serviceaccount:ns:sa-${i}`;
    assert.equal((a.keyedAdmitted[key] ?? 0) + (b.keyedAdmitted[key] ?? 0), 100, key);
  }
  const cap = new SharedInflightLimiter({
    maxInflight: 5,
    queueLength: 0,
    queueTimeoutMs: 1,
    buffer: job.cap,
  });
  assert.ok(Atomics.load(probe, 2) <= 5, `${Atomics.load(probe, 2)} held at once under a cap of 5`);
  assert.equal(cap.inflight, 0, 'every slot was given back');
  assert.equal(a.queueServed + b.queueServed, 600, 'every queued request was served');
  assert.ok(Atomics.load(probe, 4) <= 2, `${Atomics.load(probe, 4)} held at once under a cap of 2`);
  assert.equal(Atomics.load(probe, 4), 2, 'the queue kept both slots busy');
});
