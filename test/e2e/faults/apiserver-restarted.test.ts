import assert from 'node:assert/strict';
import { after, test } from 'node:test';
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

// An apiserver restarted the way a rollout restarts it, under 40 req/s through the test's own
// gateway: SIGTERM (kube-apiserver's graceful shutdown: /readyz fails, GOAWAY, in-flight requests
// finish), then started again with the same flags (`kubegate dev` does on SIGHUP). The SIGKILL case
// is test/e2e/apiserver-killed-under-load.test.ts.
const VICTIM = 1;

let gw: OwnGateway | null = null;
let client: FailoverClient | null = null;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(async () => {
  client?.close();
  await gw?.stop();
  // SIGHUP restarts every apiserver that is not running; sent again in case the victim was still
  // shutting down at the test's SIGHUP (kube-apiserver waits up to 60 s for open streams).
  const url = devState().apiservers[VICTIM];
  const back = await until(
    async () => {
      if (await readyz(url)) return true;
      process.kill(devState().pids.kubegate, 'SIGHUP');
      return false;
    },
    120_000,
    5000,
  );
  assert.ok(back, `apiserver-${VICTIM} ready again`);
});

test(
  'an apiserver restarted (SIGTERM, start) under load: clients see no failure that is not a clean Status, and it takes traffic again',
  { timeout: 300_000 },
  async () => {
    gw = await OwnGateway.start({ requestTimeoutSeconds: 10 }, { admin: true });
    const admin = gw.adminURL!;
    client = new FailoverClient([gw.url]);
    const load = new OpenLoopLoad(client, {
      rate: 40,
      timeoutMs: 15_000,
      paths: STEADY_PATHS,
    });
    load.start();
    await sleep(4000);
    const before = await gatewayMemory(admin);
    const faultStart = load.now();
    const pid = devState().pids[`kube-apiserver-${VICTIM}`];
    const stoppedAt = Date.now();
    process.kill(pid, 'SIGTERM');
    // kube-apiserver waits up to 60 s for open streams (a watch on it) before it exits.
    const exited = await until(() => !alive(pid), 75_000, 100);
    const exitMs = Date.now() - stoppedAt;
    process.kill(devState().pids.kubegate, 'SIGHUP');
    const url = devState().apiservers[VICTIM];
    const ready = await until(() => readyz(url), 90_000, 250);
    const faultEnd = load.now();
    const admitted = await until(
      () =>
        gw!
          .logs()
          .some(
            (l) =>
              l.kind === 'health' &&
              l.endpoint === `apiserver-${VICTIM}` &&
              l.healthy === true &&
              Number(l.time) > stoppedAt,
          ),
      30_000,
    );
    await sleep(5000);
    await load.stop();
    const afterMem = await settledMemory(admin);
    const summary = load.summary('apiserver-restarted', faultEnd, {
      faultMs: Math.round(faultEnd - faultStart),
      apiserverExitMs: exitMs,
      recoveryFromFaultStartMs: load.recoveryMs(faultStart),
      memoryBefore: before,
      memoryAfter: afterMem,
    });
    console.log(JSON.stringify(summary));

    assert.ok(exited, 'the apiserver exited after SIGTERM');
    assert.ok(ready, 'the apiserver answered /readyz after its restart');
    assert.ok(admitted, 'the gateway admitted it again');
    assertCleanFailures(summary);
    assert.ok(
      summary.recoveryMs !== null && summary.recoveryMs < 10_000,
      `recovered ${summary.recoveryMs} ms after ready`,
    );
    assert.ok(
      summary.offered - summary.ok <= summary.offered * 0.02,
      `${summary.offered - summary.ok} of ${summary.offered} failed`,
    );
    assert.ok(afterMem.heapMiB < before.heapMiB + 30, `heap ${before.heapMiB} → ${afterMem.heapMiB} MiB`);
    assert.ok(afterMem.rssMiB < before.rssMiB + 60, `RSS ${before.rssMiB} → ${afterMem.rssMiB} MiB`);
  },
);
