import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { issueCert } from '../../src/dev/pki.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { devDir, devState } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// `frontProxy: {fromExtensionAPIServerAuthentication: true}` against the dev control plane, whose
// apiservers publish their --requestheader-* flags in kube-system/extension-apiserver-authentication:
// a file cluster and an UpstreamCluster object each read the front-proxy CA and allowed names from
// there (kubegate's own identity bound to the Role extension-apiserver-authentication-reader), and
// a certificate of the dev front-proxy CA then stands for the X-Remote-User it sends.
const NS = `kg-front-proxy-${process.pid}`;
const UC = `front-proxy-${process.pid}`;
const BINDING = `kubegate-e2e-front-proxy-${process.pid}`;
const UCS = '/apis/kubegate.io/v1alpha1/upstreamclusters';
let gw: OwnGateway | undefined;
let admin: KubeClient;
let dir = '';
const who: Record<string, { cert: string; key: string }> = {};

const pki = (f: string) => join(devDir(), 'pki', f);

before(async () => {
  admin = new KubeClient({
    server: devState().apiservers[0],
    ca: readFileSync(pki('ca.crt'), 'utf8'),
    cert: readFileSync(pki('admin.crt'), 'utf8'),
    key: readFileSync(pki('admin.key'), 'utf8'),
  });
  await admin.apply('/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: BINDING, namespace: 'kube-system' },
    roleRef: {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'extension-apiserver-authentication-reader',
    },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kubegate-gateway' }],
  } as never);
  await admin.apply('/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: NS },
  } as never);
  const b64 = (f: string) => readFileSync(pki(f)).toString('base64');
  await admin.apply(`/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'upstream', namespace: NS },
    data: {
      'ca.crt': b64('ca.crt'),
      'tls.crt': b64('gateway-upstream.crt'),
      'tls.key': b64('gateway-upstream.key'),
    },
  } as never);
  await admin.apply(UCS, {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'UpstreamCluster',
    metadata: { name: UC },
    spec: {
      endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })),
      upstreamCA: { secretRef: { namespace: NS, name: 'upstream' } },
      credentials: { secretRef: { namespace: NS, name: 'upstream' } },
      frontProxy: { fromExtensionAPIServerAuthentication: true },
    },
  } as never);
  dir = await mkdtemp(join(tmpdir(), 'kubegate-e2e-front-proxy-'));
  const fpCA = { cert: pki('front-proxy-ca.crt'), key: pki('front-proxy-ca.key') };
  for (const cn of ['front-proxy-client', 'someone-else']) {
    const f = await issueCert(dir, cn, fpCA, { cn, usage: 'client' });
    who[cn] = { cert: await readFile(f.cert, 'utf8'), key: await readFile(f.key, 'utf8') };
  }
  gw = await OwnGateway.start(
    { frontProxy: { fromExtensionAPIServerAuthentication: true } },
    { crdCluster: UC },
  );
});

after(async () => {
  await gw?.stop();
  await admin.raw('DELETE', `${UCS}/${UC}`);
  await admin.raw('DELETE', `/api/v1/namespaces/${NS}`);
  await admin.raw(
    'DELETE',
    `/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings/${BINDING}`,
  );
  admin.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** GET `path` at `url` with a certificate of the dev front-proxy CA (no server name: an IP is dialled). */
async function asFrontProxy(url: string, cn: string, headers: Record<string, string>) {
  const { connect } = await import('node:http2');
  const s = connect(url, { ca: readFileSync(pki('ca.crt')), ...who[cn] });
  try {
    return await h2request(s, '/api', { headers });
  } finally {
    s.close();
  }
}

for (const [listener, url] of [
  ['a file cluster', () => gw!.url],
  ['an UpstreamCluster', () => gw!.crdURL!],
] as const)
  test(`${listener}: the front-proxy CA and allowed names come from the cluster's ConfigMap`, async () => {
    // Recognised as the front proxy: the identity is the headers', and only the ClusterGateway API
    // is served to a front proxy, so /api is refused by name (src/proxy/forward.ts).
    // The object's cluster is applied by the gateway a moment after its status is written: wait
    // until it is served (503 "not configured (yet)" until then).
    let asked = await asFrontProxy(url(), 'front-proxy-client', { 'x-remote-user': 'hub-user' });
    // The same while the cluster's front-proxy settings are not yet read (401): the RoleBinding that
    // lets the gateway read the ConfigMap was made a moment before, and RBAC takes a moment to apply it.
    for (let i = 0; i < 100 && (asked.status === 503 || asked.status === 401); i++) {
      await new Promise((r) => setTimeout(r, 100));
      asked = await asFrontProxy(url(), 'front-proxy-client', { 'x-remote-user': 'hub-user' });
    }
    assert.equal(asked.status, 404, asked.body);
    assert.match(asked.body, /to a front proxy/);
    // Without X-Remote-User: nobody, never its CN.
    assert.equal((await asFrontProxy(url(), 'front-proxy-client', {})).status, 401);
    // A CN the ConfigMap's requestheader-allowed-names does not list (the dev apiservers list
    // front-proxy-client only): 401 whatever it asserts.
    const stranger = await asFrontProxy(url(), 'someone-else', { 'x-remote-user': 'hub-user' });
    assert.equal(stranger.status, 401, stranger.body);
    assert.equal((JSON.parse(stranger.body) as { reason: string }).reason, 'Unauthorized');
  });

test('the UpstreamCluster is Accepted with its references resolved', async () => {
  const obj = await admin.json<{ status?: { conditions?: { type: string; status: string }[] } }>(
    'GET',
    `${UCS}/${UC}`,
  );
  const c = Object.fromEntries((obj.status?.conditions ?? []).map((x) => [x.type, x.status]));
  assert.deepEqual(c, { Accepted: 'True', ResolvedRefs: 'True' });
});
