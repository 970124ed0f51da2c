import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { FilterIR, RedirectIR, RewriteIR } from '../../../../src/gatewayapi/ir.ts';
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
let echo: Echo;
let port = 0;

function redirect(prefix: string, r: Partial<RedirectIR>) {
  const filter: FilterIR = {
    type: 'RequestRedirect',
    redirect: { scheme: null, hostname: null, path: null, port: null, statusCode: 302, ...r },
  };
  return route(prefix, { match: match({ path: { type: 'PathPrefix', value: prefix } }), filters: [filter] });
}

function rewrite(prefix: string, r: Partial<RewriteIR>) {
  const filter: FilterIR = { type: 'URLRewrite', rewrite: { hostname: null, path: null, ...r } };
  return route(prefix, {
    match: match({ path: { type: 'PathPrefix', value: prefix } }),
    filters: [filter],
    backends: [backend('echo')],
  });
}

before(async () => {
  echo = await startEcho('echo');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  await plane.apply(
    simpleIR(
      port,
      [
        redirect('/scheme-https', { scheme: 'https', hostname: 'example.org' }),
        redirect('/scheme-https-8443', { scheme: 'https', hostname: 'example.org', port: 8443 }),
        redirect('/scheme-nil-port-nil', { hostname: 'example.org' }),
        redirect('/scheme-nil-port-80', { hostname: 'example.org', port: 80 }),
        redirect('/port', { port: 8083 }),
        redirect('/status', { statusCode: 301 }),
        redirect('/original-prefix', {
          path: { type: 'ReplacePrefixMatch', value: '/replacement-prefix', prefix: '/original-prefix' },
        }),
        redirect('/full', {
          path: { type: 'ReplaceFullPath', value: '/full-path-replacement', prefix: null },
        }),
        rewrite('/prefix/one', {
          path: { type: 'ReplacePrefixMatch', value: '/one', prefix: '/prefix/one' },
        }),
        rewrite('/strip-prefix', {
          path: { type: 'ReplacePrefixMatch', value: '/', prefix: '/strip-prefix' },
        }),
        rewrite('/full-rewrite', { path: { type: 'ReplaceFullPath', value: '/one', prefix: null } }),
        rewrite('/host', { hostname: 'one.example.org' }),
        route('plain', { backends: [backend('echo')] }),
      ],
      [cluster('echo', [echo.port])],
    ),
  );
});

after(async () => {
  await plane.close();
  await echo.close();
});

async function location(path: string): Promise<[number, string]> {
  const a = await send(port, { path, host: 'gw.test' });
  return [a.status, String(a.headers.location)];
}

test('a scheme without a port redirects to the scheme’s well-known port, left out of Location', async () => {
  assert.deepEqual(await location('/scheme-https'), [302, 'https://example.org/scheme-https']);
  assert.deepEqual(await location('/scheme-https-8443/x'), [
    302,
    'https://example.org:8443/scheme-https-8443/x',
  ]);
});

test('neither scheme nor port redirects to the listener’s port; a well-known port is left out', async () => {
  assert.deepEqual(await location('/scheme-nil-port-nil'), [
    302,
    `http://example.org:${port}/scheme-nil-port-nil`,
  ]);
  assert.deepEqual(await location('/scheme-nil-port-80'), [302, 'http://example.org/scheme-nil-port-80']);
});

test('a port alone keeps the request’s scheme and host; the status code and query are kept', async () => {
  assert.deepEqual(await location('/port?a=1'), [302, 'http://gw.test:8083/port?a=1']);
  assert.deepEqual(await location('/status'), [301, `http://gw.test:${port}/status`]);
});

test('redirect paths: the matched prefix is replaced segment-wise, or the whole path', async () => {
  assert.deepEqual(await location('/original-prefix/lemon'), [
    302,
    `http://gw.test:${port}/replacement-prefix/lemon`,
  ]);
  assert.deepEqual(await location('/original-prefix'), [302, `http://gw.test:${port}/replacement-prefix`]);
  assert.deepEqual(await location('/full/path/original'), [
    302,
    `http://gw.test:${port}/full-path-replacement`,
  ]);
});

test('URLRewrite rewrites the path the backend sees, keeping the query', async () => {
  const path = async (p: string) => (await send(port, { path: p })).echo?.path;
  assert.equal(await path('/prefix/one/two'), '/one/two');
  assert.equal(await path('/strip-prefix/three?x=y'), '/three?x=y');
  assert.equal(await path('/strip-prefix'), '/');
  assert.equal(await path('/full-rewrite/any/thing'), '/one');
});

test('URLRewrite hostname replaces Host; otherwise Host reaches the backend as sent', async () => {
  assert.equal((await send(port, { path: '/host', host: 'rewrite.example' })).echo?.host, 'one.example.org');
  assert.equal((await send(port, { path: '/x', host: 'Keep.Example:81' })).echo?.host, 'Keep.Example:81');
});
