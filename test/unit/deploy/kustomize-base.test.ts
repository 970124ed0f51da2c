import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { checkGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { GatewayConfiguration } from '../../../src/config/schema/gateway-configuration.ts';
import { gatewayClusterRole } from '../../../src/dev/rbac.ts';
import { ResourceList } from '../../../src/routing/rbac.ts';
import { configFile, DEPLOY, find, kustomization, manifests, ROOT, type Manifest } from './manifests.ts';

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function config(): GatewayConfiguration {
  return parse(configFile().text) as GatewayConfiguration;
}

function container(): Manifest {
  return find('Deployment', 'kubegate').spec.template.spec.containers[0] as Manifest;
}

/** The config path in the image's ENTRYPOINT. */
function entrypointConfigPath(): string {
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT'));
  const argv = JSON.parse(line!.slice('ENTRYPOINT'.length)) as string[];
  return argv[argv.indexOf('-f') + 1];
}

test('the base holds every manifest in deploy/, the generated CRD included, in kubegate-system', () => {
  const k = kustomization();
  assert.equal(k.namespace, 'kubegate-system');
  assert.ok(k.resources.includes('crds/kubegate.io_upstreamclusters.yaml'));
  for (const r of k.resources) assert.ok(existsSync(join(DEPLOY, r)), r);
  const yamls = readdirSync(DEPLOY).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  assert.deepEqual(
    yamls.filter((f) => !k.resources.includes(f)),
    [],
    'manifests left out of the base',
  );
  for (const m of manifests().filter((x) => x.metadata.namespace !== undefined))
    assert.equal(m.metadata.namespace, 'kubegate-system', `${m.kind} ${m.metadata.name}`);
  // A name hash would roll the pods on every edit instead of letting kubegate reload live.
  assert.equal(k.generatorOptions?.disableNameSuffixHash, true);
});

test('the ConfigMap configuration validates and reads custom resources with in-cluster credentials', () => {
  const cfg = config();
  assert.deepEqual(checkGatewayConfiguration(cfg), []);
  assert.ok(cfg.kubernetes, 'kubernetes block');
  assert.equal(cfg.kubernetes.kubeconfigFile, undefined, 'in-cluster service account');
  const cluster = cfg.clusters![0];
  assert.equal(cluster.upstreamCA.file, `${SA_DIR}/ca.crt`);
  assert.equal(cluster.credentials.tokenFile, `${SA_DIR}/token`);
  assert.equal(cfg.listeners[0].port, 6443);
  assert.equal(cfg.listeners[0].address, '0.0.0.0');
  assert.equal(cfg.admin?.address, '0.0.0.0', 'the kubelet probes the pod IP, not loopback');
});

test('the configuration is mounted as a directory where the image reads it; certificates as directories', () => {
  const pod = find('Deployment', 'kubegate').spec.template.spec;
  const mounts = container().volumeMounts as { name: string; mountPath: string; subPath?: string }[];
  assert.deepEqual(
    mounts.filter((m) => m.subPath !== undefined),
    [],
    'subPath mounts never see updates',
  );
  const cfgPath = entrypointConfigPath();
  const cfgMount = mounts.find((m) => m.mountPath === dirname(cfgPath));
  assert.ok(cfgMount, `a volume at ${dirname(cfgPath)}`);
  const cfgVolume = (pod.volumes as Manifest[]).find((v) => v.name === cfgMount.name)!;
  assert.equal(cfgVolume.configMap.name, 'kubegate-config');
  assert.equal(
    basename(cfgPath),
    basename(configFile().path),
    'the ConfigMap key is the file the image reads',
  );

  const tls = config().listeners[0].tls;
  const certMount = mounts.find((m) => m.mountPath === dirname(tls.certFile));
  assert.ok(certMount, 'serving certificate mounted');
  assert.equal(dirname(tls.keyFile), certMount.mountPath);
  const certVolume = (pod.volumes as Manifest[]).find((v) => v.name === certMount.name)!;
  assert.equal(certVolume.secret.secretName, 'kubegate-serving');
  assert.deepEqual([basename(tls.certFile), basename(tls.keyFile)], ['tls.crt', 'tls.key']);
});

test('probes use the admin port, and termination outlasts the shutdown delay and drain', () => {
  const d = find('Deployment', 'kubegate');
  const c = container();
  const cfg = config();
  const metrics = (c.ports as { name: string; containerPort: number }[]).find((p) => p.name === 'metrics');
  assert.equal(metrics?.containerPort, cfg.admin?.port);
  const https = (c.ports as { name: string; containerPort: number }[]).find((p) => p.name === 'https');
  assert.equal(https?.containerPort, cfg.listeners[0].port);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/livez', port: 'metrics' });

  const s = cfg.shutdown ?? {};
  const budget = (s.delaySeconds ?? 0) + (s.drainSeconds ?? 10);
  assert.ok(budget > 0);
  assert.ok(d.spec.template.spec.terminationGracePeriodSeconds > budget, 'SIGKILL only after the drain');

  assert.equal(d.spec.replicas, 2);
  assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
  const anti = d.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  assert.equal(anti[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  for (const kind of ['requests', 'limits'])
    for (const r of ['cpu', 'memory']) assert.ok(c.resources[kind][r], `resources.${kind}.${r}`);
  assert.equal(c.image, 'ghcr.io/kubegate/kubegate:0.1.0');
});

test('the pod runs as non-root with a read-only root, no capabilities and the runtime seccomp profile', () => {
  const pod = find('Deployment', 'kubegate').spec.template.spec;
  const c = container();
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.notEqual(pod.securityContext.runAsUser, 0);
  assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
  assert.equal(pod.automountServiceAccountToken, true, 'the pod opts in to its token');
  assert.equal(find('ServiceAccount', 'kubegate').automountServiceAccountToken, false);
  assert.equal(pod.serviceAccountName, 'kubegate');
  assert.equal(find('Namespace').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
});

type Grant = string;
type Rule = { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] };

/** Each rule as one string per (group, resource, verb) or (URL, verb), for set comparison. */
function grants(
  rules: { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[]; verbs: string[] }[],
) {
  const out = new Set<Grant>();
  for (const r of rules)
    for (const v of r.verbs) {
      for (const u of r.nonResourceURLs ?? []) out.add(`url ${u} ${v}`);
      for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) out.add(`${g}/${res} ${v}`);
    }
  return out;
}

test('RBAC grants exactly what src/dev/rbac.ts grants, with Secrets readable only in kubegate-system', () => {
  const cluster = grants(find('ClusterRole', 'kubegate').rules);
  const ns = find('Role', 'kubegate-secrets');
  assert.equal(ns.metadata.namespace, 'kubegate-system');
  const namespaced = grants(ns.rules);
  assert.deepEqual([...namespaced], ['/secrets get']);
  assert.ok(![...cluster].some((g) => g.startsWith('/secrets')), 'no cluster-wide Secret access');
  const reference = grants(gatewayClusterRole.rules);
  assert.deepEqual([...new Set([...cluster, ...namespaced])].sort(), [...reference].sort());
  // One wildcard: impersonating uids and every extra key (RBAC has no `userextras/*`).
  const wild = [...cluster, ...namespaced].filter((g) => g.includes('*'));
  assert.deepEqual(wild, ['authentication.k8s.io/* impersonate']);

  for (const [kind, role] of [
    ['ClusterRoleBinding', 'ClusterRole'],
    ['RoleBinding', 'Role'],
  ]) {
    const b = manifests().find((m) => m.kind === kind)!;
    assert.equal(b.roleRef.kind, role);
    assert.deepEqual(b.subjects, [
      { kind: 'ServiceAccount', name: 'kubegate', namespace: 'kubegate-system' },
    ]);
  }
});

test('the ClusterRole lets the gateway impersonate any extra key, as RBAC matches it, and no other verb on it', () => {
  for (const rules of [find('ClusterRole', 'kubegate').rules, gatewayClusterRole.rules] as Rule[][]) {
    const may = (verb: string, group: string, resource: string, subresource: string) =>
      rules.some(
        (r) =>
          r.verbs.includes(verb) &&
          (r.apiGroups ?? []).some((g) => g === group || g === '*') &&
          new ResourceList(r.resources ?? []).has(resource, subresource),
      );
    const auth = 'authentication.k8s.io';
    for (const key of ['authentication.kubernetes.io/credential-id', 'some.example/never-listed', 'scopes'])
      assert.ok(may('impersonate', auth, 'userextras', key), `impersonate userextras/${key}`);
    assert.ok(may('impersonate', auth, 'uids', ''));
    assert.ok(!may('create', auth, 'userextras', 'scopes'));
    assert.ok(!may('impersonate', 'authorization.k8s.io', 'userextras', 'scopes'));
  }
});

test('the Service and the PodDisruptionBudget select the Deployment pods', () => {
  const labels = find('Deployment', 'kubegate').spec.template.metadata.labels as Record<string, string>;
  const selects = (sel: Record<string, string>) => Object.entries(sel).every(([k, v]) => labels[k] === v);
  const svc = find('Service', 'kubegate');
  assert.ok(selects(svc.spec.selector));
  assert.deepEqual(
    (svc.spec.ports as { name: string; port: number; targetPort: string }[]).map((p) => [
      p.name,
      p.targetPort,
    ]),
    [
      ['https', 'https'],
      ['metrics', 'metrics'],
    ],
  );
  assert.equal(svc.spec.ports[0].port, 6443);
  const pdb = find('PodDisruptionBudget', 'kubegate');
  assert.equal(pdb.spec.minAvailable, 1);
  assert.ok(selects(pdb.spec.selector.matchLabels));
});
