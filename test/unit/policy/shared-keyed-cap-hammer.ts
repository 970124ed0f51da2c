// Worker thread of shared-keyed-cap-exact-across-threads.test.ts: takes and gives back permits of
// a few keys as fast as it can, recording in the probe how many each key holds across threads.
import { parentPort, workerData } from 'node:worker_threads';
import { SharedKeyedCap, type Permit } from '../../../src/policy/index.ts';

interface Job {
  cap: SharedArrayBuffer;
  /** [0] start flag, [1] threads ready, then per key: held now, most held at once. */
  probe: SharedArrayBuffer;
  keys: number;
  max: number;
  rounds: number;
}

const job = workerData as Job;
const probe = new Int32Array(job.probe);
const cap = new SharedKeyedCap(job.cap, () => job.max);
Atomics.add(probe, 1, 1);
while (Atomics.load(probe, 0) === 0);

let granted = 0;
let refused = 0;
const mine: { key: number; permit: Permit }[] = [];
for (let r = 0; r < job.rounds; r++) {
  const key = r % job.keys;
  const p = cap.tryAcquire(`user-${key}`);
  if (p === null) refused++;
  else {
    granted++;
    const n = Atomics.add(probe, 2 + 2 * key, 1) + 1;
    for (let m = Atomics.load(probe, 3 + 2 * key); n > m; m = Atomics.load(probe, 3 + 2 * key))
      Atomics.compareExchange(probe, 3 + 2 * key, m, n);
    mine.push({ key, permit: p });
  }
  // Hold up to 3 permits at a time, giving back the oldest.
  if (mine.length > 3) {
    const old = mine.shift()!;
    Atomics.sub(probe, 2 + 2 * old.key, 1);
    old.permit.release();
  }
}
for (const m of mine) {
  Atomics.sub(probe, 2 + 2 * m.key, 1);
  m.permit.release();
}
parentPort!.postMessage({ granted, refused });
