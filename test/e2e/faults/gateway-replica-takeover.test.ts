import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OwnGateway } from '../own-gateway.ts';
import { FailoverClient, gatewayMemory, OpenLoopLoad, settledMemory, STEADY_PATHS } from './load.ts';

// Two `kubegate serve` replicas in front of the same apiservers, and clients that know both URLs
// (FailoverClient: one session at a time, a new one after GOAWAY, the other URL after a connection
// error). Under 40 req/s replica 1 is SIGTERMed (graceful drain: GOAWAY, in-flight requests
// answered, then exit), restarted on the same port, then replica 2 the same way, so the restarted
// replica 1 has to take the traffic back. Failures are what a client sees between a replica's
// listener closing and its next connection going to the other one.
const CLIENTS = 4;

const replicas: OwnGateway[] = [];
const clients: FailoverClient[] = [];

after(async () => {
  for (const c of clients) c.close();
  await Promise.all(replicas.map((r) => r.stop()));
});

test(
  'gateway replicas SIGTERMed and restarted in turn under load: clients fail over, none hangs',
  { timeout: 180_000 },
  async () => {
    const patch = { requestTimeoutSeconds: 10 };
    replicas.push(await OwnGateway.start(patch, { admin: true }));
    replicas.push(await OwnGateway.start(patch, { admin: true }));
    const [r1, r2] = replicas;
    const loads: OpenLoopLoad[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      // Half the clients start on each replica.
      const c = new FailoverClient(i % 2 === 0 ? [r1.url, r2.url] : [r2.url, r1.url]);
      clients.push(c);
      loads.push(
        new OpenLoopLoad(c, {
          rate: 10,
          timeoutMs: 15_000,
          paths: STEADY_PATHS,
        }),
      );
    }
    for (const l of loads) l.start();
    await sleep(4000);
    const before = await gatewayMemory(r1.adminURL!);
    const cycles: Record<string, unknown>[] = [];
    for (const r of [r1, r2]) {
      const t0 = performance.now();
      const code = await r.terminate();
      const down = performance.now();
      await r.restart();
      cycles.push({
        exitCode: code,
        drainMs: Math.round(down - t0),
        restartMs: Math.round(performance.now() - down),
      });
      await sleep(3000);
    }
    const faultEnd = loads[0].now();
    await sleep(5000);
    await Promise.all(loads.map((l) => l.stop()));
    const afterMem = await settledMemory(r1.adminURL!);

    const per = loads.map((l, i) => l.summary(`client-${i}`, faultEnd));
    const failed: Record<string, number> = {};
    for (const s of per) for (const [k, n] of Object.entries(s.failed)) failed[k] = (failed[k] ?? 0) + n;
    const offered = per.reduce((n, s) => n + s.offered, 0);
    const ok = per.reduce((n, s) => n + s.ok, 0);
    const summary = {
      scenario: 'gateway-replica-takeover',
      offered,
      ok,
      failed,
      maxLatencyMs: Math.max(...per.map((s) => s.maxLatencyMs)),
      recoveryMs: Math.max(...per.map((s) => s.recoveryMs ?? Infinity)),
      switches: clients.map((c) => c.switches),
      cycles,
      // Replica 1 after its restart (its memory before is the first process's: for scale only).
      memoryBefore: before,
      memoryAfter: afterMem,
    };
    console.log(JSON.stringify(summary));

    for (const c of cycles) assert.equal(c.exitCode, 0, 'a SIGTERMed replica exits 0 after its drain');
    assert.equal(failed.timeout ?? 0, 0, 'every request answered or refused before the client timeout');
    assert.ok(summary.maxLatencyMs < 10_000, `max latency ${summary.maxLatencyMs} ms`);
    // Every client recovered once the restarts were over, and failures are the few requests a client
    // had in flight or sent on a connection to a replica that had just closed its listener.
    assert.ok(
      Number.isFinite(summary.recoveryMs) && summary.recoveryMs === 0,
      `recovery ${summary.recoveryMs} ms`,
    );
    assert.ok(offered - ok <= offered * 0.05, `${offered - ok} of ${offered} failed`);
    assert.ok(
      clients.every((c) => c.switches >= 1),
      `every client moved to the other replica at least once: ${summary.switches}`,
    );
    assert.ok(afterMem.rssMiB < 400, `restarted replica RSS ${afterMem.rssMiB} MiB`);
  },
);
