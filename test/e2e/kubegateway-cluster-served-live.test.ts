import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { issueCert } from '../../src/dev/pki.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { loggedLines } from './access-lines.ts';
import { devDir, devState } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// KubeGateway's documented "Read-Write Separation" and "Restricting requests for list pods"
// examples (docs/en/quick_start.md; fixtures in test/fixtures/kubegateway/), as one live
// proxy.kubegateway.io object in front of the dev apiservers: reads go to the first server, writes
// to the second, and list pods is held to a token bucket of 10 qps, burst 20. Its secureServing
// (serving certificate, client CA, serverNames) makes the migrated cluster answer on the names
// KubeGateway answered on: the object's name and each server name, by SNI on any listener.
const KGW_CRD = 'upstreamclusters.proxy.kubegateway.io';
const OBJ = '/apis/proxy.kubegateway.io/v1alpha1/upstreamclusters/cluster-a.kubegateway.io';
const NAME = 'cluster-a-kubegateway-io';
const NS = 'kg-kubegateway';
const ALIAS = 'alias-a.kubegateway.test';
const SERVING_CN = 'kubegateway-migrated-serving';
let dir = '';
let gw: OwnGateway;
let admin: KubeClient;
let readEndpoint: string;
let writeEndpoint: string;

/** A minimal CRD for KubeGateway's kind (theirs carries a full schema; the spec is all we need). */
const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: KGW_CRD },
  spec: {
    group: 'proxy.kubegateway.io',
    scope: 'Cluster',
    names: {
      kind: 'UpstreamCluster',
      plural: 'upstreamclusters',
      singular: 'upstreamcluster',
      listKind: 'UpstreamClusterList',
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
};

before(async () => {
  const d = devDir();
  const pem = (f: string) => readFileSync(join(d, 'pki', f));
  admin = new KubeClient({
    server: devState().apiservers[0],
    ca: pem('ca.crt').toString(),
    cert: pem('admin.crt').toString(),
    key: pem('admin.key').toString(),
  });
  await admin.apply('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd as never);
  for (let i = 0; i < 100; i++) {
    const r = await admin.raw('GET', '/apis/proxy.kubegateway.io/v1alpha1/upstreamclusters');
    if (r.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  await admin.apply('/api/v1/namespaces', { metadata: { name: NS } });
  dir = await mkdtemp(join(tmpdir(), 'kubegate-kgw-e2e-'));
  const serving = await issueCert(
    dir,
    'serving',
    { cert: join(d, 'pki', 'ca.crt'), key: join(d, 'pki', 'ca.key') },
    {
      cn: SERVING_CN,
      usage: 'server',
      dns: ['cluster-a.kubegateway.io', ALIAS],
    },
  );
  const b64 = (f: string) => readFileSync(f).toString('base64');
  const [a, b] = devState().apiservers;
  const endpointName = (url: string) => new URL(url).host.replaceAll(/[.:]/g, '-');
  readEndpoint = endpointName(a);
  writeEndpoint = endpointName(b);
  await admin.raw('DELETE', OBJ);
  await admin.json('POST', '/apis/proxy.kubegateway.io/v1alpha1/upstreamclusters', {
    apiVersion: 'proxy.kubegateway.io/v1alpha1',
    kind: 'UpstreamCluster',
    metadata: { name: 'cluster-a.kubegateway.io' },
    spec: {
      servers: [{ endpoint: a }, { endpoint: b }],
      clientConfig: {
        caData: pem('ca.crt').toString('base64'),
        certData: pem('gateway-upstream.crt').toString('base64'),
        keyData: pem('gateway-upstream.key').toString('base64'),
      },
      secureServing: {
        certData: b64(serving.cert),
        keyData: b64(serving.key),
        clientCAData: pem('ca.crt').toString('base64'),
        serverNames: [ALIAS.toUpperCase()], // KubeGateway compares names in lower case
      },
      flowControl: { flowControlSchemas: [{ name: 'list-pod', tokenBucket: { qps: 10, burst: 20 } }] },
      dispatchPolicies: [
        {
          rules: [{ verbs: ['list'], apiGroups: ['*'], resources: ['pods'] }],
          flowControlSchemaName: 'list-pod',
        },
        {
          rules: [{ verbs: ['list', 'get', 'watch'], apiGroups: ['*'], resources: ['*'] }],
          upsteamSubset: [a],
        },
        { rules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], upsteamSubset: [b] },
        { rules: [{ verbs: ['*'], nonResourceURLs: ['*'] }] },
      ],
    },
  });
  gw = await OwnGateway.start({}, { crdCluster: NAME, kubeGatewayClusters: true });
});

after(async () => {
  await gw?.stop();
  await admin.raw('DELETE', OBJ);
  await admin.raw('DELETE', `/api/v1/namespaces/${NS}`);
  await admin.raw('DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${KGW_CRD}`);
  admin.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a live KubeGateway UpstreamCluster routes reads and writes to their subsets and limits list pods', async (t) => {
  const s = gw.session(gw.crdURL!);
  try {
    const deadline = Date.now() + 15_000;
    while ((await h2request(s, '/version')).status !== 200) {
      assert.ok(Date.now() < deadline, 'the KubeGateway cluster is served within 15 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const base = `/api/v1/namespaces/${NS}/configmaps`;
    for (let i = 0; i < 6; i++) {
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${i}` } });
      const w = await h2request(s, base, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(w.status, 201, w.body);
      assert.equal((await h2request(s, `${base}/cm-${i}`)).status, 200);
    }
    // 6 creates and 6 gets, each logged after its answer went out.
    const lines = await loggedLines(
      () => gw.logs(),
      (l) => l.kind === 'access' && String(l.uri).startsWith(base),
      { count: 12 },
    );
    const upstreams = (verb: string) => new Set(lines.filter((l) => l.verb === verb).map((l) => l.upstream));
    assert.deepEqual(upstreams('get'), new Set([readEndpoint]), 'reads go to the first server');
    assert.deepEqual(upstreams('create'), new Set([writeEndpoint]), 'writes go to the second server');

    const codes = await Promise.all(
      Array.from({ length: 40 }, () => h2request(s, `/api/v1/namespaces/${NS}/pods`).then((r) => r.status)),
    );
    const ok = codes.filter((c) => c === 200).length;
    t.diagnostic(
      `40 concurrent list pods: ${ok} admitted, ${codes.filter((c) => c === 429).length} refused with 429`,
    );
    assert.ok(ok >= 20 && ok <= 22, `burst 20 (+ refill) admitted, got ${ok}`);
    assert.equal(ok + codes.filter((c) => c === 429).length, 40);
  } finally {
    s.close();
  }
});

test('the migrated cluster answers on its KubeGateway names (object name, serverNames) with its serving certificate, on any listener', async () => {
  const d = devDir();
  const pem = (f: string) => readFileSync(join(d, 'pki', f));
  for (const name of ['cluster-a.kubegateway.io', ALIAS]) {
    // The gateway's main listener serves cluster e2e by default; the server name picks the migrated one.
    const s = h2connect(gw.url, {
      servername: name,
      ca: pem('ca.crt'),
      cert: pem('admin.crt'),
      key: pem('admin.key'),
    });
    try {
      const logged = gw.logs().length;
      const deadline = Date.now() + 15_000;
      let r = await h2request(s, `/api/v1/namespaces/${NS}`, { headers: { ':authority': name } });
      while (r.status !== 200 && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        r = await h2request(s, `/api/v1/namespaces/${NS}`, { headers: { ':authority': name } });
      }
      assert.equal(r.status, 200, `${name}: ${r.body}`);
      const peer = (s.socket as unknown as TLSSocket).getPeerCertificate() as PeerCertificate;
      assert.equal(peer.subject.CN, SERVING_CN, `${name}: the secureServing certificate`);
      // This name's line, not the previous name's.
      const [line] = await loggedLines(
        () => gw.logs().slice(logged),
        (l) => l.kind === 'access' && l.uri === `/api/v1/namespaces/${NS}` && l.status === 200,
      );
      assert.equal(line?.cluster, NAME, `${name}: served by the migrated cluster`);
    } finally {
      s.close();
    }
  }
});
