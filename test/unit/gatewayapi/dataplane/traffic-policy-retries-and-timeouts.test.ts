// A TrafficPolicy's `retry` and `timeouts` in the data plane: fed into the same forwarding code as
// an HTTPRoute rule's, which wins where it sets its own; only a body that can be sent again is.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { PolicyRetryIR, PolicyTimeoutsIR, RouteIR } from '../../../../src/gatewayapi/ir.ts';
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
  trafficPolicy,
  type Echo,
} from './helpers.ts';

const RETRY: PolicyRetryIR = {
  attempts: 2,
  perTryTimeoutMs: 0,
  codes: [502, 503, 504],
  onConnectFailure: true,
  onReset: true,
  backoffMs: 5,
  backoffMaxMs: 20,
};

function on(
  path: string,
  opts: {
    retry?: Partial<PolicyRetryIR>;
    timeouts?: Partial<PolicyTimeoutsIR>;
    own?: Partial<RouteIR>;
    to?: string;
  },
): RouteIR {
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend(opts.to ?? 'flaky')],
    trafficPolicy: trafficPolicy({
      ...(opts.retry ? { retry: { ...RETRY, ...opts.retry } } : {}),
      ...(opts.timeouts
        ? { timeouts: { requestMs: 0, backendRequestMs: 0, idleMs: 0, ...opts.timeouts } }
        : {}),
    }),
    ...opts.own,
  });
}

let plane: DataPlane;
let flaky: Echo;
let live: Echo;
let port = 0;
let deadPort = 0;
/** Requests the backend saw by `id` query parameter. */
const hits = new Map<string, number>();

before(async () => {
  // ?fail=N&code=C&id=I: the first N requests of id I answer C (or are reset without a code);
  // ?delay=ms answers late; ?stall=1 sends the head and part of the body, then nothing.
  flaky = await startEcho('flaky', (req, res) => {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const id = q.get('id') ?? '';
    const n = hits.get(id) ?? 0;
    hits.set(id, n + 1);
    if (n < Number(q.get('fail') ?? 0)) {
      const code = q.get('code');
      if (code === null) req.socket.resetAndDestroy();
      else {
        res.writeHead(Number(code), { 'x-attempt': String(n + 1) });
        res.end('failed');
      }
      return true;
    }
    if (q.get('stall') === '1') {
      res.writeHead(200);
      res.write('partial');
      return true;
    }
    const delay = Number(q.get('delay') ?? 0);
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
  const { failed } = await plane.apply(
    simpleIR(
      port,
      [
        on('/retry', { retry: {} }),
        on('/retry-codes', { retry: { codes: [409], onReset: false, onConnectFailure: false } }),
        on('/connect-only', { retry: { codes: [], onReset: false }, to: 'half-dead' }),
        on('/connect-only-flaky', { retry: { codes: [], onReset: false } }),
        on('/per-try', { retry: { perTryTimeoutMs: 200 } }),
        on('/per-try-no-retry-on-timeout', { retry: { perTryTimeoutMs: 200, onReset: false } }),
        on('/request-timeout', { timeouts: { requestMs: 300 } }),
        on('/backend-timeout', { timeouts: { backendRequestMs: 300 } }),
        on('/idle', { timeouts: { idleMs: 300 } }),
        on('/own-retry', {
          retry: { attempts: 5 },
          own: { retry: { codes: [500], attempts: 1, backoffMs: 5 } },
        }),
        on('/own-timeout', {
          timeouts: { requestMs: 300 },
          own: { timeouts: { requestMs: 5000, backendRequestMs: 0 } },
        }),
      ],
      [cluster('flaky', [flaky.port]), cluster('half-dead', [deadPort, live.port])],
    ),
  );
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await flaky.close();
  await live.close();
});

let ids = 0;
const get = async (path: string, q: string, method = 'GET', body?: string) => {
  const id = `r${++ids}`;
  const a = await send(port, { path: `${path}?id=${id}&${q}`, method, body });
  return { status: a.status, attempt: a.headers['x-attempt'], hits: hits.get(id) ?? 0, echo: a.echo };
};

test('a 503 is retried up to `attempts` times, then the last answer stands', async () => {
  const second = await get('/retry', 'fail=1&code=503');
  assert.equal(second.status, 200);
  assert.equal(second.hits, 2);
  const last = await get('/retry', 'fail=9&code=503');
  assert.equal(last.status, 503);
  assert.equal(last.attempt, '3');
  assert.equal(last.hits, 3);
  const notListed = await get('/retry', 'fail=1&code=500');
  assert.equal(notListed.status, 500);
  assert.equal(notListed.hits, 1);
});

test('statusCodes are retried; without onReset a reset is not', async () => {
  const a = await get('/retry-codes', 'fail=2&code=409');
  assert.equal(a.status, 200);
  assert.equal(a.hits, 3);
  const reset = await get('/retry-codes', 'fail=1', 'POST', 'x');
  assert.equal(reset.status, 502);
  assert.equal(reset.hits, 1);
});

test('connect-failure retries a refused connection on another endpoint, not a reset', async () => {
  for (let i = 0; i < 4; i++) {
    const a = await send(port, { path: '/connect-only' });
    assert.equal(a.status, 200);
    assert.equal(a.echo?.server, 'live');
  }
  const reset = await get('/connect-only-flaky', 'fail=1', 'POST', 'x');
  assert.equal(reset.status, 502);
  assert.equal(reset.hits, 1);
});

test('perTryTimeout ends a slow attempt and retries it; without onReset it is a 504', async () => {
  const slow = await get('/per-try', 'delay=1000');
  assert.equal(slow.status, 504);
  assert.equal(slow.hits, 3);
  const once = await get('/per-try-no-retry-on-timeout', 'delay=1000');
  assert.equal(once.status, 504);
  assert.equal(once.hits, 1);
  assert.equal((await get('/per-try', 'delay=10')).status, 200);
});

test('a POST whose body is too large to buffer is streamed and not retried', async () => {
  const big = 'p'.repeat(100_000);
  const id = `r${++ids}`;
  const a = await send(port, {
    method: 'POST',
    path: `/retry?id=${id}&fail=1&code=503`,
    body: big,
    chunked: true,
  });
  assert.equal(a.status, 503);
  assert.equal(hits.get(id), 1);
  const small = await send(port, {
    method: 'POST',
    path: `/retry?id=r${++ids}&fail=1&code=503`,
    body: 'small',
  });
  assert.equal(small.status, 200);
  assert.equal(small.echo?.body, 'small');
});

test('the policy timeouts: request, backendRequest and idle each answer 504', async () => {
  assert.equal((await get('/request-timeout', 'delay=2000')).status, 504);
  assert.equal((await get('/request-timeout', 'delay=10')).status, 200);
  assert.equal((await get('/backend-timeout', 'delay=2000')).status, 504);
  assert.equal((await get('/idle', 'delay=2000')).status, 504);
  assert.equal((await get('/idle', 'delay=10')).status, 200);
});

test('an idle timeout after the response head cuts the response', async () => {
  await assert.rejects(get('/idle', 'stall=1'));
});

test("the rule's own retry and timeouts win over the policy's", async () => {
  const retried = await get('/own-retry', 'fail=9&code=500');
  assert.equal(retried.status, 500);
  assert.equal(retried.hits, 2);
  const notPolicyCode = await get('/own-retry', 'fail=1&code=503');
  assert.equal(notPolicyCode.status, 503);
  assert.equal((await get('/own-timeout', 'delay=800')).status, 200);
});
