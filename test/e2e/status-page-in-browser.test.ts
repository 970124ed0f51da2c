import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { devState } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';
import { launchChromium, StubStatusServer, TcpForwarder } from './status-page-browser.ts';

const SECRETS = '/api/v1/namespaces/default/secrets';
const SCREENSHOT = fileURLToPath(new URL('../../docs/status-page.png', import.meta.url));

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

/** Resolves once `check` is true, polling every 200 ms; rejects after `ms`. */
async function until(check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not true within ${ms} ms: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stubError(time: string, message: string) {
  return {
    time,
    cluster: 'alpha',
    rule: 'list-pods',
    status: 429,
    code: 'KG_RATE_LIMITED',
    message,
    path: '/api/v1/pods',
    user: 'system:serviceaccount:ci:runner',
  };
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
      stubError('2026-01-01T10:00:03Z', '<img src=x onerror="document.title=1">'),
      stubError('2026-01-01T10:00:01Z', 'slow down'),
      stubError('2026-01-01T10:00:02Z', '<img src=x onerror="document.title=1">'),
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
  // The same error twice is one row, newest first; markup in a message is shown as text.
  const errors = await page.$$eval('tr[data-testid="error"]', (rows) =>
    rows.map((r) => [
      r.querySelector('time')?.getAttribute('datetime'),
      r.querySelector('[data-field="count"]')?.textContent,
      r.querySelector('[data-field="message"]')?.textContent,
    ]),
  );
  assert.deepEqual(errors, [
    ['2026-01-01T10:00:03Z', '2', '<img src=x onerror="document.title=1">'],
    ['2026-01-01T10:00:01Z', '1', 'slow down'],
  ]);
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

/** GETs through the gateway from `workers` loops until stopped; failures are counted, not thrown. */
class Load {
  ok = 0;
  failed = 0;
  #stopped = false;
  #sent = 0;
  #session: ClientHttp2Session;
  readonly #gw: OwnGateway;
  readonly #loops: Promise<void>[];

  constructor(gw: OwnGateway, workers: number) {
    this.#gw = gw;
    this.#session = gw.session();
    this.#session.on('error', () => {}); // replaced below when it dies
    this.#loops = Array.from({ length: workers }, () => this.#loop());
  }

  async #loop(): Promise<void> {
    while (!this.#stopped) {
      if (this.#session.destroyed || this.#session.closed) {
        this.#session = this.#gw.session();
        this.#session.on('error', () => {});
      }
      // One request in ten asks for secrets, which rule freeze-secrets denies.
      const denied = this.#sent++ % 10 === 9;
      try {
        const r = await h2request(this.#session, denied ? SECRETS : '/api/v1/namespaces/default');
        if (r.status === (denied ? 403 : 200)) this.ok++;
        else this.failed++;
      } catch {
        this.failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    this.#session.close();
  }
}

test(
  'status page, live during load, shows 3 healthy endpoints with rates, then the stopped one unhealthy',
  { timeout: 90_000 },
  async (t) => {
    // The gateway reaches each dev apiserver through a forwarder of ours: closing one stops that
    // endpoint for this gateway alone, and the shared apiservers keep running.
    const forwarders = await Promise.all(devState().apiservers.map((url) => TcpForwarder.start(url)));
    cleanups.push(() => Promise.all(forwarders.map((f) => f.close())));
    const gw = await OwnGateway.start(
      {
        endpoints: forwarders.map((f, i) => ({ name: `apiserver-${i}`, url: f.url })),
        rules: [
          {
            name: 'freeze-secrets',
            match: { resources: ['secrets'] },
            action: 'deny',
            deny: { message: 'secrets are frozen during the incident' },
          },
        ],
      },
      { admin: true },
    );
    cleanups.push(() => gw.stop());
    const load = new Load(gw, 4);
    cleanups.push(() => load.stop());
    const watch: ClientHttp2Stream = gw.session().request({ ':path': '/api/v1/namespaces?watch=1' });
    watch.on('error', () => {});
    watch.resume();
    cleanups.push(async () => watch.session?.destroy());

    const page = await browser.newPage({ viewport: { width: 1200, height: 720 } });
    await page.goto(`${gw.adminURL}/`, { timeout: 10_000 });
    const started = Date.now();
    await until(async () => {
      const rows = await endpointRows(page, 'e2e');
      const watches = rows.reduce((n, e) => n + Number(e.watches), 0);
      return rows.length === 3 && rows.every((e) => e.healthy && e.rate > 0) && watches === 1;
    }, 20_000);
    const healthyAfter = Date.now() - started;
    const before = await endpointRows(page, 'e2e');
    assert.deepEqual(
      before.map((e) => [e.name, e.healthy]),
      [
        ['apiserver-0', true],
        ['apiserver-1', true],
        ['apiserver-2', true],
      ],
    );
    for (const e of before) assert.ok(e.rate > 0 && e.sessions >= 1, `${e.name}: ${JSON.stringify(e)}`);
    assert.equal(
      await page.locator('[data-cluster="e2e"] [data-testid="endpoint-summary"]').textContent(),
      '3/3 endpoints healthy',
    );
    assert.equal(await page.locator('[data-testid="connection"]').getAttribute('data-state'), 'live');
    assert.match((await page.locator('[data-testid="config-version"]').textContent()) ?? '', /\w/);
    const rules = await page.$$eval('[data-cluster="e2e"] tr[data-testid="rule"]', (rows) =>
      rows.map((r) => Number(r.querySelector('[data-field="rate"]')?.textContent)),
    );
    assert.ok(
      rules.some((rate) => rate > 0),
      `a rule shows the load: ${JSON.stringify(rules)}`,
    );

    const watches = before.reduce((n, e) => n + Number(e.watches), 0);
    assert.equal(watches, 1, `the one watch is shown: ${JSON.stringify(before)}`);
    await until(async () => {
      const deny = page.locator('[data-cluster="e2e"] tr[data-rule="freeze-secrets"]');
      const total = Number(await deny.locator('[data-field="rejections-total"]').textContent());
      const rate = Number(await deny.locator('[data-field="rejections-rate"]').textContent());
      return total > 0 && rate > 0;
    }, 5000);
    const denied = page.locator('tr[data-testid="error"]', { hasText: 'freeze-secrets' });
    assert.equal(await denied.count(), 1, 'repeated denials are one row');
    const cells = await denied.locator('td').allTextContents();
    assert.ok(Number(cells[1]) >= 1, `count: ${cells[1]}`);
    assert.deepEqual(cells.slice(2), [
      'e2e',
      'freeze-secrets',
      '403',
      'KG_RULE_DENIED',
      'secrets are frozen during the incident',
      SECRETS,
      'kubegate-admin',
    ]);

    // apiserver-1 goes away (for this gateway): the page must say so within a few seconds.
    await forwarders[1].close();
    const stopped = Date.now();
    await page.waitForSelector('[data-cluster="e2e"] tr[data-endpoint="apiserver-1"][data-healthy="false"]', {
      timeout: 10_000,
    });
    const unhealthyAfter = Date.now() - stopped;
    const afterStop = await endpointRows(page, 'e2e');
    assert.deepEqual(
      afterStop.map((e) => [e.name, e.healthy]),
      [
        ['apiserver-0', true],
        ['apiserver-1', false],
        ['apiserver-2', true],
      ],
    );
    assert.match(afterStop[1].health, /^unhealthy/);
    assert.equal(
      await page.locator('[data-cluster="e2e"] [data-testid="endpoint-summary"]').textContent(),
      '2/3 endpoints healthy',
    );
    // Let the page show a few more seconds of load on the two that are left, for the screenshot.
    await new Promise((r) => setTimeout(r, 2000));
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await load.stop();
    assert.ok(load.ok >= 20, `load went through: ${load.ok} ok, ${load.failed} failed`);
    t.diagnostic(
      `status page: 3 healthy with rates after ${healthyAfter} ms; apiserver-1 unhealthy ${unhealthyAfter} ms after its stop; load ${load.ok} ok / ${load.failed} failed`,
    );
    await page.close();
  },
);
