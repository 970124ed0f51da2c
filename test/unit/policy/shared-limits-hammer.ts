// Worker thread of shared-limits-exact-across-threads.test.ts: hammers the shared limiters it is
// handed and reports what it was granted.
import { parentPort, workerData } from 'node:worker_threads';
import { setImmediate as tick } from 'node:timers/promises';
import {
  SharedInflightLimiter,
  SharedKeyedTokenBuckets,
  SharedTokenBucket,
  type Permit,
} from '../../../src/policy/index.ts';

interface Job {
  bucket: SharedArrayBuffer;
  keyed: SharedArrayBuffer;
  cap: SharedArrayBuffer;
  queue: SharedArrayBuffer;
  /** [0] start flag, [1] held now under `cap`, [2] most held at once, [3] same for `queue`, [4] most, [5] threads ready */
  probe: SharedArrayBuffer;
  takes: number;
}

const job = workerData as Job;
const probe = new Int32Array(job.probe);

function hold(held: number, most: number): void {
  const n = Atomics.add(probe, held, 1) + 1;
  for (let m = Atomics.load(probe, most); n > m; m = Atomics.load(probe, most))
    Atomics.compareExchange(probe, most, m, n);
}

// Both threads start together (spinning, which wakes faster than Atomics.wait), so their takes overlap.
Atomics.add(probe, 5, 1);
while (Atomics.load(probe, 0) === 0);

const bucket = new SharedTokenBucket({ qps: 0.001, burst: 5000, buffer: job.bucket });
let bucketAdmitted = 0;
for (let i = 0; i < job.takes; i++) if (bucket.take('') === 0) bucketAdmitted++;

const keyed = new SharedKeyedTokenBuckets({ qps: 0.001, burst: 100, maxKeys: 50, buffer: job.keyed });
const keyedAdmitted: Record<string, number> = {};
for (let i = 0; i < job.takes; i++) {
  const key = `system:serviceaccount:ns:sa-${i % 10}`;
  if (keyed.take(key) === 0) keyedAdmitted[key] = (keyedAdmitted[key] ?? 0) + 1;
}

const cap = new SharedInflightLimiter({
  maxInflight: 5,
  queueLength: 0,
  queueTimeoutMs: 1000,
  buffer: job.cap,
});
// Each thread grabs up to 4 of the 5 slots at a time: together they want more than there are.
let capGranted = 0;
let capRefused = 0;
const mine: Permit[] = [];
for (let i = 0; i < job.takes; i++) {
  while (mine.length < 4) {
    const p = cap.tryAcquire();
    if (p === null) {
      capRefused++;
      break;
    }
    capGranted++;
    hold(1, 2);
    mine.push(p);
  }
  for (const p of mine.splice(0)) {
    Atomics.sub(probe, 1, 1);
    p.release();
  }
}

// Queued across threads: every request waits its turn, and every one gets a slot in the end. A
// pending Atomics.waitAsync does not keep a thread alive (in the gateway its sockets do): a timer does.
const alive = setInterval(() => {}, 1000);
const queue = new SharedInflightLimiter({
  maxInflight: 2,
  queueLength: 1000,
  queueTimeoutMs: 30_000,
  buffer: job.queue,
});
const served = await Promise.all(
  Array.from({ length: 300 }, async () => {
    const p: Permit = await queue.acquire();
    hold(3, 4);
    await tick();
    Atomics.sub(probe, 3, 1);
    p.release();
    return 1;
  }),
);

clearInterval(alive);
parentPort!.postMessage({
  bucketAdmitted,
  keyedAdmitted,
  capGranted,
  capRefused,
  queueServed: served.length,
});
