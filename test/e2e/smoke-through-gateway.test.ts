import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loggedLines } from './access-lines.ts';
import { devDir, jsonLines, kubectl } from './env.ts';

test('kubectl get --raw /readyz answers ok through the gateway', async () => {
  assert.equal((await kubectl('gateway.kubeconfig', ['get', '--raw', '/readyz'])).trim(), 'ok');
});

test('kubectl lists the namespaces through the gateway', async () => {
  const out = await kubectl('gateway.kubeconfig', ['get', 'ns', '-o', 'name']);
  assert.match(out, /^namespace\/default$/m);
  assert.match(out, /^namespace\/kube-system$/m);
});

test('ConfigMap create, get, list and delete through the gateway with client-node', async () => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(devDir(), 'gateway.kubeconfig'));
  const api = kc.makeApiClient(k8s.CoreV1Api);
  const name = `smoke-${process.pid}`;
  await api.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name }, data: { greeting: 'hello' } },
  });
  const got = await api.readNamespacedConfigMap({ namespace: 'default', name });
  assert.equal(got.data?.greeting, 'hello');
  const list = await api.listNamespacedConfigMap({ namespace: 'default' });
  assert.ok(list.items.some((c) => c.metadata?.name === name));
  await api.deleteNamespacedConfigMap({ namespace: 'default', name });
  await assert.rejects(
    api.readNamespacedConfigMap({ namespace: 'default', name }),
    (err: { code?: number }) => err.code === 404,
  );
});

test('requests through the gateway reach the apiserver as the real user (audit log)', async () => {
  const log = join(devDir(), 'logs', 'kubegate.log');
  const logged = jsonLines(log).length;
  const out = await kubectl('gateway.kubeconfig', ['get', 'ns', 'default', '-o', 'name']);
  assert.equal(out.trim(), 'namespace/default');
  const access = await loggedLines(
    () => jsonLines(log).slice(logged),
    (l) => l.kind === 'access' && l.uri === '/api/v1/namespaces/default',
  );
  const last = access.at(-1) as { auditID: string; upstream: string } | undefined;
  assert.ok(last, 'the access log has the request');
  const i = Number(last.upstream.split('-')[1]);
  const events = jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`)).filter(
    (e) => e.auditID === last.auditID,
  );
  assert.ok(events.length > 0, 'the audit event is found by Audit-Id');
  const e = events[0] as {
    user: { username: string };
    impersonatedUser?: { username: string };
    verb: string;
  };
  assert.equal(e.user.username, 'kubegate-gateway');
  assert.equal(e.impersonatedUser?.username, 'kubegate-admin');
  assert.equal(e.verb, 'get');
});

test('each apiserver has its own kubeconfig and answers directly', async () => {
  for (let i = 0; i < 3; i++) {
    assert.equal((await kubectl(`apiserver-${i}.kubeconfig`, ['get', '--raw', '/readyz'])).trim(), 'ok');
  }
});
