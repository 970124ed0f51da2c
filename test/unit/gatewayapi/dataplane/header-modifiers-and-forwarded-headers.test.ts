import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import type { FilterIR, HeaderModifierIR } from '../../../../src/gatewayapi/ir.ts';
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
let other: Echo;
let port = 0;

function mod(m: Partial<HeaderModifierIR>): HeaderModifierIR {
  return { set: [], add: [], remove: [], ...m };
}

const requestMods: FilterIR = {
  type: 'RequestHeaderModifier',
  headers: mod({
    set: [{ name: 'x-header-set', value: 'set-overwrites-values' }],
    add: [{ name: 'x-header-add-append', value: 'header-val-2' }],
    remove: ['x-header-remove'],
  }),
};
const responseMods: FilterIR = {
  type: 'ResponseHeaderModifier',
  headers: mod({
    set: [{ name: 'x-resp-set', value: 'set' }],
    add: [{ name: 'x-resp-add', value: 'added' }],
    remove: ['x-resp-remove'],
  }),
};

before(async () => {
  // The echo sets response headers named in x-echo-set (name:value,…), like the conformance echo.
  const answer = (name: string) =>
    startEcho(name, (req, res) => {
      const set = String(req.headers['x-echo-set'] ?? '');
      for (const kv of set.split(',').filter(Boolean)) {
        const [k, v] = kv.split(':');
        res.setHeader(k, v);
      }
      return false;
    });
  echo = await answer('echo');
  other = await answer('other');
  port = await freePort();
  plane = new DataPlane({ log: silent });
  await plane.apply(
    simpleIR(
      port,
      [
        route('mods', {
          match: match({ path: { type: 'PathPrefix', value: '/mods' } }),
          filters: [requestMods, responseMods],
          backends: [backend('echo')],
        }),
        route('backend-mods', {
          match: match({ path: { type: 'PathPrefix', value: '/backend' } }),
          backends: [
            backend('echo', {
              weight: 1,
              filters: [
                {
                  type: 'RequestHeaderModifier',
                  headers: mod({ set: [{ name: 'x-backend', value: 'echo' }] }),
                },
              ],
            }),
            backend('other', {
              weight: 1,
              filters: [
                {
                  type: 'RequestHeaderModifier',
                  headers: mod({ set: [{ name: 'x-backend', value: 'other' }] }),
                },
              ],
            }),
          ],
        }),
        route('plain', { backends: [backend('echo')] }),
      ],
      [cluster('echo', [echo.port]), cluster('other', [other.port])],
    ),
  );
});

after(async () => {
  await plane.close();
  await echo.close();
  await other.close();
});

test('RequestHeaderModifier sets, appends and removes request headers', async () => {
  const a = await send(port, {
    path: '/mods',
    headers: { 'X-Header-Set': 'old', 'X-Header-Add-Append': 'append-val-1', 'X-Header-Remove': 'gone' },
  });
  const h = a.echo!.headers;
  assert.equal(h['x-header-set'], 'set-overwrites-values');
  assert.equal(h['x-header-add-append'], 'append-val-1, header-val-2'); // two lines, as Node joins them
  assert.equal(h['x-header-remove'], undefined);
});

test('ResponseHeaderModifier sets, appends to and removes the backend’s response headers', async () => {
  const a = await send(port, {
    path: '/mods',
    headers: { 'x-echo-set': 'x-resp-set:backend,x-resp-add:backend,x-resp-remove:backend,x-other:kept' },
  });
  assert.equal(a.headers['x-resp-set'], 'set');
  assert.equal(a.headers['x-resp-add'], 'backend, added');
  assert.equal(a.headers['x-resp-remove'], undefined);
  assert.equal(a.headers['x-other'], 'kept');
});

test('a backend’s own header modifiers apply only to requests sent to that backend', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 40 && seen.size < 2; i++) {
    const a = await send(port, { path: '/backend' });
    assert.equal(a.echo!.headers['x-backend'], a.echo!.server);
    seen.add(a.echo!.server);
  }
  assert.deepEqual([...seen].sort(), ['echo', 'other']);
});

test('hop-by-hop headers and those Connection names are dropped; X-Forwarded-For/-Proto are set', async () => {
  const a = await send(port, {
    path: '/plain',
    headers: {
      connection: 'keep-alive, x-private',
      'x-private': 'hop',
      'keep-alive': 'timeout=5',
      'proxy-authorization': 'Basic x',
      te: 'trailers',
      'x-forwarded-for': '203.0.113.9',
      authorization: 'Bearer kept',
    },
  });
  const h = a.echo!.headers;
  assert.equal(h['x-private'], undefined);
  assert.equal(h['keep-alive'], undefined);
  assert.equal(h['proxy-authorization'], undefined);
  assert.equal(h.te, undefined);
  assert.equal(h.authorization, 'Bearer kept'); // end-to-end: the backend's business
  assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
});

test('a request body is relayed as sent', async () => {
  const body = 'x'.repeat(200_000);
  const a = await send(port, {
    method: 'POST',
    path: '/plain',
    body,
    headers: { 'content-type': 'text/plain' },
  });
  assert.equal(a.echo!.body.length, body.length);
});
