import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { RetryIR, TimeoutsIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  match,
  route,
  send,
  silent,
  simpleIR,
  startEcho,
  type Echo,
} from './helpers.ts';

let plane: DataPlane;
let flaky: Echo;
let live: Echo;
let port = 0;
let deadPort = 0;

/** Failures so far by `id` query parameter. */
const failures = new Map<string, number>();

function on(path: string, opts: { timeouts?: Partial<TimeoutsIR>; retry?: Partial<RetryIR>; to?: string }) {
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend(opts.to ?? 'flaky')],
    timeouts: opts.timeouts ? { requestMs: 0, backendRequestMs: 0, ...opts.timeouts } : null,
    retry: opts.retry ? { codes: [], attempts: 1, backoffMs: 10, ...opts.retry } : null,
  });
}

before(async () => {
  // ?fail=N&code=C&id=I: the first N requests of id I fail (code C, or a reset without a code);
  // ?delay=ms answers late.
  flaky = await startEcho('flaky', (req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const delay = Number(q.get('delay') ?? 0);
    const id = q.get('id') ?? '';
    const n = failures.get(id) ?? 0;
    if (n < Number(q.get('fail') ?? 0)) {
      failures.set(id, n + 1);
      const code = q.get('code');
      if (code === null) req.socket.resetAndDestroy();
      else {
        res.writeHead(Number(code));
        res.end('failed');
      }
      return true;
    }
    if (delay > 0) {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ server: 'flaky', path: req.url }));
      }, delay);
      return true;
    }
    return false;
  });
  live = await startEcho('live');
  deadPort = await freePort();
  port = await freePort();
  plane = new DataPlane({ log: silent });
  await plane.apply(
    simpleIR(
      port,
      [
        on('/request-timeout', { timeouts: { requestMs: 1000 } }),
        on('/backend-timeout', { timeouts: { backendRequestMs: 1000 } }),
        on('/no-timeout', {}),
        on('/retry-500', { retry: { codes: [500], attempts: 3 } }),
        on('/retry-all-2', { retry: { codes: [500, 502, 503, 504], attempts: 2 } }),
        on('/retry-0', { retry: { codes: [500, 503], attempts: 0 } }),
        on('/retry-within-request-timeout', {
          retry: { codes: [500], attempts: 5 },
          timeouts: { requestMs: 1500 },
        }),
        on('/retry-per-try-timeout', {
          retry: { codes: [500], attempts: 2 },
          timeouts: { backendRequestMs: 150 },
        }),
        on('/dead-then-live', { retry: { attempts: 3 }, to: 'half-dead' }),
        on('/dead-no-retry', { to: 'dead' }),
        on('/reset-no-retry', {}),
      ],
      [
        cluster('flaky', [flaky.port]),
        cluster('half-dead', [deadPort, live.port]),
        cluster('dead', [deadPort]),
      ],
    ),
  );
});

after(async () => {
  await plane.close();
  await flaky.close();
  await live.close();
});

let ids = 0;
const status = async (path: string, q: string, method = 'GET', body?: string) =>
  (await send(port, { path: `${path}?id=${++ids}&${q}`, method, body })).status;

test('requestMs answers 504 when the backend is slower; no timeout waits', async () => {
  assert.equal(await status('/request-timeout', 'delay=10'), 200);
  const t0 = performance.now();
  assert.equal(await status('/request-timeout', 'delay=3000'), 504);
  assert.ok(performance.now() - t0 < 2900);
  assert.equal(await status('/no-timeout', 'delay=400'), 200);
});

test('backendRequestMs answers 504 when an attempt is slower', async () => {
  assert.equal(await status('/backend-timeout', 'delay=10'), 200);
  assert.equal(await status('/backend-timeout', 'delay=3000'), 504);
});

test('listed status codes are retried up to `attempts` times, then the last answer stands', async () => {
  assert.equal(await status('/retry-500', 'fail=2&code=500'), 200);
  assert.equal(await status('/retry-500', 'fail=4&code=500'), 500);
  assert.equal(await status('/retry-500', 'fail=1&code=503'), 503); // 503 not listed
  assert.equal(await status('/retry-all-2', 'fail=1&code=503'), 200);
  assert.equal(await status('/retry-all-2', 'fail=3&code=502'), 502);
  assert.equal(await status('/retry-0', 'fail=1&code=500'), 500);
});

test('a request body is sent again on a retry', async () => {
  const a = await send(port, {
    method: 'POST',
    path: `/retry-500?id=${++ids}&fail=1&code=500`,
    body: 'again',
  });
  assert.equal(a.status, 200);
  assert.equal(a.echo?.body, 'again');
});

test('a body over the buffer limit is streamed whole and not retried; one under it, chunked, is', async () => {
  const big = 'b'.repeat(100_000);
  for (const chunked of [false, true]) {
    const ok = await send(port, { method: 'POST', path: `/retry-500?id=${++ids}`, body: big, chunked });
    assert.equal(ok.echo?.body.length, big.length);
    const once = await send(port, {
      method: 'POST',
      path: `/retry-500?id=${++ids}&fail=1&code=500`,
      body: big,
      chunked,
    });
    assert.equal(once.status, 500);
  }
  const small = await send(port, {
    method: 'POST',
    path: `/retry-500?id=${++ids}&fail=1&code=500`,
    body: 'small',
    chunked: true,
  });
  assert.equal(small.status, 200);
  assert.equal(small.echo?.body, 'small');
  assert.equal(small.echo?.headers['content-length'], '5');
});

test('retries stay within requestMs (504 once it is over) and each attempt within backendRequestMs', async () => {
  assert.equal(await status('/retry-within-request-timeout', 'fail=1&code=500'), 200);
  assert.equal(await status('/retry-within-request-timeout', 'delay=2500'), 504);
  assert.equal(await status('/retry-per-try-timeout', 'delay=600'), 504);
});

test('a connection refused is retried on another endpoint; without a retry policy it is 502', async () => {
  for (let i = 0; i < 6; i++) {
    const a = await send(port, { path: '/dead-then-live' });
    assert.equal(a.status, 200);
    assert.equal(a.echo?.server, 'live');
  }
  assert.equal((await send(port, { path: '/dead-no-retry' })).status, 502);
});

test('a reset before the response is 502 without a retry policy, retried with one', async () => {
  assert.equal(await status('/reset-no-retry', 'fail=1', 'POST', 'x'), 502);
  assert.equal(await status('/retry-500', 'fail=1', 'POST', 'x'), 200);
});
