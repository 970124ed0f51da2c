import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { GatewayConfiguration } from '../../src/config/schema/gateway-configuration.ts';
import { freePort } from '../../src/dev/ports.ts';
import { devDir, devState, jsonLines, kubectl, kubectlPath } from './env.ts';

// The kustomize base in deploy/ as an operator applies it: a server-side dry run, the real apply,
// the CRD read back, and the ServiceAccount's RBAC asked of the apiserver (what it must be able to
// do, and a sample of what it must not). The Deployment's pods never run: the dev cluster has no
// nodes, but their creation proves the pod spec passes the namespace's restricted Pod Security.
// Then the base's own configuration is served outside a pod with the ServiceAccount's token, so
// the RBAC is shown to be enough for real requests, not only for `can-i`.
const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const NS = 'kubegate-system';
const SA = `system:serviceaccount:${NS}:kubegate`;
const ADMIN = 'apiserver-0.kubeconfig';
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kg-deploy-'));
let served: ChildProcess | null = null;

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

/** kubectl with a kubeconfig of the test's own (through the test's gateway). */
function kubectlAt(kubeconfig: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      kubectlPath(),
      ['--kubeconfig', kubeconfig, ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
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
  if (served && served.exitCode === null) {
    const exited = new Promise((r) => served!.once('exit', r));
    served.kill('SIGKILL');
    await exited;
  }
  await kubectl(ADMIN, [
    'delete',
    'upstreamcluster',
    'deploy-e2e-ok',
    'deploy-e2e-elsewhere',
    '--ignore-not-found',
  ]).catch(() => '');
  await kubectl(ADMIN, ['delete', 'secret', 'deploy-e2e', '-n', 'default', '--ignore-not-found']).catch(
    () => '',
  );
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
    // Any extra key, one nobody listed too (RBAC's `*`: it has no `userextras/*`).
    [{ verb: 'impersonate', group: auth, resource: 'userextras', subresource: 'example.com/team' }, true],
    [{ verb: 'create', group: auth, resource: 'userextras', subresource: 'example.com/team' }, false],
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

/** A kubeconfig for `server` with the dev CA and either the dev admin's certificate or a token. */
function kubeconfigFor(name: string, server: string, user: Record<string, string>): string {
  const file = join(tmp, `${name}.kubeconfig`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server, 'certificate-authority': join(devDir(), 'pki', 'ca.crt') } }],
      users: [{ name, user }],
      contexts: [{ name, context: { cluster: name, user: name } }],
      'current-context': name,
    }),
  );
  return file;
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

test(
  "the deployed configuration serves with nothing but the ServiceAccount's permissions, and drains on SIGTERM",
  { timeout: 60_000 },
  async () => {
    // The pod's files, outside a pod: the ServiceAccount's token and the cluster CA where the
    // kubelet would project them, the dev serving certificate as the kubegate-serving Secret.
    const sa = join(tmp, 'serviceaccount');
    const tls = join(tmp, 'tls');
    mkdirSync(sa);
    mkdirSync(tls);
    const token = (await kubectl(ADMIN, ['create', 'token', 'kubegate', '-n', NS, '--duration=10m'])).trim();
    writeFileSync(join(sa, 'token'), token);
    copyFileSync(join(devDir(), 'pki', 'ca.crt'), join(sa, 'ca.crt'));
    copyFileSync(join(devDir(), 'pki', 'gateway.crt'), join(tls, 'tls.crt'));
    copyFileSync(join(devDir(), 'pki', 'gateway.key'), join(tls, 'tls.key'));
    const apiserver = devState().apiservers[0];

    // deploy/config/kubegate.yaml with only what a pod provides changed: paths, loopback ports, the
    // apiserver's address, and a kubeconfig (same token) in place of the in-cluster environment.
    const text = readFileSync(join(DEPLOY, 'config', 'kubegate.yaml'), 'utf8')
      .replaceAll('/var/run/secrets/kubernetes.io/serviceaccount', sa)
      .replaceAll('/etc/kubegate/tls', tls)
      .replaceAll('https://kubernetes.default.svc:443', apiserver);
    const cfg = parse(text) as GatewayConfiguration;
    const [port, adminPort] = [await freePort(), await freePort()];
    cfg.listeners[0] = { ...cfg.listeners[0], address: '127.0.0.1', port };
    cfg.admin = { ...cfg.admin, address: '127.0.0.1', port: adminPort };
    cfg.kubernetes = {
      ...cfg.kubernetes,
      kubeconfigFile: kubeconfigFor('sa', apiserver, { token }),
    };
    const log = join(tmp, 'kubegate.log');
    cfg.accessLog = { path: log };
    const file = join(tmp, 'kubegate.yaml');
    writeFileSync(file, stringify(cfg));
    served = spawn(process.execPath, [MAIN, 'serve', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    const admin = `http://127.0.0.1:${adminPort}`;
    await waitFor('/readyz', 20_000, async () => (await fetch(`${admin}/readyz`)).status === 200);

    // The dev admin by client certificate: impersonated as user and groups.
    const asAdmin = kubeconfigFor('admin', `https://127.0.0.1:${port}`, {
      'client-certificate': join(devDir(), 'pki', 'admin.crt'),
      'client-key': join(devDir(), 'pki', 'admin.key'),
    });
    const ns = await kubectlAt(asAdmin, ['get', 'namespace', NS, '-o', 'name']);
    assert.equal(ns.trim(), `namespace/${NS}`);
    // A service-account token: TokenReview, then impersonation with its extras (credential-id,
    // pod-name… are userextras/<key>, granted with every other key).
    const viewer = (await kubectl(ADMIN, ['create', 'token', 'default', '-n', NS, '--duration=10m'])).trim();
    const asToken = kubeconfigFor('token', `https://127.0.0.1:${port}`, { token: viewer });
    const who = JSON.parse(await kubectlAt(asToken, ['auth', 'whoami', '-o', 'json'])) as {
      status: { userInfo: { username: string; extra?: Record<string, string[]> } };
    };
    assert.equal(who.status.userInfo.username, `system:serviceaccount:${NS}:default`);
    assert.ok(who.status.userInfo.extra?.['authentication.kubernetes.io/credential-id'], 'extras forwarded');

    // UpstreamCluster Secrets: readable in kubegate-system, refused anywhere else.
    const secret = (namespace: string) => [
      'create',
      'secret',
      'generic',
      'deploy-e2e',
      '-n',
      namespace,
      `--from-file=ca.crt=${join(sa, 'ca.crt')}`,
      `--from-literal=token=${token}`,
    ];
    await kubectl(ADMIN, secret(NS));
    await kubectl(ADMIN, secret('default'));
    const cluster = (name: string, namespace: string) => ({
      apiVersion: 'kubegate.io/v1alpha1',
      kind: 'UpstreamCluster',
      metadata: { name },
      spec: {
        endpoints: [{ name: 'apiserver-0', url: apiserver }],
        upstreamCA: { secretRef: { namespace, name: 'deploy-e2e' } },
        credentials: { secretRef: { namespace, name: 'deploy-e2e' } },
      },
    });
    const objects = join(tmp, 'clusters.yaml');
    writeFileSync(
      objects,
      [cluster('deploy-e2e-ok', NS), cluster('deploy-e2e-elsewhere', 'default')]
        .map((o) => stringify(o))
        .join('---\n'),
    );
    await kubectl(ADMIN, ['apply', '-f', objects]);
    const rejected = () =>
      jsonLines(log).filter(
        (l) => l.kind === 'config' && String(l.source).startsWith('UpstreamCluster/deploy-e2e'),
      );
    await waitFor('the rejection of the Secret outside kubegate-system', 15_000, async () =>
      rejected().some((l) => l.source === 'UpstreamCluster/deploy-e2e-elsewhere'),
    );
    const elsewhere = rejected().find((l) => l.source === 'UpstreamCluster/deploy-e2e-elsewhere')!;
    assert.equal(elsewhere.reason, 'RefNotResolved');
    assert.match(String(elsewhere.message), /Secret default\/deploy-e2e: Forbidden/);
    assert.deepEqual(
      rejected().filter((l) => l.source === 'UpstreamCluster/deploy-e2e-ok'),
      [],
      'the Secret in kubegate-system is read',
    );
    assert.equal(
      jsonLines(log).filter((l) => /list\/watch failed|could not write status/.test(String(l.msg))).length,
      0,
    );

    // SIGTERM: not ready at once (shutdown.delaySeconds), then a clean exit within the pod's grace.
    const deployment = (await objectsButCRD()).find((o) => o.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { terminationGracePeriodSeconds: number } } };
    };
    const grace = deployment.spec.template.spec.terminationGracePeriodSeconds;
    const started = Date.now();
    const exited = new Promise<number | null>((r) => served!.once('exit', (code) => r(code)));
    served.kill('SIGTERM');
    await waitFor(
      '/readyz 503 while draining',
      3_000,
      async () => (await fetch(`${admin}/readyz`)).status === 503,
    );
    assert.equal(await exited, 0);
    assert.ok(Date.now() - started < grace * 1000, `exited within terminationGracePeriodSeconds (${grace})`);
  },
);
