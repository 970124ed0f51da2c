import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestInfo } from '../../src/request/types.ts';
import { loggedLines } from './access-lines.ts';
import { devDir, jsonLines, kubectl } from './env.ts';

interface Access {
  kind: string;
  auditID: string | null;
  upstream: string;
  verb: string;
  uri: string;
  user?: { username: string };
  resource?: Pick<RequestInfo, 'apiGroup' | 'apiVersion' | 'namespace' | 'resource' | 'subresource' | 'name'>;
}
interface AuditEvent {
  auditID: string;
  verb: string;
  requestURI: string;
  impersonatedUser?: { username: string };
  objectRef?: {
    apiGroup?: string;
    apiVersion?: string;
    namespace?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
}

test('the access log RequestInfo and user equal the apiservers audit events for a scripted mix of requests', async () => {
  const ns = `oracle-${process.pid}`;
  const before = jsonLines(join(devDir(), 'logs', 'kubegate.log')).length;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(devDir(), 'gateway.kubeconfig'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);

  await kubectl('gateway.kubeconfig', ['create', 'namespace', ns]);
  for (let i = 0; i < 20; i++) {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: `cm-${i}` }, data: { i: String(i) } },
    });
    await core.readNamespacedConfigMap({ namespace: ns, name: `cm-${i}` });
    await core.patchNamespacedConfigMap(
      { namespace: ns, name: `cm-${i}`, body: { data: { p: 'y' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: `metadata.name=cm-${i}` });
  }
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: 'web' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: 'web' } },
        template: { metadata: { labels: { a: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    },
  });
  await kubectl('gateway.kubeconfig', ['-n', ns, 'scale', 'deployment', 'web', '--replicas=2']);
  await kubectl('gateway.kubeconfig', ['-n', ns, 'get', 'deployment', 'web', '-o', 'yaml']);
  await kubectl('gateway.kubeconfig', ['-n', ns, 'label', 'configmap', 'cm-0', 'x=y']);
  await kubectl('gateway.kubeconfig', ['get', '--raw', '/version']);
  await kubectl('gateway.kubeconfig', ['get', '--raw', '/apis']);
  await kubectl('gateway.kubeconfig', ['auth', 'can-i', 'list', 'pods']);
  await kubectl('gateway.kubeconfig', ['api-resources', '-o', 'name']);
  await core.deleteCollectionNamespacedConfigMap({ namespace: ns });
  await kubectl('gateway.kubeconfig', [
    '-n',
    ns,
    'get',
    'configmaps',
    '--watch-only',
    '--request-timeout=1s',
  ]).catch(() => '');
  await kubectl('gateway.kubeconfig', ['delete', 'namespace', ns, '--wait=false']);
  // The gateway writes its access lines in order: the last request's line means all of them. The
  // apiservers' audit events: a moment.
  await loggedLines(
    () => jsonLines(join(devDir(), 'logs', 'kubegate.log')).slice(before),
    (l) =>
      l.kind === 'access' &&
      l.verb === 'delete' &&
      String(l.uri).split('?')[0] === `/api/v1/namespaces/${ns}`,
  );
  await sleep(500);

  const access = (
    jsonLines(join(devDir(), 'logs', 'kubegate.log')).slice(before) as unknown as Access[]
  ).filter((a) => a.kind === 'access' && a.auditID);
  const audit = new Map<string, AuditEvent>();
  for (let i = 0; i < 3; i++)
    for (const e of jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`)) as unknown as AuditEvent[])
      audit.set(e.auditID, e);

  assert.ok(access.length >= 100, `scripted ${access.length} requests`);
  const mismatches: string[] = [];
  for (const a of access) {
    const e = audit.get(a.auditID!);
    if (!e) {
      mismatches.push(`${a.uri}: no audit event ${a.auditID}`);
      continue;
    }
    const o = { ...e.objectRef };
    // For create, kube-apiserver's RequestInfo has no name; the audit event takes it from the
    // decoded body afterwards. The RequestInfo itself is what we compare.
    if (e.verb === 'create' && a.resource?.name === '') o.name = '';
    const r = a.resource;
    const same =
      e.verb === a.verb &&
      e.impersonatedUser?.username === a.user?.username &&
      (r
        ? (o.apiGroup ?? '') === r.apiGroup &&
          (o.apiVersion ?? '') === r.apiVersion &&
          (o.namespace ?? '') === r.namespace &&
          (o.resource ?? '') === r.resource &&
          (o.subresource ?? '') === r.subresource &&
          (o.name ?? '') === r.name
        : e.objectRef === undefined);
    if (!same)
      mismatches.push(
        `${a.uri}: access ${JSON.stringify({ verb: a.verb, r })} audit ${JSON.stringify({ verb: e.verb, o })}`,
      );
  }
  assert.deepEqual(mismatches, [], `${mismatches.length} of ${access.length} differ`);
});
