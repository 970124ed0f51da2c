import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir, kubectl } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';
import { viewerServiceAccount } from './users.ts';

const ADMIN = 'apiserver-0.kubeconfig';
const NS = `workers-sa-${process.pid}`;
const SA = 'lister';
const BURST = 20;
// The kernel spreads connections over the workers' listening sockets by a hash of the 4-tuple: with
// 16 connections the chance that one worker gets none is 2 × 2⁻¹⁶.
const CONNECTIONS = 16;
const PER_CONNECTION = 6;

let gw: OwnGateway;
let sessions: ClientHttp2Session[] = [];
let headers: Record<string, string> = {};

before(
  async () => {
    const token = await viewerServiceAccount(NS, SA, `workers-observer-${process.pid}`);
    gw = await OwnGateway.start(
      {
        rules: [
          {
            name: 'sa-pod-lists',
            match: {
              verbs: ['list'],
              apiGroups: [''],
              resources: ['pods'],
              serviceAccounts: [`${NS}:${SA}`],
            },
            // One token per 100 s: within the test the bucket holds its burst and nothing more.
            limits: { qps: 0.01, burst: BURST, perUser: { key: 'serviceAccount' } },
          },
        ],
      },
      { admin: true, gateway: { workers: 2 } },
    );
    const ca = readFileSync(join(devDir(), 'pki', 'ca.crt'));
    headers = { authorization: `Bearer ${token}` };
    sessions = Array.from({ length: CONNECTIONS }, () => connect(gw.url, { ca }));
    // Warms each worker's TokenReview cache with requests the rule does not match (not charged).
    // The new RoleBinding reaches the three apiservers' RBAC caches a moment apart: until it has,
    // an apiserver may still answer 403.
    for (const s of sessions) {
      let warm = await h2request(s, `/api/v1/namespaces/${NS}/configmaps`, { headers });
      for (let i = 0; i < 50 && warm.status === 403; i++) {
        await sleep(100);
        warm = await h2request(s, `/api/v1/namespaces/${NS}/configmaps`, { headers });
      }
      assert.equal(warm.status, 200);
    }
  },
  { timeout: 60_000 },
);

after(async () => {
  for (const s of sessions) s.close();
  await gw?.stop();
  await kubectl(ADMIN, ['delete', 'namespace', NS, '--wait=false']).catch(() => {});
});

test(
  `two workers enforce one per-service-account bucket together: exactly ${BURST} of ${CONNECTIONS * PER_CONNECTION} requests pass`,
  { timeout: 60_000 },
  async (t) => {
    const path = `/api/v1/namespaces/${NS}/pods`;
    const total = CONNECTIONS * PER_CONNECTION;
    const answers = await Promise.all(
      sessions.flatMap((s) => Array.from({ length: PER_CONNECTION }, () => h2request(s, path, { headers }))),
    );
    const ok = answers.filter((r) => r.status === 200).length;
    const limited = answers.filter((r) => r.status === 429).length;
    t.diagnostic(`200 × ${ok}, 429 × ${limited}`);
    assert.equal(ok + limited, total, 'every answer is 200 or 429');
    // Each worker on its own bucket would let up to 2 × BURST through.
    assert.equal(ok, BURST, 'the workers shared one bucket');

    // The access log: both workers served the service account, each line names its worker.
    const saUser = `system:serviceaccount:${NS}:${SA}`;
    let lines: Record<string, unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      lines = gw
        .logs()
        .filter(
          (l) =>
            l.kind === 'access' &&
            String(l.uri) === path &&
            (l.user as { username?: string } | undefined)?.username === saUser,
        );
      if (lines.length >= total) break;
      await sleep(100);
    }
    assert.equal(lines.length, total, 'one access-log line per request');
    const byWorker = new Map<unknown, { ok: number; limited: number }>();
    for (const l of lines) {
      const w = byWorker.get(l.worker) ?? { ok: 0, limited: 0 };
      if (l.status === 200) w.ok++;
      else w.limited++;
      byWorker.set(l.worker, w);
    }
    t.diagnostic(
      `by worker: ${[...byWorker].map(([w, c]) => `worker ${String(w)}: 200 × ${c.ok}, 429 × ${c.limited}`).join('; ')}`,
    );
    assert.deepEqual([...byWorker.keys()].sort(), [0, 1], 'both workers served requests');

    // The admin /metrics sums the workers' counters.
    const metrics = await (await fetch(`${gw.adminURL}/metrics`)).text();
    const sum = (prefix: string, needle: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith(prefix) && l.includes(needle))
        .reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
    assert.equal(sum('kubegate_requests_total{', 'rule="sa-pod-lists"'), total);
    assert.equal(sum('kubegate_rejections_total{', 'reason="rate_limited"'), limited);
    // Upstream, each worker keeps its own sessions: at most 2 per apiserver per worker.
    const sessionsPerEndpoint = metrics
      .split('\n')
      .filter((l) => l.startsWith('kubegate_upstream_sessions{'))
      .map((l) => Number(l.split(' ').at(-1)));
    t.diagnostic(`upstream sessions per apiserver (both workers): ${sessionsPerEndpoint.join(', ')}`);
    assert.equal(sessionsPerEndpoint.length, 3);
    assert.ok(
      sessionsPerEndpoint.every((n) => n >= 1 && n <= 4),
      'between 1 and 2 × 2 sessions per apiserver',
    );
    const ready = await fetch(`${gw.adminURL}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
  },
);
