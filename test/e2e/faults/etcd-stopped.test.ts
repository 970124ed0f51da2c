import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDirB } from '../env.ts';
import { OwnGateway } from '../own-gateway.ts';
import {
  adminTLS,
  FailoverClient,
  gatewayMemory,
  OpenLoopLoad,
  readyz,
  settledMemory,
  until,
  assertCleanFailures,
} from './load.ts';

// etcd stopped (SIGSTOP) for 10 s under 40 req/s, on cluster B (its own etcd, one apiserver), so
// cluster A's tests are unaffected. The test's own gateway, with cluster A's listener PKI, fronts
// cluster B's apiserver. The apiserver stays up but what needs etcd hangs, and its /readyz fails
// (etcd check): requests in flight end with the gateway's 504, then the health check ejects the only
// endpoint and the gateway answers 503 at once, until etcd is back and /readyz passes again.
const PAUSE_MS = 10_000;
const REQUEST_TIMEOUT_S = 5;

interface StateB {
  apiservers: string[];
  pids: Record<string, number>;
}

const stateB = (): StateB => JSON.parse(readFileSync(join(devDirB(), 'state.json'), 'utf8')) as StateB;

let gw: OwnGateway | null = null;
let client: FailoverClient | null = null;
let paused = false;

after(async () => {
  if (paused) process.kill(stateB().pids.etcd, 'SIGCONT');
  client?.close();
  await gw?.stop();
  const url = stateB().apiservers[0];
  assert.ok(
    await until(() => readyz(url, adminTLS(devDirB())), 60_000, 500),
    'cluster B ready again after SIGCONT to etcd',
  );
});

test(
  'etcd stopped for 10 s: in-flight requests get 504, then 503 at once, all recover once etcd is back',
  { timeout: 180_000 },
  async () => {
    const b = devDirB();
    const pki = (f: string) => join(b, 'pki', f);
    gw = await OwnGateway.start(
      {
        endpoints: [{ name: 'b-apiserver-0', url: stateB().apiservers[0] }],
        upstreamCA: { file: pki('ca.crt') },
        credentials: { certFile: pki('gateway-upstream.crt'), keyFile: pki('gateway-upstream.key') },
        requestTimeoutSeconds: REQUEST_TIMEOUT_S,
      },
      { admin: true },
    );
    const admin = gw.adminURL!;
    client = new FailoverClient([gw.url]);
    const load = new OpenLoopLoad(client, {
      rate: 40,
      timeoutMs: 15_000,
      // From etcd (a quorum read) and from the watch cache (resourceVersion=0).
      paths: [
        '/api/v1/namespaces/default',
        '/api/v1/namespaces/default/configmaps?resourceVersion=0&limit=5',
      ],
    });
    load.start();
    await sleep(4000);
    const before = await gatewayMemory(admin);
    const faultStart = load.now();
    paused = true;
    process.kill(stateB().pids.etcd, 'SIGSTOP');
    await sleep(PAUSE_MS);
    process.kill(stateB().pids.etcd, 'SIGCONT');
    paused = false;
    const faultEnd = load.now();
    // Recovered when every request succeeds again: at most 60 s of load after etcd is back.
    await until(
      () => {
        const recent = load.since(load.now() - 3000);
        return load.now() - faultEnd > 5000 && recent.length > 0 && recent.every((r) => r.outcome === 'ok');
      },
      60_000,
      500,
    );
    await sleep(3000);
    await load.stop();
    const afterMem = await settledMemory(admin);

    const summary = load.summary('etcd-stopped', faultEnd, {
      faultMs: Math.round(faultEnd - faultStart),
      memoryBefore: before,
      memoryAfter: afterMem,
    });
    console.log(JSON.stringify(summary));

    assertCleanFailures(summary);
    assert.ok(
      summary.maxLatencyMs < (REQUEST_TIMEOUT_S + 3) * 1000,
      `max latency ${summary.maxLatencyMs} ms`,
    );
    assert.ok(
      summary.recoveryMs !== null && summary.recoveryMs < 30_000,
      `recovered ${summary.recoveryMs} ms after etcd was back`,
    );
    assert.ok(afterMem.heapMiB < before.heapMiB + 30, `heap ${before.heapMiB} → ${afterMem.heapMiB} MiB`);
    assert.ok(afterMem.rssMiB < before.rssMiB + 60, `RSS ${before.rssMiB} → ${afterMem.rssMiB} MiB`);
  },
);
