import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient } from '../../src/kube/client.ts';
import { loggedLines } from './access-lines.ts';
import { devDir, devState } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// Issue 23 point 11: right after a CRD is Established, the other apiservers of cluster A (3) still
// answer its requests with 404 (a plain-text "404 page not found") or 429 ("storage is
// (re)initializing", a Status) for a short while. Clients read the Established condition
// and start listing and watching at once, through the gateway. For each of ROUNDS new CRDs, the
// test waits for Established, then for WINDOW_MS lists the new resource through the gateway from
// CLIENTS loops, and straight from each apiserver from one loop each. It asserts: the gateway's
// clients never saw a 404 or 429; the warming-up answers did happen in that time (seen directly,
// or retried by the gateway: its access log says so), so the first assertion is not vacuous; a
// 404 for a named object that does not exist is relayed as it came, not retried.
const ROUNDS = 5;
const CLIENTS = 8;
const WINDOW_MS = 1500;
const GROUP = 'warm.e2e.kubegate.io';
const prefix = `w${process.pid}x`;

let gw: OwnGateway;
let admin: KubeClient;
const direct: ClientHttp2Session[] = [];
const plurals: string[] = [];
const pki = (f: string) => readFileSync(join(devDir(), 'pki', f));

before(async () => {
  admin = new KubeClient({
    server: devState().apiservers[0],
    ca: pki('ca.crt').toString(),
    cert: pki('admin.crt').toString(),
    key: pki('admin.key').toString(),
  });
  for (const url of devState().apiservers)
    direct.push(connect(url, { ca: pki('ca.crt'), cert: pki('admin.crt'), key: pki('admin.key') }));
  gw = await OwnGateway.start({});
});

after(async () => {
  for (const p of plurals)
    await admin?.raw('DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${p}.${GROUP}`);
  for (const s of direct) s.close();
  await gw?.stop();
  admin?.close();
});

function crd(plural: string): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: { plural, singular: plural.slice(0, -1), kind: `K${plural}`, listKind: `K${plural}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

async function established(plural: string): Promise<void> {
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.${GROUP}`;
  for (;;) {
    const r = await admin.raw<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', path);
    if (r.body.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await sleep(5);
  }
}

/** GETs `path` on `s` in a loop until `until`; the statuses, with the body of any 404 or 429. */
async function hammer(s: ClientHttp2Session, path: string, until: number): Promise<string[]> {
  const out: string[] = [];
  while (Date.now() < until) {
    const r = await h2request(s, path);
    out.push(r.status === 404 || r.status === 429 ? `${r.status} ${r.body.trim()}` : String(r.status));
  }
  return out;
}

test('a new CRD is served through the gateway without the 404/429 of replicas still warming up', async (t) => {
  const gateway = Array.from({ length: CLIENTS }, () => gw.session());
  const seenThrough: string[] = [];
  const seenDirect: string[] = [];
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const plural = `${prefix}${i}s`;
      plurals.push(plural);
      await admin.json('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd(plural));
      await established(plural);
      const path = `/apis/${GROUP}/v1/namespaces/default/${plural}`;
      const until = Date.now() + WINDOW_MS;
      const [through, straight] = await Promise.all([
        Promise.all(gateway.map((s) => hammer(s, path, until))),
        Promise.all(direct.map((s) => hammer(s, path, until))),
      ]);
      seenThrough.push(...through.flat());
      seenDirect.push(...straight.flat());
    }
    // Every request through the gateway logged (after its answer, in batches), then its retries.
    await loggedLines(
      () => gw.logs(),
      (l) =>
        l.kind === 'access' && String(l.uri).startsWith(`/apis/${GROUP}/v1/namespaces/default/${prefix}`),
      { count: seenThrough.length },
    );
    const retried = gw.logs().filter((l) => String(l.error ?? '').includes('is not serving'));
    const count = (xs: string[], p: (x: string) => boolean) => xs.filter(p).length;
    const warming = (x: string) => x.startsWith('404') || x.startsWith('429');
    t.diagnostic(
      JSON.stringify({
        throughGateway: seenThrough.length,
        throughGateway404or429: count(seenThrough, warming),
        direct: seenDirect.length,
        direct404: count(seenDirect, (x) => x.startsWith('404')),
        direct429: count(seenDirect, (x) => x.startsWith('429')),
        gatewayRetries: retried.length,
        directSample: [...new Set(seenDirect.filter(warming))].slice(0, 3),
      }),
    );
    assert.deepEqual(
      [...new Set(seenThrough.filter((x) => x !== '200'))],
      [],
      'every request through the gateway was answered 200',
    );
    assert.ok(
      count(seenDirect, warming) + retried.length > 0,
      'replicas did answer 404/429 while warming up (seen directly or retried by the gateway)',
    );

    // A resource no replica serves: kube-apiserver's last handler answers a plain-text 404 (what
    // client-go shows as "the server could not find the requested resource", and what a replica
    // that does not serve a new CRD yet answers too); the gateway retries it once (on another
    // replica: none has served it), then relays it as it came.
    const unknown = `/apis/${GROUP}/v1/namespaces/default/nosuch${prefix}s`;
    const straight = await h2request(direct[0], unknown);
    assert.equal(straight.status, 404);
    assert.equal(straight.body, '404 page not found\n');
    assert.match(String(straight.headers['content-type']), /^text\/plain/);
    const relayed = await h2request(gateway[0], unknown);
    assert.equal(relayed.status, 404);
    assert.equal(relayed.body, straight.body);

    // A named object that does not exist: a 404 of its own, relayed at once, not retried.
    const r = await h2request(
      gateway[0],
      `/apis/${GROUP}/v1/namespaces/default/${plurals[0]}/nope-${prefix}`,
    );
    assert.equal(r.status, 404);
    assert.match(r.body, /"nope-[^"]*" not found/);
    const [line] = await loggedLines(
      () => gw.logs(),
      (l) => String(l.uri ?? '').endsWith(`/nope-${prefix}`),
    );
    assert.ok(line !== undefined, 'its access-log line');
    assert.equal(line.retried, undefined, 'a named object not found is not retried');
    const [once] = await loggedLines(
      () => gw.logs(),
      (l) => l.uri === unknown,
    );
    assert.equal(once?.retried, true, 'an unknown resource is retried once');
  } finally {
    for (const s of gateway) s.close();
  }
});
