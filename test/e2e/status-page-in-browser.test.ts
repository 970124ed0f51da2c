import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, StubStatusServer } from './status-page-browser.ts';

let browser: Browser;
const cleanups: (() => Promise<unknown>)[] = [];

before(async () => {
  browser = await launchChromium();
  cleanups.push(() => browser.close());
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup:', err));
});

/** The endpoint rows as the page shows them: name → health and figures, read from the DOM. */
function endpointRows(page: Page, cluster: string) {
  return page.$$eval(
    `[data-testid="cluster"][data-cluster="${cluster}"] tr[data-testid="endpoint"]`,
    (rows) =>
      rows.map((r) => {
        const f = (name: string) => r.querySelector(`[data-field="${name}"]`)?.textContent?.trim() ?? '';
        return {
          name: f('name'),
          healthy: r.getAttribute('data-healthy') === 'true',
          health: f('health'),
          rate: Number(f('rate')),
          inflight: f('inflight'),
          watches: f('watches'),
          sessions: Number(f('sessions')),
        };
      }),
  );
}

function stubStatus(clusters: unknown[], recentErrors: unknown[] = []) {
  return {
    version: 'sha256:0123456789ab',
    generatedAt: new Date().toISOString(),
    uptimeSeconds: 3725,
    clusters,
    recentErrors,
  };
}

function stubEndpoint(name: string, healthy = true) {
  return {
    name,
    url: `https://${name}.example:6443`,
    healthy,
    ejectedFor: healthy ? null : 'connect ECONNREFUSED',
    inflight: 2,
    longRunning: 5,
    ratePerSecond: 12.345,
    sessions: 1,
  };
}

test('status page follows clusters and endpoints as they come and go, and shows client text as text', async () => {
  const stub = await StubStatusServer.start();
  cleanups.push(() => stub.close());
  stub.status = stubStatus(
    [
      {
        name: 'alpha',
        origin: 'file',
        breaker: 'closed',
        endpoints: [stubEndpoint('a-0'), stubEndpoint('a-1')],
        rules: [
          {
            name: 'list-pods',
            action: 'proxy',
            ratePerSecond: 4,
            rejectionsPerSecond: 1.5,
            rejectionsTotal: 17,
            inflight: 3,
            queued: 1,
          },
        ],
      },
    ],
    [
      {
        time: new Date().toISOString(),
        cluster: 'alpha',
        rule: 'list-pods',
        status: 429,
        code: 'RATE_LIMITED',
        message: '<img src=x onerror="document.title=1">',
        path: '/api/v1/pods',
        user: 'system:serviceaccount:ci:runner',
      },
    ],
  );
  const page = await browser.newPage();
  await page.goto(stub.url, { timeout: 10_000 });

  await page.waitForSelector('[data-cluster="alpha"] tr[data-endpoint="a-1"]', { timeout: 5000 });
  assert.deepEqual(
    (await endpointRows(page, 'alpha')).map((e) => [e.name, e.healthy, e.rate, e.watches]),
    [
      ['a-0', true, 12.3, '5'],
      ['a-1', true, 12.3, '5'],
    ],
  );
  const rule = page.locator('[data-cluster="alpha"] tr[data-rule="list-pods"]');
  assert.equal(await rule.locator('[data-field="rejections-rate"]').textContent(), '1.5');
  assert.equal(await rule.locator('[data-field="rejections-total"]').textContent(), '17');
  assert.equal(await rule.locator('[data-field="queued"]').textContent(), '1');
  assert.equal(await page.locator('[data-testid="config-version"]').textContent(), 'sha256:0123456789ab');
  assert.equal(await page.locator('[data-testid="uptime"]').textContent(), '1h 2m 5s');
  const error = page.locator('tr[data-testid="error"]');
  assert.equal(await error.count(), 1);
  assert.equal(
    await error.locator('[data-field="message"]').textContent(),
    '<img src=x onerror="document.title=1">',
  );
  assert.equal(await page.locator('#recent-errors img').count(), 0);

  // alpha loses an endpoint and one goes down; beta appears; then alpha goes away altogether.
  stub.status = stubStatus([
    { name: 'alpha', origin: 'file', breaker: 'open', endpoints: [stubEndpoint('a-0', false)], rules: [] },
    {
      name: 'beta',
      origin: 'UpstreamCluster',
      breaker: 'half-open',
      endpoints: [stubEndpoint('b-0')],
      rules: [],
    },
  ]);
  await page.waitForSelector('[data-cluster="beta"] tr[data-endpoint="b-0"]', { timeout: 5000 });
  assert.deepEqual(
    (await endpointRows(page, 'alpha')).map((e) => [e.name, e.healthy, e.health]),
    [['a-0', false, 'unhealthy connect ECONNREFUSED']],
  );
  assert.equal(
    await page.locator('[data-cluster="alpha"] [data-testid="breaker"]').getAttribute('data-state'),
    'open',
  );
  assert.equal(
    await page.locator('[data-cluster="alpha"] [data-testid="endpoint-summary"]').textContent(),
    '0/1 endpoints healthy',
  );
  assert.equal(await page.locator('tr[data-testid="error"]').count(), 0);
  assert.equal(await page.locator('[data-testid="no-errors"]').isVisible(), true);

  stub.status = stubStatus([
    {
      name: 'beta',
      origin: 'UpstreamCluster',
      breaker: 'closed',
      endpoints: [stubEndpoint('b-0')],
      rules: [],
    },
  ]);
  await page.waitForSelector('[data-cluster="alpha"]', { state: 'detached', timeout: 5000 });
  assert.deepEqual(
    await page.$$eval('[data-testid="cluster"]', (s) => s.map((e) => e.getAttribute('data-cluster'))),
    ['beta'],
  );

  // A failing feed keeps the last figures and says it is stale.
  stub.status = undefined;
  await stub.close();
  await page.waitForSelector('[data-testid="connection"][data-state="stale"]', { timeout: 8000 });
  assert.equal(await page.locator('[data-cluster="beta"] tr[data-endpoint="b-0"]').count(), 1);
  await page.close();
});
