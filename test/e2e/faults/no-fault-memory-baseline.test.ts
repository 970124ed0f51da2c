import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OwnGateway } from '../own-gateway.ts';
import { FailoverClient, gatewayMemory, OpenLoopLoad, settledMemory, STEADY_PATHS } from './load.ts';

// The control for the fault scenarios' memory checks: the same load (40 req/s for 25 s, memory
// taken 4 s in and after the load) with no fault at all. What RSS grows here is warm-up (JIT code,
// TLS and HTTP/2 buffers, allocator pages V8 keeps), not something a fault left behind.
let gw: OwnGateway | null = null;
let client: FailoverClient | null = null;

after(async () => {
  client?.close();
  await gw?.stop();
});

test('no fault: the memory the scenarios compare against', { timeout: 120_000 }, async () => {
  gw = await OwnGateway.start({ requestTimeoutSeconds: 5 }, { admin: true });
  client = new FailoverClient([gw.url]);
  const load = new OpenLoopLoad(client, {
    rate: 40,
    timeoutMs: 15_000,
    paths: STEADY_PATHS,
  });
  load.start();
  await sleep(4000);
  const before = await gatewayMemory(gw.adminURL!);
  await sleep(21_000);
  await load.stop();
  const afterMem = await settledMemory(gw.adminURL!);
  const summary = load.summary('no-fault', load.now(), { memoryBefore: before, memoryAfter: afterMem });
  console.log(JSON.stringify(summary));
  assert.deepEqual(summary.failed, {});
  assert.ok(afterMem.heapMiB < before.heapMiB + 30, `heap ${before.heapMiB} → ${afterMem.heapMiB} MiB`);
  assert.ok(afterMem.rssMiB < before.rssMiB + 60, `RSS ${before.rssMiB} → ${afterMem.rssMiB} MiB`);
});
