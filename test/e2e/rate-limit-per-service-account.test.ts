import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { writeKubeconfig } from '../../src/dev/kubeconfig.ts';
import { devDir, kubectl, kubectlPath } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';
import { x509User, viewerServiceAccount } from './users.ts';

const run = promisify(execFile);
const ADMIN = 'apiserver-0.kubeconfig';
const NS = `rate-sa-${process.pid}`;
const SA = 'lister';
const OBSERVER = `rate-observer-${process.pid}`;
const QPS = 5;
const OFFERED_QPS = 50;
const SECONDS = 10;

let gw: OwnGateway;
let sa: ClientHttp2Session;
let saHeaders: Record<string, string> = {};
let observerKubeconfig = '';

before(
  async () => {
    const token = await viewerServiceAccount(NS, SA, OBSERVER);
    gw = await OwnGateway.start({
      rules: [
        {
          name: 'sa-pod-lists',
          match: { verbs: ['list'], apiGroups: [''], resources: ['pods'], serviceAccounts: [`${NS}:${SA}`] },
          // Burst 1, the smallest: the bucket banks nothing, so the 10 s window measures the refill
          // rate and not the bucket size (a burst of b adds b-1 requests at the start of any window).
          // The price: the lateness of the request that finds the bucket full again is lost, so the
          // accepted rate sits a little under 5 (4.8 measured), well inside ±1.
          limits: { qps: QPS, burst: 1 },
        },
      ],
    });
    // No client certificate: the gateway, like kube-apiserver, would take it before the bearer token.
    sa = connect(gw.url, { ca: readFileSync(join(devDir(), 'pki', 'ca.crt')) });
    saHeaders = { authorization: `Bearer ${token}` };
    // Warms the TokenReview cache with a request the rule does not match, so no pod list pays for it.
    const warm = await h2request(sa, `/api/v1/namespaces/${NS}/configmaps`, { headers: saHeaders });
    assert.equal(warm.status, 200);

    const user = await x509User(OBSERVER);
    observerKubeconfig = join(gw.dir, 'observer.kubeconfig');
    const files = join(devDir(), user.replace(/\.kubeconfig$/, ''));
    await writeKubeconfig(observerKubeconfig, 'own', gw.url, join(devDir(), 'pki', 'ca.crt'), {
      cert: `${files}.crt`,
      key: `${files}.key`,
    });
    await observerGet(); // fills kubectl's discovery cache before the measurement
  },
  { timeout: 60_000 },
);

after(async () => {
  sa?.close();
  await gw?.stop();
  await kubectl(ADMIN, ['delete', 'namespace', NS, '--wait=false']).catch(() => {});
});

/** `kubectl get pods` as the observer through the own gateway; resolves to its duration in ms. */
async function observerGet(): Promise<number> {
  const t0 = performance.now();
  await run(
    kubectlPath(),
    ['--kubeconfig', observerKubeconfig, '--cache-dir', join(gw.dir, 'kube-cache'), 'get', 'pods', '-n', NS],
    { timeout: 20_000 },
  );
  return performance.now() - t0;
}

interface Answer {
  status: number;
  retryAfter: unknown;
  body: string;
}

test(
  `a ${QPS} qps rule for one service account accepts ${QPS}±1 qps of ${OFFERED_QPS} offered; another user's kubectl is unaffected`,
  { timeout: 60_000 },
  async (t) => {
    const path = `/api/v1/namespaces/${NS}/pods`;
    const total = OFFERED_QPS * SECONDS;
    const periodMs = 1000 / OFFERED_QPS;
    const answers: Promise<Answer>[] = [];
    let done = false;

    // The other user: `kubectl get pods` every ~500 ms for as long as the service account is limited.
    const observer = (async () => {
      const runs: number[] = [];
      while (!done) {
        const started = performance.now();
        runs.push(await observerGet());
        await sleep(Math.max(0, 500 - (performance.now() - started)));
      }
      return runs;
    })();

    // Evenly paced: request i leaves at t0 + i·period (absolute deadlines, so timer lateness does not add up).
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const delay = t0 + i * periodMs - performance.now();
      if (delay > 0) await sleep(delay);
      answers.push(
        h2request(sa, path, { headers: saHeaders }).then((r) => ({
          status: r.status,
          retryAfter: r.headers['retry-after'],
          body: r.body,
        })),
      );
    }
    const sentMs = performance.now() - t0;
    const results = await Promise.all(answers);
    done = true;
    const observerRuns = await observer;

    const ok = results.filter((r) => r.status === 200).length;
    const limited = results.filter((r) => r.status === 429);
    const acceptedQps = ok / SECONDS;
    const retryAfters = limited.map((r) => Number(r.retryAfter));
    t.diagnostic(
      `offered ${total} in ${(sentMs / 1000).toFixed(2)} s: 200 × ${ok}, 429 × ${limited.length} → accepted ${acceptedQps.toFixed(1)} qps`,
    );
    t.diagnostic(
      `Retry-After of the 429s: ${[1, 2, 3].map((s) => `${s}s × ${retryAfters.filter((v) => v === s).length}`).join(', ')}`,
    );
    t.diagnostic(
      `observer kubectl get: ${observerRuns.length} runs, ${Math.round(Math.min(...observerRuns))}–${Math.round(Math.max(...observerRuns))} ms`,
    );

    assert.equal(ok + limited.length, total, 'every answer is 200 or 429');
    assert.ok(Math.abs(acceptedQps - QPS) <= 1, `accepted ${acceptedQps} qps`);
    for (const r of limited) {
      const s = JSON.parse(r.body) as Record<string, unknown>;
      assert.deepEqual([s.kind, s.status, s.reason, s.code], ['Status', 'Failure', 'TooManyRequests', 429]);
      assert.ok(
        Number.isInteger(Number(r.retryAfter)) && Number(r.retryAfter) >= 1 && Number(r.retryAfter) <= 3,
        `Retry-After ${String(r.retryAfter)}`,
      );
    }
    assert.ok(observerRuns.length >= SECONDS, `observer ran ${observerRuns.length} times`);

    // The access log: every 429 is the rule's, and the observer (kubectl retries 429s by itself, so
    // its exit code alone would hide them) was never refused.
    const saUser = `system:serviceaccount:${NS}:${SA}`;
    const userOf = (l: Record<string, unknown>) => (l.user as { username?: string } | undefined)?.username;
    let lines: Record<string, unknown>[] = [];
    for (let i = 0; i < 50; i++) {
      // kubectl adds ?limit=500 to its lists.
      lines = gw.logs().filter((l) => l.kind === 'access' && String(l.uri).split('?')[0] === path);
      if (lines.filter((l) => userOf(l) === saUser).length >= total) break;
      await sleep(100);
    }
    const saLimited = lines.filter((l) => userOf(l) === saUser && l.status === 429);
    assert.equal(saLimited.length, limited.length, 'one access-log line per 429');
    assert.ok(
      saLimited.every((l) => l.rule === 'sa-pod-lists'),
      'the access log attributes each 429 to the rule',
    );
    const observerLines = lines.filter((l) => userOf(l) === OBSERVER);
    t.diagnostic(
      `access log: ${saLimited.length} 429s by rule sa-pod-lists; observer ${observerLines.length} pod lists, statuses ${[...new Set(observerLines.map((l) => l.status))].join(',')}`,
    );
    assert.ok(observerLines.length >= observerRuns.length, 'the observer’s lists are in the access log');
    assert.ok(
      observerLines.every((l) => l.status === 200),
      'no request of the observer was rejected',
    );
  },
);
