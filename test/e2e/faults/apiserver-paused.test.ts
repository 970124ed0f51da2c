import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devState } from '../env.ts';
import { OwnGateway } from '../own-gateway.ts';
import {
  FailoverClient,
  gatewayMemory,
  OpenLoopLoad,
  readyz,
  settledMemory,
  until,
  assertCleanFailures,
  STEADY_PATHS,
} from './load.ts';

// SIGSTOP to one of three apiservers for 10 s under 40 req/s through the test's own gateway: the
// apiserver keeps its TCP connections open and answers nothing, which a kill cannot show. The health
// check (1 s interval, 1 s timeout, fall 2) ejects it within ~3 s, and after SIGCONT it is admitted
// again. What happens to the requests already on it depends on the PING interval: with the default
// (30 s) they end with the gateway's 504 at requestTimeoutSeconds; with 1 s the silent session is
// dropped after at most two intervals and its GETs go to another endpoint.
const VICTIM = 'kube-apiserver-2';
const PAUSE_MS = 10_000;
const REQUEST_TIMEOUT_S = 5;
const CLIENT_TIMEOUT_MS = 15_000;

let gw: OwnGateway | null = null;
let client: FailoverClient | null = null;
let paused = false;

afterEach(async () => {
  if (paused) process.kill(devState().pids[VICTIM], 'SIGCONT');
  paused = false;
  client?.close();
  await gw?.stop();
  gw = null;
});

after(async () => {
  // The shared control plane as the next test file expects it: the victim answering again.
  const url = devState().apiservers[2];
  assert.ok(await until(() => readyz(url), 60_000, 500), `${VICTIM} ready again after SIGCONT`);
});

async function pausedUnderLoad(pingIntervalSeconds: number): Promise<{ failed: number; offered: number }> {
  const url = devState().apiservers[2];
  assert.ok(await until(() => readyz(url), 60_000, 500), `${VICTIM} ready before the pause`);
  gw = await OwnGateway.start(
    { requestTimeoutSeconds: REQUEST_TIMEOUT_S, pingIntervalSeconds },
    { admin: true },
  );
  const admin = gw.adminURL!;
  client = new FailoverClient([gw.url]);
  const load = new OpenLoopLoad(client, {
    rate: 40,
    timeoutMs: CLIENT_TIMEOUT_MS,
    paths: STEADY_PATHS,
  });
  load.start();
  await sleep(4000);
  const before = await gatewayMemory(admin);
  const faultStart = load.now();
  const pausedAt = Date.now();
  paused = true;
  process.kill(devState().pids[VICTIM], 'SIGSTOP');
  await sleep(PAUSE_MS);
  process.kill(devState().pids[VICTIM], 'SIGCONT');
  paused = false;
  const faultEnd = load.now();
  await sleep(10_000);
  await load.stop();
  const afterMem = await settledMemory(admin);

  const summary = load.summary('apiserver-paused', faultEnd, {
    pingIntervalSeconds,
    faultMs: Math.round(faultEnd - faultStart),
    recoveryFromFaultStartMs: load.recoveryMs(faultStart),
    memoryBefore: before,
    memoryAfter: afterMem,
  });
  console.log(JSON.stringify(summary));

  assertCleanFailures(summary);
  assert.ok(summary.maxLatencyMs < (REQUEST_TIMEOUT_S + 3) * 1000, `max latency ${summary.maxLatencyMs} ms`);
  // Ejected while still paused: well before the pause ends, every request succeeds again.
  const recovered = load.recoveryMs(faultStart);
  assert.ok(recovered !== null && recovered < PAUSE_MS, `recovered ${recovered} ms after the pause began`);
  assert.ok(summary.ok >= summary.offered * 0.8, `${summary.ok} of ${summary.offered} ok`);
  assert.ok(afterMem.heapMiB < before.heapMiB + 30, `heap ${before.heapMiB} → ${afterMem.heapMiB} MiB`);
  assert.ok(afterMem.rssMiB < before.rssMiB + 60, `RSS ${before.rssMiB} → ${afterMem.rssMiB} MiB`);
  // Back in rotation after SIGCONT: the health check admits it (the gateway logs the change).
  const back = await until(
    () =>
      gw!
        .logs()
        .some(
          (l) =>
            l.kind === 'health' &&
            l.endpoint === 'apiserver-2' &&
            l.healthy === true &&
            Number(l.time) > pausedAt,
        ),
    30_000,
  );
  assert.ok(back, 'apiserver-2 healthy again in the gateway after SIGCONT');
  return { failed: summary.offered - summary.ok, offered: summary.offered };
}

test(
  'an apiserver paused (SIGSTOP) for 10 s, default PING interval: in-flight requests get 504, it is ejected, clients recover',
  { timeout: 180_000 },
  async () => {
    await pausedUnderLoad(30);
  },
);

test(
  'the same with a 1 s PING interval: the silent session is dropped and its GETs retried elsewhere',
  { timeout: 180_000 },
  async () => {
    const { failed, offered } = await pausedUnderLoad(1);
    // Only requests on it during the ≤ 2 s before its session is dropped, and those retried then on
    // another endpoint: at most a few, against ~40 × 5 s in flight on it with the 30 s default.
    assert.ok(failed <= 10, `${failed} of ${offered} failed`);
  },
);
