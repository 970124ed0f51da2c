import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { devDir, kubectl, kubectlPath } from './env.ts';

// The kustomize base in deploy/ as an operator applies it: a server-side dry run, the real apply,
// the CRD read back, and the ServiceAccount's RBAC asked of the apiserver (what it must be able to
// do, and a sample of what it must not). The Deployment's pods never run: the dev cluster has no
// nodes, but their creation proves the pod spec passes the namespace's restricted Pod Security.
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const NS = 'kubegate-system';
const SA = `system:serviceaccount:${NS}:kubegate`;
const ADMIN = 'apiserver-0.kubeconfig';
const tmp = mkdtempSync(join(tmpdir(), 'kg-deploy-'));

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** kubectl's exit code and output, without rejecting on a non-zero exit (`auth can-i` says no with 1). */
function kubectlResult(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      kubectlPath(),
      ['--kubeconfig', join(devDir(), ADMIN), ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function namespacePhase(): Promise<string> {
  const r = await kubectlResult(['get', 'namespace', NS, '-o', 'jsonpath={.status.phase}']);
  return r.code === 0 ? r.stdout : 'Absent';
}

/** Everything the base creates except the CRD, which the dev control plane installed and other tests use. */
async function objectsButCRD(): Promise<KubeObject[]> {
  const rendered = await kubectl(ADMIN, ['kustomize', DEPLOY]);
  return parseAllDocuments(rendered)
    .map((d) => d.toJS() as KubeObject)
    .filter((o) => o && o.kind !== 'CustomResourceDefinition');
}

/** `kubectl auth can-i` as the gateway's ServiceAccount. */
async function canI(...args: string[]): Promise<boolean> {
  const r = await kubectlResult(['auth', 'can-i', `--as=${SA}`, ...args]);
  assert.ok(r.stdout.trim() === 'yes' || r.stdout.trim() === 'no', `can-i ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim() === 'yes';
}

/**
 * A SubjectAccessReview for the ServiceAccount (with the groups the apiserver gives it). `auth can-i`
 * cannot ask about resources discovery does not list (`uids`, `userextras/<key>`, a CRD group that
 * is not installed): it answers "no" for those whatever RBAC says.
 */
async function reviewAllows(attrs: Record<string, string>): Promise<boolean> {
  const file = join(tmp, 'sar.json');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SA,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NS}`, 'system:authenticated'],
        resourceAttributes: attrs,
      },
    }),
  );
  const out = await kubectl(ADMIN, ['create', '-f', file, '-o', 'json']);
  return (JSON.parse(out) as { status: { allowed?: boolean } }).status.allowed === true;
}

before(async () => {
  // A namespace still terminating from an earlier run would refuse the objects.
  for (let i = 0; i < 90 && (await namespacePhase()) === 'Terminating'; i++) await sleep(500);
});

after(async () => {
  const file = join(tmp, 'delete.yaml');
  writeFileSync(file, (await objectsButCRD()).map((o) => stringify(o)).join('---\n'));
  await kubectl(ADMIN, ['delete', '-f', file, '--wait=false', '--ignore-not-found']).catch((err: Error) =>
    process.stderr.write(`deploy-kustomize cleanup: ${err.message}\n`),
  );
  rmSync(tmp, { recursive: true, force: true });
});

test('kubectl apply --dry-run=server -k deploy/ is accepted, then applies', { timeout: 60_000 }, async () => {
  // A server-side dry run cannot create objects in a namespace that does not exist yet: the
  // namespace goes first, as docs/operations.md tells operators.
  await kubectl(ADMIN, ['apply', '-f', join(DEPLOY, 'namespace.yaml')]);
  const dry = await kubectlResult(['apply', '--dry-run=server', '-k', DEPLOY]);
  assert.equal(dry.code, 0, dry.stderr);
  for (const o of await objectsButCRD())
    assert.match(dry.stdout, new RegExp(`${o.kind.toLowerCase()}[./].*${o.metadata.name}`), o.kind);
  assert.doesNotMatch(dry.stderr, /Error/);

  const applied = await kubectlResult(['apply', '-k', DEPLOY]);
  assert.equal(applied.code, 0, applied.stderr);
  assert.doesNotMatch(applied.stderr, /Error|would violate PodSecurity/);

  const cm = JSON.parse(
    await kubectl(ADMIN, ['get', 'configmap', 'kubegate-config', '-n', NS, '-o', 'json']),
  );
  assert.equal(cm.data['kubegate.yaml'], readFileSync(join(DEPLOY, 'config', 'kubegate.yaml'), 'utf8'));
  const svc = JSON.parse(await kubectl(ADMIN, ['get', 'service', 'kubegate', '-n', NS, '-o', 'json']));
  assert.deepEqual(
    (svc.spec.ports as { name: string; port: number }[]).map((p) => [p.name, p.port]),
    [
      ['https', 6443],
      ['metrics', 9443],
    ],
  );
});

test('the CRD reads back: kubegate.io, cluster-scoped, v1alpha1 served and stored, status subresource', async () => {
  const crd = JSON.parse(await kubectl(ADMIN, ['get', 'crd', 'upstreamclusters.kubegate.io', '-o', 'json']));
  assert.equal(crd.spec.group, 'kubegate.io');
  assert.equal(crd.spec.scope, 'Cluster');
  assert.equal(crd.spec.names.kind, 'UpstreamCluster');
  const v = (
    crd.spec.versions as { name: string; served: boolean; storage: boolean; subresources?: object }[]
  ).find((x) => x.name === 'v1alpha1');
  assert.ok(v, 'v1alpha1');
  assert.equal(v.served, true);
  assert.equal(v.storage, true);
  assert.deepEqual(v.subresources, { status: {} });
  const established = (crd.status.conditions as { type: string; status: string }[]).find(
    (c) => c.type === 'Established',
  );
  assert.equal(established?.status, 'True');
});

test('the Deployment creates its 2 pods under restricted Pod Security', { timeout: 30_000 }, async () => {
  let pods: { metadata: { name: string } }[] = [];
  for (let i = 0; i < 40 && pods.length < 2; i++) {
    if (i > 0) await sleep(500);
    const out = await kubectl(ADMIN, [
      'get',
      'pods',
      '-n',
      NS,
      '-l',
      'app.kubernetes.io/name=kubegate',
      '-o',
      'json',
    ]);
    pods = (JSON.parse(out) as { items: typeof pods }).items;
  }
  assert.equal(pods.length, 2, 'the ReplicaSet created both pods (a violation would be FailedCreate)');
});

test('the ServiceAccount may do exactly what the gateway needs', { timeout: 60_000 }, async () => {
  const must: string[][] = [
    ['impersonate', 'users'],
    ['impersonate', 'groups'],
    ['impersonate', 'serviceaccounts'],
    ['create', 'tokenreviews.authentication.k8s.io'],
    ['create', 'subjectaccessreviews.authorization.k8s.io'],
    ['get', '/openid/v1/jwks'],
    ['get', '/.well-known/openid-configuration'],
    ['get', 'upstreamclusters.kubegate.io'],
    ['list', 'upstreamclusters.kubegate.io'],
    ['watch', 'upstreamclusters.kubegate.io'],
    ['get', 'upstreamclusters.kubegate.io', '--subresource=status'],
    ['patch', 'upstreamclusters.kubegate.io', '--subresource=status'],
    ['update', 'upstreamclusters.kubegate.io', '--subresource=status'],
    ['get', 'secrets', '-n', NS],
  ];
  const mustNot: string[][] = [
    ['get', 'secrets', '-n', 'default'],
    ['get', 'secrets', '-n', 'kube-system'],
    ['list', 'secrets', '-n', NS],
    ['watch', 'secrets', '-n', NS],
    ['get', 'secrets', '--all-namespaces'],
    ['list', 'pods', '--all-namespaces'],
    ['create', 'pods', '-n', NS],
    ['update', 'configmaps', '-n', NS],
    ['create', 'upstreamclusters.kubegate.io'],
    ['patch', 'upstreamclusters.kubegate.io'],
    ['delete', 'upstreamclusters.kubegate.io'],
    ['delete', 'users'],
    ['delete', 'secrets', '-n', NS],
    ['delete', 'namespaces'],
    ['create', 'serviceaccounts/token', '-n', NS],
    ['get', '/metrics'],
  ];
  const answers = await Promise.all([...must, ...mustNot].map((a) => canI(...a)));
  must.forEach((a, i) => assert.equal(answers[i], true, `may ${a.join(' ')}`));
  mustNot.forEach((a, i) => assert.equal(answers[must.length + i], false, `may not ${a.join(' ')}`));

  const auth = 'authentication.k8s.io';
  const keys = ['credential-id', 'pod-name', 'pod-uid', 'node-name', 'node-uid'];
  const reviews: [Record<string, string>, boolean][] = [
    [{ verb: 'impersonate', group: auth, resource: 'uids' }, true],
    [{ verb: 'impersonate', group: auth, resource: 'userextras' }, true],
    ...keys.map((k): [Record<string, string>, boolean] => [
      {
        verb: 'impersonate',
        group: auth,
        resource: 'userextras',
        subresource: `authentication.kubernetes.io/${k}`,
      },
      true,
    ]),
    // Only the listed extra keys: RBAC has no wildcard for them.
    [{ verb: 'impersonate', group: auth, resource: 'userextras', subresource: 'example.com/team' }, false],
    ...['get', 'list', 'watch'].map((verb): [Record<string, string>, boolean] => [
      { verb, group: 'proxy.kubegateway.io', resource: 'upstreamclusters' },
      true,
    ]),
    [{ verb: 'patch', group: 'proxy.kubegateway.io', resource: 'upstreamclusters' }, false],
    [{ verb: 'delete', group: auth, resource: 'uids' }, false],
  ];
  for (const [attrs, want] of reviews)
    assert.equal(await reviewAllows(attrs), want, `${want ? 'may' : 'may not'} ${JSON.stringify(attrs)}`);
});
