import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { devDirB, devState } from '../env.ts';
import { OwnGateway } from '../own-gateway.ts';
import {
  assertAudited,
  assertStatus,
  auditEvents,
  credential,
  frame,
  H2,
  h1Request,
  h2Status,
  hpack,
  marker,
  rawH1,
  rawH2,
} from './raw.ts';

// Today a listener serves exactly one cluster (SNI/Host selection comes with multi-cluster): a
// wrong or foreign SNI, Host or :authority changes nothing — the request goes to the listener's
// cluster (A) as the client, and never to cluster B, whose apiserver names are the ones sent.
// Each case names the cluster it must reach, so SNI/Host routing can add rows here.
let gw: OwnGateway;
const b = () =>
  new URL(JSON.parse(readFileSync(join(devDirB(), 'state.json'), 'utf8')).apiservers[0] as string);

before(async () => {
  gw = await OwnGateway.start({});
});
after(() => gw.stop());

const CASES: { name: string; sni: () => string; host: () => string; reaches: 'A' }[] = [
  { name: 'SNI and Host of cluster B', sni: () => 'cluster-b.example', host: () => b().host, reaches: 'A' },
  {
    name: 'SNI of the listener, Host of cluster B',
    sni: () => 'localhost',
    host: () => b().host,
    reaches: 'A',
  },
  {
    name: 'SNI of cluster B, Host of the listener',
    sni: () => 'cluster-b.example',
    host: () => new URL(gw.url).host,
    reaches: 'A',
  },
  {
    name: 'an unknown SNI and a Host with a path-like value',
    sni: () => 'nowhere.invalid',
    host: () => 'evil.example/api',
    reaches: 'A',
  },
];

for (const c of CASES) {
  test(`HTTP/1.1 with ${c.name}: served by cluster ${c.reaches} as the client, never by the other`, async () => {
    const mark = marker(`sni-${c.name.slice(0, 24)}`);
    const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
      ['Host', c.host()],
      ['User-Agent', mark],
      ['Connection', 'close'],
    ]);
    const r = await rawH1(gw.url, bytes, { ...credential('admin'), servername: c.sni() });
    assert.equal(r.status, 200, r.raw);
    assert.equal(auditEvents(mark, ['B']).length, 0, 'nothing reached cluster B');
    await assertAudited(mark, 1, ['kubegate-admin']);
    assert.equal(auditEvents(mark, ['A']).length > 0, true);
  });
}

test('HTTP/2 with :authority of cluster B and SNI of cluster B: served by cluster A as the client', async () => {
  const mark = marker('sni-h2-authority');
  const fields: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', b().host],
    [':path', `/api/v1/namespaces/${mark}/configmaps`],
    ['host', 'cluster-b.example'],
  ];
  const r = await rawH2(gw.url, [frame(H2.HEADERS, 0x5, 1, hpack(fields))], {
    ...credential('admin'),
    servername: 'cluster-b.example',
    untilStreams: [1],
  });
  const head = r.frames.find((f) => f.stream === 1 && f.type === H2.HEADERS);
  assert.ok(head, 'a response');
  assert.equal(h2Status(head.payload), 200);
  assert.equal(auditEvents(mark, ['B']).length, 0, 'nothing reached cluster B');
  await assertAudited(mark, 1, ['kubegate-admin']);
});

test("cluster B's admin certificate (B's CA) at cluster A's listener is 401: an identity of B is none of A's", async () => {
  const mark = marker('sni-foreign-cert');
  const d = devDirB();
  const tls = {
    cert: readFileSync(join(d, 'pki', 'admin.crt')),
    key: readFileSync(join(d, 'pki', 'admin.key')),
  };
  const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', b().host],
    ['User-Agent', mark],
    ['Connection', 'close'],
  ]);
  assertStatus(await rawH1(gw.url, bytes, { ...tls, servername: 'cluster-b.example' }), 401, 'Unauthorized');
  await assertAudited(mark, 0);
});

test('the dev gateway (one cluster) behaves the same: a Host of cluster B reaches cluster A only', async () => {
  const mark = marker('sni-dev-gateway');
  const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', b().host],
    ['User-Agent', mark],
    ['Connection', 'close'],
  ]);
  const r = await rawH1(devState().gateway, bytes, {
    ...credential('admin'),
    servername: 'cluster-b.example',
  });
  assert.equal(r.status, 200, r.raw);
  assert.equal(auditEvents(mark, ['B']).length, 0);
  await assertAudited(mark, 1, ['kubegate-admin']);
});
