import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devState } from '../env.ts';
import { OwnGateway } from '../own-gateway.ts';
import {
  FailoverClient,
  gatewayMemory,
  OpenLoopLoad,
  settledMemory,
  assertCleanFailures,
  STEADY_PATHS,
} from './load.ts';
import { SilentRelay } from './silent-relay.ts';

// One of three endpoints goes silent for 15 s under 40 req/s: it accepts TCP but answers nothing,
// on new connections and on the open one (see SilentRelay). What must happen: the open session's
// PINGs go unanswered and it is dropped (1 s ping interval here), its GETs in flight go to another
// endpoint, the health check ejects the endpoint, new connections to it are given up by the
// connect timeout (5 s for TCP + TLS + SETTINGS), and once it speaks again it is admitted again.
const SILENT_MS = 15_000;
const REQUEST_TIMEOUT_S = 5;
const CONNECT_TIMEOUT_MS = 5000;

let gw: OwnGateway | null = null;
let relay: SilentRelay | null = null;
let client: FailoverClient | null = null;

after(async () => {
  client?.close();
  await gw?.stop();
  await relay?.close();
});

test(
  'an upstream that accepts TCP but never answers: failed over, ejected, connect timeout fires, admitted again',
  { timeout: 180_000 },
  async () => {
    const [a0, a1, a2] = devState().apiservers;
    relay = await SilentRelay.start(a0);
    gw = await OwnGateway.start(
      {
        endpoints: [
          { name: 'silent-0', url: relay.url },
          { name: 'apiserver-1', url: a1 },
          { name: 'apiserver-2', url: a2 },
        ],
        requestTimeoutSeconds: REQUEST_TIMEOUT_S,
        pingIntervalSeconds: 1,
      },
      { admin: true },
    );
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
    const silencedAt = Date.now();
    relay.silent = true;
    await sleep(SILENT_MS);
    const stalledAtEnd = relay.stalled;
    relay.restore();
    const faultEnd = load.now();
    const restoredAt = Date.now();
    await sleep(10_000);
    await load.stop();
    const afterMem = await settledMemory(admin);

    const health = gw
      .logs()
      .filter((l) => l.kind === 'health' && l.endpoint === 'silent-0')
      .map((l) => ({ healthy: l.healthy, at: Number(l.time) }));
    const ejectedAfterMs = health.find((h) => h.healthy === false && h.at > silencedAt)?.at;
    const admittedAfterMs = health.find((h) => h.healthy === true && h.at > restoredAt)?.at;
    const summary = load.summary('upstream-accepts-never-answers', faultEnd, {
      faultMs: Math.round(faultEnd - faultStart),
      recoveryFromFaultStartMs: load.recoveryMs(faultStart),
      ejectedMs: ejectedAfterMs === undefined ? null : ejectedAfterMs - silencedAt,
      admittedAgainMs: admittedAfterMs === undefined ? null : admittedAfterMs - restoredAt,
      silentConnectionLifetimesMs: relay.silentLifetimesMs,
      stillStalledAtRestore: stalledAtEnd,
      memoryBefore: before,
      memoryAfter: afterMem,
    });
    console.log(JSON.stringify(summary));

    assertCleanFailures(summary);
    assert.ok(
      summary.maxLatencyMs < (REQUEST_TIMEOUT_S + 3) * 1000,
      `max latency ${summary.maxLatencyMs} ms`,
    );
    const recovered = load.recoveryMs(faultStart);
    assert.ok(
      recovered !== null && recovered < SILENT_MS,
      `recovered ${recovered} ms after the silence began`,
    );
    assert.ok(summary.ejectedMs !== null, 'the health check ejected the silent endpoint');
    assert.ok(summary.admittedAgainMs !== null, 'admitted again once it answered');
    // New connections to it were attempted while silent and given up by the connect timeout.
    const given = relay.silentLifetimesMs.filter((ms) => ms >= CONNECT_TIMEOUT_MS - 500);
    assert.ok(given.length > 0, `connections given up by the connect timeout: ${relay.silentLifetimesMs}`);
    assert.ok(
      relay.silentLifetimesMs.every((ms) => ms < CONNECT_TIMEOUT_MS + 2000),
      `no connection held past the connect timeout: ${relay.silentLifetimesMs}`,
    );
    assert.ok(afterMem.heapMiB < before.heapMiB + 30, `heap ${before.heapMiB} → ${afterMem.heapMiB} MiB`);
    assert.ok(afterMem.rssMiB < before.rssMiB + 60, `RSS ${before.rssMiB} → ${afterMem.rssMiB} MiB`);
  },
);
