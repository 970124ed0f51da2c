import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loggedLines } from './access-lines.ts';
import { devDir } from './env.ts';
import { h2request, OwnGateway, type ClusterPatch } from './own-gateway.ts';

// The automatic breaker tripped by real upstream timeouts: a LIST for a resourceVersion far beyond
// the current one with resourceVersionMatch=NotOlderThan makes kube-apiserver wait (~3 s) for its
// watch cache before answering 504; the gateway's 1 s requestTimeout answers 504 Timeout first and
// counts a failure. Then the manual fuse, switched on and off by rewriting the file.
const PATCH: ClusterPatch = {
  requestTimeoutSeconds: 1,
  circuitBreaker: {
    automatic: { windowSeconds: 5, minRequests: 5, errorRatio: 0.5, openSeconds: 2, halfOpenProbes: 2 },
  },
  rules: [{ name: 'health', match: { nonResourceURLs: ['/readyz', '/livez'] }, exempt: true }],
};
const DEFAULT_MESSAGE = 'cluster e2e is not taking requests (circuit breaker open)';
const FUSE_MESSAGE = 'kubegate e2e: the fuse is pulled for maintenance';
const SLOW_LIST =
  '/api/v1/namespaces/default/configmaps?limit=1&resourceVersion=999999999&resourceVersionMatch=NotOlderThan';

let gw: OwnGateway;
let s: ClientHttp2Session;

before(async () => {
  gw = await OwnGateway.start(PATCH);
  s = gw.session();
});
after(async () => {
  s?.close();
  await gw?.stop();
});

/** An ordinary GET whose URI carries `marker` (a label selector), so logs can find it. */
function ordinary(marker: string) {
  return h2request(s, `/api/v1/namespaces/default/configmaps?labelSelector=kg-breaker%3D${marker}`);
}

function statusOf(body: string): { reason?: string; message?: string; code?: number } {
  return JSON.parse(body) as { reason?: string; message?: string; code?: number };
}

/** Audit events of every dev apiserver whose requestURI contains `marker`. */
function audited(marker: string): number {
  const dir = join(devDir(), 'audit');
  let n = 0;
  for (const f of readdirSync(dir))
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n'))
      if (line.includes(marker) && line.includes('"requestURI"')) n++;
  return n;
}

/** The access lines of requests whose URI contains `marker`, once `count` of them are logged. */
function accessLines(marker: string, count = 1): Promise<Record<string, unknown>[]> {
  return loggedLines(
    () => gw.logs(),
    (l) => l.kind === 'access' && String(l.uri).includes(marker),
    { count },
  );
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== null) return v;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

test('upstream timeouts open the breaker; open, it answers 503 without an apiserver; half-open probes close it', async (t) => {
  assert.equal((await ordinary('before')).status, 200);

  // Five timeouts in the window (minRequests 5, errorRatio 0.5) open it.
  const t0 = performance.now();
  const trips = await Promise.all(Array.from({ length: 5 }, () => h2request(s, SLOW_LIST)));
  const tripMs = performance.now() - t0;
  for (const r of trips) {
    assert.equal(r.status, 504, r.body);
    const st = statusOf(r.body);
    assert.equal(st.reason, 'Timeout');
    assert.match(st.message ?? '', /did not answer within 1s/, 'the gateway timed out, not the apiserver');
  }
  const openedAt = performance.now();

  // Open: ordinary requests are refused by the gateway itself.
  const refused = [];
  for (let i = 0; i < 3; i++) refused.push(await ordinary(`while-open-${i}`));
  for (const r of refused) {
    assert.equal(r.status, 503, r.body);
    const st = statusOf(r.body);
    assert.equal(st.reason, 'ServiceUnavailable');
    assert.equal(st.code, 503);
    assert.equal(st.message, DEFAULT_MESSAGE);
    const retryAfter = Number(r.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 5, `retry-after ${String(r.headers['retry-after'])}`);
  }
  const readyz = await h2request(s, '/readyz');
  assert.equal(readyz.status, 200, 'an exempt rule passes while the breaker is open');
  const openCheckedMs = performance.now() - openedAt;
  assert.ok(openCheckedMs < 2000, `open-state checks took ${openCheckedMs} ms (openSeconds is 2)`);

  // After openSeconds the next requests are the half-open probes; both succeed and it closes.
  let refusedWhileOpen = refused.length;
  let n = 0;
  await waitFor('a half-open probe served', 5000, async () => {
    const r = await ordinary(`recover-${n++}`);
    if (r.status === 503) refusedWhileOpen++;
    return r.status === 200 ? r : null;
  });
  const recoveredMs = performance.now() - openedAt;
  assert.ok(recoveredMs >= 1900, `served again after ${recoveredMs} ms, before openSeconds`);
  assert.equal((await ordinary('probe-2')).status, 200, 'second half-open probe');
  // Closed: more than halfOpenProbes at once all pass (half-open would refuse the third).
  const closed = await Promise.all(Array.from({ length: 10 }, (_, i) => ordinary(`closed-${i}`)));
  assert.deepEqual(
    closed.map((r) => r.status),
    Array(10).fill(200),
  );

  // Refused requests never reached an apiserver: no upstream in the access log, no audit event.
  const whileOpen = await accessLines('while-open', 3);
  for (const l of whileOpen) {
    assert.equal(l.status, 503);
    assert.equal(l.upstream, null);
    assert.match(String(l.error), /circuit breaker open/);
  }
  assert.equal(whileOpen.length, 3);
  // The audit logs are written as requests finish: wait for the served ones to show, then look.
  await waitFor('closed-state requests audited', 5000, async () => (audited('closed-9') > 0 ? true : null));
  assert.equal(audited('while-open'), 0, 'a refused request reached an apiserver');
  assert.ok(audited('closed-') >= 10);

  const states = gw
    .logs()
    .filter((l) => l.kind === 'breaker')
    .map((l) => `${String(l.previous)}→${String(l.state)}`);
  assert.deepEqual(states, ['closed→open', 'open→half-open', 'half-open→closed']);
  t.diagnostic(
    `5 timeouts in ${tripMs.toFixed(0)} ms opened it; ${refusedWhileOpen} requests refused while open; ` +
      `served again ${recoveredMs.toFixed(0)} ms after opening; transitions ${states.join(', ')}`,
  );
});

test('the manual fuse refuses requests with its message within about a second, and lets them through when lifted', async (t) => {
  const tWrite = performance.now();
  await gw.write({ ...PATCH, circuitBreaker: { forceOpen: true, message: FUSE_MESSAGE } });
  let n = 0;
  const fused = await waitFor('the fuse in effect', 5000, async () => {
    const r = await ordinary(`fuse-${n++}`);
    return r.status === 503 ? r : null;
  });
  const fuseMs = performance.now() - tWrite;
  const st = statusOf(fused.body);
  assert.equal(st.reason, 'ServiceUnavailable');
  assert.equal(st.message, FUSE_MESSAGE);
  assert.ok(Number(fused.headers['retry-after']) >= 1);
  assert.equal((await h2request(s, '/readyz')).status, 200, 'an exempt rule passes the fuse');
  const [line] = await accessLines(`fuse-${n - 1}`);
  assert.equal(line?.upstream, null);
  assert.equal(line?.error, FUSE_MESSAGE);

  const tLift = performance.now();
  await gw.write(PATCH);
  n = 0;
  await waitFor('the fuse lifted', 5000, async () =>
    (await ordinary(`lifted-${n++}`)).status === 200 ? true : null,
  );
  const liftMs = performance.now() - tLift;
  assert.ok(fuseMs < 2000, `fuse took ${fuseMs} ms`);
  assert.ok(liftMs < 2000, `lifting took ${liftMs} ms`);
  t.diagnostic(
    `fuse in effect ${fuseMs.toFixed(0)} ms after the write; lifted after ${liftMs.toFixed(0)} ms`,
  );
});
