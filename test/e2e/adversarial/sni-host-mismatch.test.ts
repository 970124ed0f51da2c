import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { issueCert } from '../../../src/dev/pki.ts';
import { devDir, devDirB, devState } from '../env.ts';
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
  message,
  rawH1,
  rawH2,
  type TLSOptions,
} from './raw.ts';

// One listener serves cluster A (`a.kubegate.test`, the listener's certificate, and the listener's
// cluster for no or an unknown SNI) and cluster B (`b.kubegate.test`, its own certificate and client
// CA). The TLS server name picks the cluster once per connection; a Host or :authority of the other
// cluster (or, on a cluster that lists hosts, of no cluster) is refused with 421 Misdirected and
// reaches no apiserver. Every case checks both clusters' audit logs: nothing reaches the wrong one.
const A = 'a.kubegate.test';
const B = 'b.kubegate.test';
let gw: OwnGateway;
let dir = '';
const bState = () =>
  JSON.parse(readFileSync(join(devDirB(), 'state.json'), 'utf8')) as { apiservers: string[] };
const bApiserver = () => new URL(bState().apiservers[0]);
const pkiB = (f: string) => join(devDirB(), 'pki', f);

/** TLS as the admin of the SNI's cluster (its client CA, and its CA for the server's chain). */
function as(cluster: 'A' | 'B', servername: string): TLSOptions {
  if (cluster === 'A') return { ...credential('admin'), servername };
  return {
    cert: readFileSync(pkiB('admin.crt')),
    key: readFileSync(pkiB('admin.key')),
    ca: readFileSync(pkiB('ca.crt')),
    servername,
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-adv-sni-'));
  await issueCert(
    dir,
    'b-serving',
    { cert: pkiB('ca.crt'), key: pkiB('ca.key') },
    { cn: B, usage: 'server', dns: [B] },
  );
  const pkiA = (f: string) => join(devDir(), 'pki', f);
  const hc = { intervalSeconds: 1, timeoutSeconds: 1, rise: 1, fall: 2 };
  const clusters = [
    {
      name: 'e2e',
      hosts: [A],
      clientCA: { file: pkiA('ca.crt') },
      endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })),
      upstreamCA: { file: pkiA('ca.crt') },
      credentials: { certFile: pkiA('gateway-upstream.crt'), keyFile: pkiA('gateway-upstream.key') },
      healthCheck: hc,
    },
    {
      name: 'b',
      hosts: [B],
      serving: { certFile: join(dir, 'b-serving.crt'), keyFile: join(dir, 'b-serving.key') },
      clientCA: { file: pkiB('ca.crt') },
      endpoints: bState().apiservers.map((url, i) => ({ name: `b-${i}`, url })),
      upstreamCA: { file: pkiB('ca.crt') },
      credentials: { certFile: pkiB('gateway-upstream.crt'), keyFile: pkiB('gateway-upstream.key') },
      healthCheck: hc,
    },
  ];
  gw = await OwnGateway.start({}, { gateway: { clusters } });
});
after(async () => {
  await gw?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Case {
  name: string;
  /** The TLS server name, and whose admin the client is (the SNI's cluster's). */
  sni: () => string;
  as: 'A' | 'B';
  host: () => string;
  /** The cluster that must serve it (and no other), or null: refused with 421 before any upstream. */
  reaches: 'A' | 'B' | null;
}

const CASES: Case[] = [
  { name: 'SNI and Host of A', sni: () => A, as: 'A', host: () => A, reaches: 'A' },
  { name: 'SNI and Host of B', sni: () => B, as: 'B', host: () => `${B}:443`, reaches: 'B' },
  { name: 'SNI of A, Host of B', sni: () => A, as: 'A', host: () => B, reaches: null },
  { name: 'SNI of B, Host of A', sni: () => B, as: 'B', host: () => A.toUpperCase(), reaches: null },
  // An IP-literal Host names no cluster (SNI cannot carry IPs): the SNI's cluster serves it, even
  // when it is the address of B's own apiserver.
  { name: "SNI of A, Host of B's apiserver address", sni: () => A, as: 'A', host: () => bApiserver().host, reaches: 'A' },
  { name: 'SNI of B, Host of the listener address', sni: () => B, as: 'B', host: () => new URL(gw.url).host, reaches: 'B' },
  // No cluster lists these server names: the listener's cluster (A) is chosen, and A lists hosts.
  { name: 'the listener’s SNI (localhost), Host of B', sni: () => 'localhost', as: 'A', host: () => B, reaches: null },
  { name: 'an unknown SNI, Host of B', sni: () => 'cluster-b.example', as: 'A', host: () => B, reaches: null },
  { name: 'an unknown SNI and Host', sni: () => 'nowhere.invalid', as: 'A', host: () => 'nowhere.invalid', reaches: null },
  // kubectl --tls-server-name with a name no cluster lists (a removed cluster's): Host is the IP.
  { name: 'an unknown SNI and an IP Host', sni: () => 'gone.kubegate.test', as: 'A', host: () => new URL(gw.url).host, reaches: null },
  { name: 'an unknown SNI and a path-like Host', sni: () => 'nowhere.invalid', as: 'A', host: () => 'evil.example/api', reaches: null },
]; // prettier-ignore

for (const c of CASES) {
  const what =
    c.reaches === null ? '421 Misdirected, reaching no cluster' : `served by cluster ${c.reaches} only`;
  test(`HTTP/1.1 with ${c.name}: ${what}`, async () => {
    const mark = marker(`sni-${c.name.slice(0, 24)}`);
    const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
      ['Host', c.host()],
      ['User-Agent', mark],
      ['Connection', 'close'],
    ]);
    const r = await rawH1(gw.url, bytes, as(c.as, c.sni()));
    if (c.reaches === null) {
      assertStatus(r, 421, 'Misdirected');
      assert.match(message(r), /^misdirected request: (host|the TLS server name) "/);
      await assertAudited(mark, 0);
      return;
    }
    assert.equal(r.status, 200, r.raw);
    const other = c.reaches === 'A' ? 'B' : 'A';
    assert.equal(auditEvents(mark, [other]).length, 0, `nothing reached cluster ${other}`);
    await assertAudited(mark, 1, ['kubegate-admin']);
    assert.equal(auditEvents(mark, [c.reaches]).length > 0, true);
  });
}

/** One HTTP/2 GET with exactly these header fields; the response status. */
async function h2Case(
  opts: TLSOptions,
  authority: string,
  host?: string,
): Promise<{ status: number; mark: string }> {
  const mark = marker(`sni-h2-${authority}-${host ?? ''}`);
  const fields: [string, string][] = [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', authority],
    [':path', `/api/v1/namespaces/${mark}/configmaps`],
    ['user-agent', mark],
  ];
  if (host !== undefined) fields.push(['host', host]);
  const r = await rawH2(gw.url, [frame(H2.HEADERS, 0x5, 1, hpack(fields))], { ...opts, untilStreams: [1] });
  const head = r.frames.find((f) => f.stream === 1 && f.type === H2.HEADERS);
  assert.ok(head, 'a response');
  return { status: h2Status(head.payload), mark };
}

test('HTTP/2 :authority of B on SNI of A, and of A on SNI of B: 421, reaching no cluster', async () => {
  const onA = await h2Case(as('A', A), B);
  assert.equal(onA.status, 421);
  await assertAudited(onA.mark, 0);
  const onB = await h2Case(as('B', B), `${A}:443`);
  assert.equal(onB.status, 421);
  await assertAudited(onB.mark, 0);
});

test('HTTP/2 :authority of the SNI’s cluster with a host header of the other: 421 (both are checked)', async () => {
  const r = await h2Case(as('B', B), B, A);
  assert.equal(r.status, 421);
  await assertAudited(r.mark, 0);
});

test('HTTP/2 :authority and SNI of B: served by cluster B only', async () => {
  const r = await h2Case(as('B', B), B);
  assert.equal(r.status, 200);
  assert.equal(auditEvents(r.mark, ['A']).length, 0, 'nothing reached cluster A');
  await assertAudited(r.mark, 1, ['kubegate-admin']);
});

test("B's admin certificate (B's CA) on A's name, and A's on B's, are 401: each cluster trusts its own client CA", async () => {
  for (const [sni, tls] of [
    [A, { cert: readFileSync(pkiB('admin.crt')), key: readFileSync(pkiB('admin.key')) }],
    [B, { ...credential('admin'), ca: readFileSync(pkiB('ca.crt')) }],
  ] as const) {
    const mark = marker(`sni-foreign-cert-${sni}`);
    const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
      ['Host', sni],
      ['User-Agent', mark],
      ['Connection', 'close'],
    ]);
    assertStatus(await rawH1(gw.url, bytes, { ...tls, servername: sni }), 401, 'Unauthorized');
    await assertAudited(mark, 0);
  }
});

test('the dev gateway (one cluster, no hosts) behaves as before: a Host of cluster B reaches cluster A only', async () => {
  const mark = marker('sni-dev-gateway');
  const bytes = h1Request('GET', `/api/v1/namespaces/${mark}/configmaps`, [
    ['Host', B],
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
