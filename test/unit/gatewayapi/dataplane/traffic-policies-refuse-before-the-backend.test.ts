// TrafficPolicy fields in the data plane, against adversarial clients: each refusal has its status
// and never reaches the backend; the client address is the connection's peer, whatever headers say.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import { IPFilter } from '../../../../src/gatewayapi/dataplane/policies/ip-filter.ts';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  httpPort,
  listener,
  match,
  route,
  send,
  silent,
  startEcho,
  trafficPolicy,
  vhost,
  type Echo,
} from './helpers.ts';

const sha1 = (s: string) => createHash('sha1').update(s).digest('base64');
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

function at(path: string, p: Partial<TrafficPolicyIR>) {
  return route(path, {
    match: match({ path: { type: 'PathPrefix', value: path } }),
    backends: [backend('echo')],
    trafficPolicy: trafficPolicy(p),
  });
}

const ROUTES = [
  at('/deny-loopback', { ipFilter: { allow: [], deny: ['127.0.0.0/8', '::1/128'] } }),
  at('/allow-loopback', { ipFilter: { allow: ['127.0.0.1/32', '::1/128'], deny: [] } }),
  at('/allow-ten', { ipFilter: { allow: ['10.0.0.0/8'], deny: [] } }),
  at('/deny-wins', { ipFilter: { allow: ['127.0.0.0/8'], deny: ['127.0.0.1/32'] } }),
  at('/basic', { basicAuth: { realm: 'apps', users: { alice: sha1('wonderland') } } }),
  at('/basic-nobody', { basicAuth: { realm: 'kubegate', users: {} } }),
  at('/key', { apiKeyAuth: { header: 'x-api-key', keys: [sha256('k-123')], stripHeader: true } }),
  at('/key-kept', { apiKeyAuth: { header: 'x-api-key', keys: [sha256('k-123')], stripHeader: false } }),
  at('/key-nobody', { apiKeyAuth: { header: 'x-api-key', keys: [], stripHeader: false } }),
  at('/limit', { requestBodyLimit: 16 }),
  at('/both', {
    basicAuth: { realm: 'apps', users: { alice: sha1('wonderland') } },
    apiKeyAuth: { header: 'x-api-key', keys: [sha256('k-123')], stripHeader: false },
  }),
  at('/limited', {
    localRateLimit: { bucket: 'default/rl@2|default/limited#', tokens: 3, fillIntervalMs: 60_000 },
  }),
  at('/limited-basic', {
    localRateLimit: { bucket: 'default/rl@2|default/limited-basic#', tokens: 2, fillIntervalMs: 60_000 },
    basicAuth: { realm: 'apps', users: { alice: sha1('wonderland') } },
  }),
  route('/open', { backends: [backend('echo')] }),
];

let plane: DataPlane;
let echo: Echo;
let port = 0;
let port6 = 0;

before(async () => {
  echo = await startEcho('echo');
  port = await freePort();
  port6 = await freePort();
  plane = new DataPlane({ log: silent });
  const ls = [listener('http', null, [vhost('*', ROUTES)])];
  const { failed } = await plane.apply({
    ports: [httpPort(port, ls), { ...httpPort(port6, ls), address: '::1' }],
    clusters: { echo: cluster('echo', [echo.port]) },
  });
  assert.deepEqual(failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
});

/** Requests the backend saw for `path`. */
const seen = (path: string) => echo.seen.filter((e) => e.path === path).length;

test('ipFilter refuses a denied client address with 403 before the backend', async () => {
  const r = await send(port, { path: '/deny-loopback' });
  assert.equal(r.status, 403);
  assert.match(r.body, /forbidden/);
  assert.equal(seen('/deny-loopback'), 0);
  assert.equal((await send(port, { path: '/allow-loopback' })).status, 200);
  assert.equal((await send(port, { path: '/deny-wins' })).status, 403);
});

test('a spoofed X-Forwarded-For or X-Real-IP does not change the client address', async () => {
  const headers = { 'x-forwarded-for': '10.1.2.3', 'x-real-ip': '10.1.2.3', forwarded: 'for=10.1.2.3' };
  assert.equal((await send(port, { path: '/allow-ten', headers })).status, 403);
  assert.equal(seen('/allow-ten'), 0);
});

test('ipFilter applies to IPv6 clients and to IPv4-mapped addresses', async () => {
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '::1', port: port6, path, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await get('/deny-loopback'), 403);
  assert.equal(await get('/allow-loopback'), 200);
  assert.equal(await get('/allow-ten'), 403);
  const f = new IPFilter({ allow: ['10.0.0.0/8'], deny: ['::ffff:10.9.0.0/112'] });
  assert.equal(f.admits('::ffff:10.1.2.3'), true);
  assert.equal(f.admits('10.9.0.1'), false);
  assert.equal(f.admits('::ffff:10.9.0.1'), false);
  assert.equal(f.admits('192.0.2.1'), false);
  assert.equal(f.admits(undefined), false);
});

test('basicAuth lets a known user in and answers 401 with a Basic challenge otherwise', async () => {
  const ok = await send(port, { path: '/basic', headers: { authorization: basic('alice', 'wonderland') } });
  assert.equal(ok.status, 200);
  const before = seen('/basic');
  const forged = [
    undefined,
    basic('alice', 'wrong'),
    basic('mallory', 'wonderland'),
    basic('alice', ''),
    basic('', 'wonderland'),
    'Basic',
    'Basic ',
    'Basic !!!not-base64!!!',
    `Basic ${Buffer.from('alicewonderland').toString('base64')}`,
    `Bearer ${Buffer.from('alice:wonderland').toString('base64')}`,
    `Basic ${'A'.repeat(8000)}`,
    `Basic ${Buffer.from('alice:wonderland\0').toString('base64')}`,
  ];
  for (const authorization of forged) {
    const r = await send(port, {
      path: '/basic',
      headers: authorization === undefined ? {} : { authorization },
    });
    assert.equal(r.status, 401, String(authorization));
    assert.equal(r.headers['www-authenticate'], 'Basic realm="apps", charset="UTF-8"');
  }
  assert.equal(seen('/basic'), before);
});

test('basicAuth without users (a missing Secret) lets nobody in', async () => {
  const r = await send(port, {
    path: '/basic-nobody',
    headers: { authorization: basic('alice', 'wonderland') },
  });
  assert.equal(r.status, 401);
  assert.equal(seen('/basic-nobody'), 0);
});

test('apiKeyAuth checks the header, strips it when asked, and refuses a repeated or wrong key', async () => {
  const ok = await send(port, { path: '/key', headers: { 'x-api-key': 'k-123' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.echo?.headers['x-api-key'], undefined);
  const kept = await send(port, { path: '/key-kept', headers: { 'x-api-key': 'k-123' } });
  assert.equal(kept.echo?.headers['x-api-key'], 'k-123');
  for (const headers of [
    {} as Record<string, string>,
    { 'x-api-key': 'k-124' },
    { 'x-api-key': '' },
    { 'x-api-key': 'k-123, k-123' },
  ])
    assert.equal((await send(port, { path: '/key', headers })).status, 401);
  const repeated = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/key', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.setHeader('x-api-key', ['k-123', 'k-123']);
    req.on('error', reject);
    req.end();
  });
  assert.equal(repeated, 401);
  assert.equal((await send(port, { path: '/key-nobody', headers: { 'x-api-key': 'k-123' } })).status, 401);
  assert.equal(seen('/key-nobody'), 0);
});

test('every credential a route asks for is needed', async () => {
  const both = { authorization: basic('alice', 'wonderland'), 'x-api-key': 'k-123' };
  assert.equal((await send(port, { path: '/both', headers: both })).status, 200);
  assert.equal(
    (await send(port, { path: '/both', headers: { authorization: both.authorization } })).status,
    401,
  );
  assert.equal((await send(port, { path: '/both', headers: { 'x-api-key': 'k-123' } })).status, 401);
});

test('requestBodyLimit forwards a body within the limit and answers 413 to a larger one', async () => {
  const small = await send(port, { method: 'POST', path: '/limit', body: 'x'.repeat(16) });
  assert.equal(small.status, 200);
  assert.equal(small.echo?.body, 'x'.repeat(16));
  const chunkedSmall = await send(port, {
    method: 'POST',
    path: '/limit',
    body: 'y'.repeat(10),
    chunked: true,
  });
  assert.equal(chunkedSmall.echo?.body, 'y'.repeat(10));
  const before = seen('/limit');
  const declared = await send(port, { method: 'POST', path: '/limit', body: 'x'.repeat(17) });
  assert.equal(declared.status, 413);
  const chunked = await send(port, {
    method: 'POST',
    path: '/limit',
    body: 'z'.repeat(256 * 1024),
    chunked: true,
  });
  assert.equal(chunked.status, 413);
  assert.equal(seen('/limit'), before);
});

test('a body streamed slowly past the limit is cut and never forwarded, not even in part', async () => {
  const before = seen('/limit');
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/limit',
        agent: false,
        headers: { 'transfer-encoding': 'chunked' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.write('0123456789');
    setTimeout(() => req.write('0123456789'), 50);
    // The gateway answers (and closes) without waiting for the end of the body.
  });
  assert.equal(status, 413);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen('/limit'), before);
});

test('routes without a policy are not touched', async () => {
  const r = await send(port, { path: '/open' });
  assert.equal(r.status, 200);
});

test('localRateLimit answers 429 with Retry-After once a client address has used its tokens', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await send(port, { path: '/limited' })).status, 200);
  const r = await send(port, { path: '/limited', headers: { 'x-forwarded-for': `10.0.0.${Math.random()}` } });
  assert.equal(r.status, 429);
  assert.ok(
    Number(r.headers['retry-after']) >= 1 && Number(r.headers['retry-after']) <= 20,
    r.headers['retry-after'],
  );
  assert.equal(seen('/limited'), 3);
});

test('localRateLimit keeps a bucket per client address and across a reload of the same policy', async () => {
  const get6 = () =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '::1', port: port6, path: '/limited', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await get6(), 200); // ::1 is another client than 127.0.0.1
  const ls = [
    listener('http', null, [
      vhost(
        '*',
        ROUTES.map((r) => ({ ...r })),
      ),
    ]),
  ];
  await plane.apply({
    ports: [httpPort(port, ls), { ...httpPort(port6, ls), address: '::1' }],
    clusters: { echo: cluster('echo', [echo.port]) },
  });
  assert.equal((await send(port, { path: '/limited' })).status, 429);
});

test('password guesses cost tokens: the limit is checked before the credentials', async () => {
  assert.equal(
    (await send(port, { path: '/limited-basic', headers: { authorization: basic('alice', 'a') } })).status,
    401,
  );
  assert.equal(
    (await send(port, { path: '/limited-basic', headers: { authorization: basic('alice', 'b') } })).status,
    401,
  );
  const r = await send(port, {
    path: '/limited-basic',
    headers: { authorization: basic('alice', 'wonderland') },
  });
  assert.equal(r.status, 429);
});
