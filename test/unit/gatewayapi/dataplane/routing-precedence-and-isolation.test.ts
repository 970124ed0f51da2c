import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { DataPlaneIR } from '../../../../src/gatewayapi/ir.ts';
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
  vhost,
  type Echo,
} from './helpers.ts';

let plane: DataPlane;
let v1: Echo;
let v2: Echo;
let port = 0;

before(async () => {
  v1 = await startEcho('v1');
  v2 = await startEcho('v2');
  port = await freePort();
  const to = (c: string) => [backend(c)];
  const ir: DataPlaneIR = {
    ports: [
      httpPort(port, [
        listener('abc-foo', 'abc.foo.example.com', [
          vhost('abc.foo.example.com', [
            route('abc', {
              match: match({ path: { type: 'PathPrefix', value: '/abc' } }),
              backends: to('v1'),
            }),
          ]),
        ]),
        listener('wild-foo', '*.foo.example.com', [
          vhost('*.foo.example.com', [
            route('wf', {
              match: match({ path: { type: 'PathPrefix', value: '/wild-foo' } }),
              backends: to('v1'),
            }),
          ]),
        ]),
        listener('wild', '*.example.com', [
          vhost('*.example.com', [
            route('w', {
              match: match({ path: { type: 'PathPrefix', value: '/wild' } }),
              backends: to('v1'),
            }),
          ]),
        ]),
        listener('any', null, [
          vhost('exact.test', [route('exact-host', { backends: to('v2') })]),
          vhost('*', [
            route('exact', {
              match: match({ path: { type: 'Exact', value: '/exact' } }),
              backends: to('v2'),
            }),
            route('prefix', {
              match: match({ path: { type: 'PathPrefix', value: '/foo/' } }),
              backends: to('v1'),
            }),
            route('regex', {
              match: match({ path: { type: 'RegularExpression', value: '/re/[0-9]+' } }),
              backends: to('v2'),
            }),
            route('method', {
              match: match({ path: { type: 'Exact', value: '/m' }, method: 'POST' }),
              backends: to('v2'),
            }),
            route('header', {
              match: match({
                path: { type: 'Exact', value: '/h' },
                headers: [
                  { type: 'Exact', name: 'x-version', value: 'two' },
                  { type: 'RegularExpression', name: 'x-tier', value: 'gold|silver' },
                ],
              }),
              backends: to('v2'),
            }),
            route('query', {
              match: match({
                path: { type: 'Exact', value: '/q' },
                queryParams: [{ type: 'Exact', name: 'Animal', value: 'whale' }],
              }),
              backends: to('v2'),
            }),
            route('fallback-m-h-q', {
              match: match({ path: { type: 'PathPrefix', value: '/' } }),
              backends: to('v1'),
            }),
          ]),
        ]),
      ]),
      httpPort(await freePort(), [
        listener('errors', null, [
          vhost('*', [
            route('invalid', {
              match: match({ path: { type: 'Exact', value: '/invalid' } }),
              backends: [backend(null)],
            }),
            route('zero', {
              match: match({ path: { type: 'Exact', value: '/zero' } }),
              backends: [backend('v1', { weight: 0 })],
            }),
            route('none', { match: match({ path: { type: 'Exact', value: '/none' } }) }),
            route('empty', {
              match: match({ path: { type: 'Exact', value: '/empty' } }),
              backends: to('empty'),
            }),
            route('direct', {
              match: match({ path: { type: 'Exact', value: '/direct' } }),
              directResponse: { status: 500, body: 'invalid rule' },
            }),
            route('bad-regex', {
              match: match({ path: { type: 'RegularExpression', value: '/(' } }),
              backends: to('v1'),
            }),
          ]),
        ]),
      ]),
    ],
    clusters: {
      v1: cluster('v1', [v1.port]),
      v2: cluster('v2', [v2.port]),
      empty: cluster('empty', []),
    },
  };
  plane = new DataPlane({ log: silent });
  const { failed } = await plane.apply(ir);
  assert.deepEqual(failed, []);
  errorsPort = ir.ports[1].port;
});

let errorsPort = 0;

after(async () => {
  await plane.close();
  await v1.close();
  await v2.close();
});

async function backendOf(path: string, opts: Parameters<typeof send>[1] = {}): Promise<string | number> {
  const a = await send(port, { path, ...opts });
  return a.echo?.server ?? a.status;
}

test('the first route whose match holds serves the request, in precedence order', async () => {
  assert.equal(await backendOf('/exact'), 'v2');
  assert.equal(await backendOf('/exact/more'), 'v1'); // Exact is not a prefix
  assert.equal(await backendOf('/re/42'), 'v2');
  assert.equal(await backendOf('/re/42x'), 'v1'); // regular expressions match the whole path
  assert.equal(await backendOf('/m', { method: 'POST' }), 'v2');
  assert.equal(await backendOf('/m'), 'v1');
});

test('PathPrefix matches whole segments and ignores the trailing slash of the prefix', async () => {
  const a = await send(port, { path: '/foo' });
  assert.equal(a.echo?.server, 'v1');
  assert.equal(a.echo?.path, '/foo');
  assert.equal((await send(port, { path: '/foo/bar?x=1' })).echo?.path, '/foo/bar?x=1');
});

test('header matches are case-insensitive in the name, exact or regular expression in the value', async () => {
  assert.equal(await backendOf('/h', { headers: { 'X-Version': 'two', 'X-TIER': 'gold' } }), 'v2');
  assert.equal(await backendOf('/h', { headers: { 'x-version': 'two', 'x-tier': 'bronze' } }), 'v1');
  assert.equal(await backendOf('/h', { headers: { 'x-version': 'Two', 'x-tier': 'gold' } }), 'v1');
});

test('query parameter names match exactly (case-sensitive), the first value counts', async () => {
  assert.equal(await backendOf('/q?Animal=whale'), 'v2');
  assert.equal(await backendOf('/q?animal=whale'), 'v1');
  assert.equal(await backendOf('/q?Animal=whale&Animal=dolphin'), 'v2');
  assert.equal(await backendOf('/q?Animal=dolphin&Animal=whale'), 'v1');
});

test('a request goes to the most specific listener for its Host and sees only its routes', async () => {
  const cases: [string, string, string | number][] = [
    ['bar.com', '/wild', 'v1'], // the catch-all listener's fallback route
    ['bar.example.com', '/wild', 'v1'],
    ['bar.example.com', '/abc', 404],
    ['bar.foo.example.com', '/wild-foo', 'v1'],
    ['bar.foo.example.com', '/wild', 404],
    ['abc.foo.example.com', '/abc', 'v1'],
    ['abc.foo.example.com', '/wild-foo', 404],
    ['ABC.foo.example.com:8080', '/abc', 'v1'],
    ['example.com', '/wild', 'v1'], // `*.example.com` does not match example.com itself
  ];
  for (const [host, path, want] of cases)
    assert.equal(await backendOf(path, { host }), want, `${host}${path}`);
});

test('the first virtual host matching the Host serves it, without falling through to the next', async () => {
  assert.equal(await backendOf('/exact', { host: 'exact.test' }), 'v2'); // exact.test's only route
  assert.equal(await backendOf('/anything', { host: 'exact.test' }), 'v2');
  const a = await send(port, { path: '/m', host: 'exact.test' });
  assert.equal(a.echo?.server, 'v2');
});

test('no listener, virtual host or route answers 404 in plain text', async () => {
  const a = await send(port, { path: '/abc-nope', host: 'abc.foo.example.com' });
  assert.equal(a.status, 404);
  assert.match(String(a.headers['content-type']), /^text\/plain/);
});

test('a route without a valid backend answers 500, a cluster without endpoints 503', async () => {
  const on = (path: string) => send(errorsPort, { path });
  assert.equal((await on('/invalid')).status, 500);
  assert.equal((await on('/zero')).status, 500);
  assert.equal((await on('/none')).status, 500);
  assert.equal((await on('/empty')).status, 503);
  const d = await on('/direct');
  assert.equal(d.status, 500);
  assert.equal(d.body, 'invalid rule\n');
  assert.equal((await on('/(')).status, 404); // the route whose regex does not compile is dropped
});
