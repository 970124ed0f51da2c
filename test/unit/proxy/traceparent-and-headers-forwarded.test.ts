import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as h1Request } from 'node:https';
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { GatewayConfig } from '../../../src/config/model.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { h2Get as h2GetAs } from '../helpers/h2-get.ts';

// The gateway in-process in front of a fake kube-apiserver (TLS HTTP/2 on 127.0.0.1, port 0) that
// records what reaches it: trace context passes unchanged; client credentials and identity claims
// (Authorization, X-Remote-*, Impersonate-* not approved by a SubjectAccessReview) never do; hop-by-hop
// headers are dropped; the gateway's impersonation headers carry one line per group.
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACESTATE = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
const GATEWAY_TOKEN = 'gateway-upstream-token';
const SAR_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
// O= values of the client certificate: one holds a comma, so joined header values would change it.
const CLIENT_GROUPS = ['team-a', 'ops, eu'];

interface Arrival {
  path: string;
  headers: IncomingHttpHeaders;
  /** Header lines as sent: [name, value, name, value, …]. */
  raw: string[];
}
interface Review {
  user: string;
  groups: string[];
  resourceAttributes: Record<string, string>;
}

let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let client: { ca: string; cert: string; key: string };
let gatewayURL = '';
const arrivals: Arrival[] = [];
const reviews: Review[] = [];
let allowImpersonation = false;

/** The gateway configuration: the one place in this file that knows the configuration schema. */
function gatewayConfig(dir: string, upstreamURL: string): Promise<GatewayConfig> {
  return resolveGatewayConfiguration(
    fakeClusterConfiguration(upstreamURL, { credentials: { tokenFile: 'gateway.token' } }, {}),
    dir,
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-headers-'));
  const ca = await createCA(dir, 'ca', 'headers-test-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const [apiserver, , alice] = await Promise.all([
    issueCert(dir, 'apiserver', ca, { cn: 'fake-apiserver', usage: 'server', ...local }),
    issueCert(dir, 'gateway', ca, { cn: 'kubegate', usage: 'server', ...local }),
    issueCert(dir, 'alice', ca, { cn: 'alice', orgs: CLIENT_GROUPS, usage: 'client' }),
  ]);
  await writeFile(join(dir, 'gateway.token'), `${GATEWAY_TOKEN}\n`);
  const pem = (f: string) => readFile(f, 'utf8');
  client = { ca: await pem(ca.cert), cert: await pem(alice.cert), key: await pem(alice.key) };

  upstream = createSecureServer({ cert: await pem(apiserver.cert), key: await pem(apiserver.key) });
  // Node passes the header lines as sent as a 4th argument, which the server typings leave out.
  upstream.on(
    'stream',
    (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
      const path = String(headers[':path']);
      const reply = (status: number, body: unknown) => {
        stream.respond({ ':status': status, 'content-type': 'application/json' });
        stream.end(JSON.stringify(body));
      };
      if (path === '/readyz') return reply(200, 'ok');
      if (path === SAR_PATH) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const sar = JSON.parse(Buffer.concat(chunks).toString()) as { spec: Review };
          reviews.push(sar.spec);
          reply(201, { ...sar, status: { allowed: allowImpersonation } });
        });
        return;
      }
      arrivals.push({ path, headers, raw });
      stream.resume();
      reply(200, { kind: 'Status', status: 'Success' });
    },
  );
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;

  const log = pino({ level: 'silent' });
  gateway = await RunningGateway.start(await gatewayConfig(dir, `https://127.0.0.1:${port}`), log);
  gatewayURL = `https://127.0.0.1:${gateway.address.port}`;
});

after(async () => {
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One request over HTTP/2 as alice; resolves with the status. */
function h2Get(path: string, headers: OutgoingHttpHeaders): Promise<number> {
  return h2GetAs(gatewayURL, client, path, headers);
}

/** One request over HTTP/1.1 as alice, with headers given as raw lines. */
function h1Get(path: string, rawHeaders: string[][]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = h1Request(`${gatewayURL}${path}`, { ...client, agent: false, timeout: 10_000 });
    for (const [name, value] of rawHeaders) req.setHeader(name, value);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The one arrival at the fake apiserver for `path` (each test uses its own path). */
function arrivalOf(path: string): Arrival {
  const found = arrivals.filter((a) => a.path === path);
  assert.equal(found.length, 1, `${path} reached the upstream ${found.length} times`);
  return found[0];
}

function lines(a: Arrival, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < a.raw.length; i += 2) if (a.raw[i].toLowerCase() === name) out.push(a.raw[i + 1]);
  return out;
}

test('traceparent and tracestate reach the apiserver unchanged; client credentials and X-Remote-* never do', async () => {
  const path = '/api/v1/namespaces/default/configmaps?trace=h2';
  const status = await h2Get(path, {
    traceparent: TRACEPARENT,
    tracestate: TRACESTATE,
    authorization: 'Bearer client-secret-token',
    'x-remote-user': 'mallory',
    'x-remote-group': 'system:masters',
    'x-remote-extra-scopes': 'everything',
    'x-custom': 'kept',
  });
  assert.equal(status, 200);
  const a = arrivalOf(path);
  assert.deepEqual(lines(a, 'traceparent'), [TRACEPARENT]);
  assert.deepEqual(lines(a, 'tracestate'), [TRACESTATE]);
  assert.deepEqual(lines(a, 'authorization'), [`Bearer ${GATEWAY_TOKEN}`], "only the gateway's credential");
  for (const n of ['x-remote-user', 'x-remote-group', 'x-remote-extra-scopes'])
    assert.deepEqual(lines(a, n), [], `${n} dropped`);
  assert.deepEqual(lines(a, 'x-custom'), ['kept']);
  assert.deepEqual(lines(a, 'impersonate-user'), ['alice']);
});

test('the upstream gets one impersonate-group header line per group, a comma inside a group intact', async () => {
  const path = '/api/v1/namespaces/default/configmaps?trace=groups';
  assert.equal(await h2Get(path, {}), 200);
  const a = arrivalOf(path);
  // system:authenticated is not sent: kube-apiserver adds it to every impersonated user itself.
  assert.deepEqual(lines(a, 'impersonate-group'), CLIENT_GROUPS);
  // Over HTTP/1.1 too: the same identity, the same lines.
  const path1 = '/api/v1/namespaces/default/configmaps?trace=groups-h1';
  assert.equal(await h1Get(path1, []), 200);
  assert.deepEqual(lines(arrivalOf(path1), 'impersonate-group'), CLIENT_GROUPS);
});

test('hop-by-hop headers, and those named in Connection, are dropped over HTTP/1.1; trace context is kept', async () => {
  const path = '/api/v1/namespaces/default/configmaps?trace=h1';
  const status = await h1Get(path, [
    ['Connection', 'keep-alive, X-Hop-Secret, x-other-hop'],
    ['X-Hop-Secret', 'do-not-forward'],
    ['X-Other-Hop', 'nor-this'],
    ['Keep-Alive', 'timeout=5'],
    ['TE', 'gzip'],
    ['Proxy-Authorization', 'Basic bWFsbG9yeTpzZWNyZXQ='],
    ['traceparent', TRACEPARENT],
    ['tracestate', TRACESTATE],
    ['Authorization', 'Bearer client-secret-token'],
    ['X-Custom', 'kept'],
  ]);
  assert.equal(status, 200);
  const a = arrivalOf(path);
  for (const n of ['connection', 'x-hop-secret', 'x-other-hop', 'keep-alive', 'te', 'proxy-authorization'])
    assert.deepEqual(lines(a, n), [], `${n} dropped`); // prettier-ignore
  assert.deepEqual(lines(a, 'traceparent'), [TRACEPARENT]);
  assert.deepEqual(lines(a, 'tracestate'), [TRACESTATE]);
  assert.deepEqual(lines(a, 'authorization'), [`Bearer ${GATEWAY_TOKEN}`]);
  assert.deepEqual(lines(a, 'x-custom'), ['kept']);
});

test('client Impersonate-* headers refused by the SubjectAccessReview never reach the apiserver', async () => {
  allowImpersonation = false;
  reviews.length = 0;
  const path = '/api/v1/namespaces/default/configmaps?trace=impersonate-denied';
  const status = await h2Get(path, {
    'impersonate-user': 'bob',
    'impersonate-group': ['system:masters'],
    'impersonate-extra-scopes': 'everything',
  });
  assert.equal(status, 403);
  assert.equal(arrivals.filter((a) => a.path === path).length, 0, 'the request was not forwarded');
  assert.ok(reviews.length >= 1, 'a SubjectAccessReview was asked');
  assert.equal(reviews[0].user, 'alice');
  assert.equal(reviews[0].resourceAttributes.verb, 'impersonate');
});

test('approved impersonation reaches the apiserver as the gateway says it, after a review of each claim', async () => {
  allowImpersonation = true;
  reviews.length = 0;
  const path = '/api/v1/namespaces/default/configmaps?trace=impersonate-allowed';
  const status = await h2Get(path, { 'impersonate-user': 'bob', 'impersonate-group': ['devs', 'qa, eu'] });
  assert.equal(status, 200);
  const a = arrivalOf(path);
  assert.deepEqual(lines(a, 'impersonate-user'), ['bob']);
  const groups = lines(a, 'impersonate-group');
  assert.ok(groups.includes('devs') && groups.includes('qa, eu'), `groups ${JSON.stringify(groups)}`);
  assert.ok(!groups.includes('team-a'), "alice's own groups are not bob's");
  const reviewed = reviews.map(
    (r) => `${r.user} ${r.resourceAttributes.resource}/${r.resourceAttributes.name}`,
  );
  assert.deepEqual(reviewed.sort(), ['alice groups/devs', 'alice groups/qa, eu', 'alice users/bob']);
});

test('X-Forwarded-For gets the client address after the client’s own; repeated lines stay apart', async () => {
  const path = '/api/v1/namespaces/default/configmaps?trace=forwarded';
  assert.equal(
    await h2Get(path, {
      'x-forwarded-for': '203.0.113.7',
      'x-repeated': ['one', 'two'],
      accept: 'application/json',
    }),
    200,
  );
  const a = arrivalOf(path);
  assert.deepEqual(lines(a, 'x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
  assert.deepEqual(lines(a, 'x-repeated'), ['one', 'two']);
  assert.deepEqual(lines(a, 'accept'), ['application/json']);
  assert.deepEqual(lines(a, ':method'), ['GET']);
  assert.deepEqual(lines(a, ':scheme'), ['https']);
  assert.equal(lines(a, ':authority').length, 1);

  const bare = '/api/v1/namespaces/default/configmaps?trace=forwarded-none';
  assert.equal(await h2Get(bare, {}), 200);
  assert.deepEqual(lines(arrivalOf(bare), 'x-forwarded-for'), ['127.0.0.1']);
});
