import assert from 'node:assert/strict';
import { connect, createSecureServer, type Http2SecureServer, type IncomingHttpHeaders } from 'node:http2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';

// The gateway in-process with `frontProxy` set, in front of a fake apiserver that records what
// reaches it: a front proxy's certificate (its own CA, issued for front-proxy-client) makes the
// X-Remote-* headers the identity, but only for the ClusterGateway API; nothing it asks for goes to
// the listener's cluster. A client-CA certificate with the same headers is its own CN upstream.
let dir = '';
let upstream: Http2SecureServer;
let gateway: RunningGateway | null = null;
let url = '';
let ca = '';
let proxy: { cert: string; key: string };
let alice: { cert: string; key: string };
const arrivals: { path: string; headers: IncomingHttpHeaders }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-front-proxy-'));
  const clusterCA = await createCA(dir, 'ca', 'client-ca');
  const fpCA = await createCA(dir, 'front-proxy-ca', 'front-proxy-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const [apiserver, , a, p] = await Promise.all([
    issueCert(dir, 'apiserver', clusterCA, { cn: 'fake-apiserver', usage: 'server', ...local }),
    issueCert(dir, 'gateway', clusterCA, { cn: 'kubegate', usage: 'both', ...local }),
    issueCert(dir, 'alice', clusterCA, { cn: 'alice', usage: 'client' }),
    issueCert(dir, 'proxy', fpCA, { cn: 'front-proxy-client', usage: 'client' }),
  ]);
  const pem = (f: string) => readFile(f, 'utf8');
  ca = await pem(clusterCA.cert);
  alice = { cert: await pem(a.cert), key: await pem(a.key) };
  proxy = { cert: await pem(p.cert), key: await pem(p.key) };
  upstream = createSecureServer({ cert: await pem(apiserver.cert), key: await pem(apiserver.key) });
  upstream.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    if (path !== '/readyz') arrivals.push({ path, headers });
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end('{}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const config = await resolveGatewayConfiguration(
    fakeClusterConfiguration(`https://127.0.0.1:${port}`, {
      frontProxy: { clientCAFile: 'front-proxy-ca.crt', allowedNames: ['front-proxy-client'] },
    }),
    dir,
  );
  gateway = await RunningGateway.start(config, pino({ level: 'silent' }));
  url = `https://127.0.0.1:${gateway.address.port}`;
});

after(async () => {
  await gateway?.stop(0);
  await new Promise((r) => upstream?.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function get(
  who: { cert: string; key: string },
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const session = connect(url, { ca, ...who });
    session.on('error', reject);
    const s = session.request({ ':path': path, ...headers });
    let status = 0;
    let type = '';
    let body = '';
    s.on('response', (h) => {
      status = Number(h[':status']);
      type = String(h['content-type']);
    });
    s.setEncoding('utf8');
    s.on('data', (c: string) => (body += c));
    s.on('end', () => {
      session.close();
      resolve({ status, type, body });
    });
    s.on('error', reject);
    s.end();
  });
}

const asAggregator = { 'x-remote-user': 'system:kube-aggregator', 'x-remote-group': 'system:masters' };

test('a front proxy asking for a path of the listener’s cluster gets 404; nothing is forwarded', async () => {
  const r = await get(proxy, '/api/v1/namespaces/kube-system/secrets', asAggregator);
  assert.equal(r.status, 404);
  assert.equal((JSON.parse(r.body) as { kind: string; reason: string }).reason, 'NotFound');
  assert.equal(arrivals.filter((a) => a.path.startsWith('/api/v1/namespaces/kube-system')).length, 0);
});

test('the front proxy’s discovery: aggregated when asked for, an APIGroupList otherwise, OpenAPI v3, health ok', async () => {
  const aggregated = await get(proxy, '/apis', {
    ...asAggregator,
    accept:
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
  });
  assert.equal(aggregated.status, 200, aggregated.body);
  // The media type is what tells the aggregator it got aggregated discovery, not a legacy list.
  assert.equal(aggregated.type, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  const list = JSON.parse(aggregated.body) as {
    kind: string;
    apiVersion: string;
    items: {
      metadata: { name: string };
      versions: {
        version: string;
        resources: { resource: string; scope: string; responseKind: { kind: string }; verbs: string[]; subresources: { subresource: string }[] }[];
      }[];
    }[];
  }; // prettier-ignore
  assert.equal(list.kind, 'APIGroupDiscoveryList');
  assert.equal(list.apiVersion, 'apidiscovery.k8s.io/v2');
  const [group] = list.items;
  assert.equal(group.metadata.name, 'cluster.core.oam.dev');
  const [r] = group.versions[0].resources;
  assert.deepEqual(
    [group.versions[0].version, r.resource, r.scope, r.responseKind.kind, r.verbs],
    ['v1alpha1', 'clustergateways', 'Cluster', 'ClusterGateway', ['get', 'list', 'watch']],
  );
  assert.deepEqual(
    r.subresources.map((s) => s.subresource),
    ['health', 'proxy'],
  );
  const beta = await get(proxy, '/apis', {
    ...asAggregator,
    accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
  });
  assert.equal(beta.type, 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
  assert.equal((JSON.parse(beta.body) as { apiVersion: string }).apiVersion, 'apidiscovery.k8s.io/v2beta1');
  const legacy = await get(proxy, '/apis', { ...asAggregator, accept: 'application/json' });
  assert.equal(legacy.status, 200);
  assert.deepEqual(
    (JSON.parse(legacy.body) as { groups: { name: string }[] }).groups.map((g) => g.name),
    ['cluster.core.oam.dev'],
  );

  // OpenAPI v3 as kube-apiserver serves it: the index names the group version's document by a
  // URL with its hash, and the document holds the schema kubectl explain looks up by its GVK.
  const index = await get(proxy, '/openapi/v3', asAggregator);
  assert.equal(index.status, 200, index.body);
  const entry = (JSON.parse(index.body) as { paths: Record<string, { serverRelativeURL: string }> }).paths[
    'apis/cluster.core.oam.dev/v1alpha1'
  ];
  assert.match(
    entry.serverRelativeURL,
    /^\/openapi\/v3\/apis\/cluster\.core\.oam\.dev\/v1alpha1\?hash=[0-9A-F]{128}$/,
  );
  const doc = await get(proxy, entry.serverRelativeURL, asAggregator);
  assert.equal(doc.status, 200, doc.body);
  const schemas = (
    JSON.parse(doc.body) as {
      openapi: string;
      components: { schemas: Record<string, { 'x-kubernetes-group-version-kind'?: object[]; properties?: Record<string, unknown> }> };
    }
  ).components.schemas; // prettier-ignore
  const cg = Object.values(schemas).find((s) =>
    JSON.stringify(s['x-kubernetes-group-version-kind']) ===
    JSON.stringify([{ group: 'cluster.core.oam.dev', version: 'v1alpha1', kind: 'ClusterGateway' }]),
  ); // prettier-ignore
  assert.ok(cg, 'a schema with the ClusterGateway GVK');
  assert.deepEqual(Object.keys(cg.properties!), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  // kubectl explain finds the kind of a resource by the get operation of its path.
  const paths = (
    JSON.parse(doc.body) as {
      paths: Record<string, { get?: { 'x-kubernetes-group-version-kind'?: object } }>;
    }
  ).paths;
  for (const p of [
    '/apis/cluster.core.oam.dev/v1alpha1/clustergateways',
    '/apis/cluster.core.oam.dev/v1alpha1/clustergateways/{name}',
  ])
    assert.deepEqual(paths[p]?.get?.['x-kubernetes-group-version-kind'], {
      group: 'cluster.core.oam.dev',
      version: 'v1alpha1',
      kind: 'ClusterGateway',
    });
  // Every $ref resolves inside the document (kubectl explain follows them).
  for (const m of doc.body.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
    assert.ok(schemas[m[1]], `${m[1]} is in the document`);
  assert.equal((await get(proxy, '/openapi/v2', asAggregator)).status, 404);
  assert.equal((await get(proxy, '/healthz', asAggregator)).status, 200);
  assert.equal(arrivals.filter((a) => a.path.startsWith('/apis') || a.path.startsWith('/openapi')).length, 0);
});

test('the front proxy’s certificate without X-Remote-User is 401, never its CN', async () => {
  assert.equal((await get(proxy, '/apis')).status, 401);
});

test('a client-CA certificate with X-Remote-* reaches the cluster as itself; the headers are stripped', async () => {
  const path = '/api/v1/namespaces/default/configmaps?as=alice';
  const r = await get(alice, path, { 'x-remote-user': 'admin', 'x-remote-group': 'system:masters' });
  assert.equal(r.status, 200);
  const a = arrivals.find((x) => x.path === path);
  assert.ok(a, 'forwarded');
  assert.equal(a.headers['impersonate-user'], 'alice');
  assert.equal(a.headers['x-remote-user'], undefined);
  assert.equal(a.headers['x-remote-group'], undefined);
});
