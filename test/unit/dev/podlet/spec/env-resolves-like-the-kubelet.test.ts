import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { resolveEnv, SpecError, type EnvEvent } from '../../../../../src/dev/podlet/spec/index.ts';
import { FakeSource } from './fake-source.ts';

const ctx = {
  nodeName: 'node-a',
  hostIP: '10.0.0.1',
  podIP: '10.244.0.7',
  nodeAllocatable: { cpu: '4', memory: '8Gi' },
};

function pod(container: V1Container, extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: {
      name: 'web-1',
      namespace: 'shop',
      uid: 'uid-123',
      labels: { app: 'web', tier: 'front' },
      annotations: { note: 'say "hi"\n' },
    },
    spec: { containers: [container], serviceAccountName: 'web-sa', ...extra },
  };
}

async function envOf(container: V1Container, source = new FakeSource(), extra: Partial<V1Pod['spec']> = {}) {
  return resolveEnv(pod(container, extra), container, source, ctx);
}

test('values expand references to earlier entries only; $$ escapes; unknown refs stay', async () => {
  const env = await envOf({
    name: 'c',
    env: [
      { name: 'A', value: 'a' },
      { name: 'B', value: '$(A)-$(C)-$$(A)-$(MISSING)-$(' },
      { name: 'C', value: 'c' },
      { name: 'D', value: '$(B)$x$' },
    ],
  });
  assert.deepEqual(env, {
    A: 'a',
    B: 'a-$(C)-$(A)-$(MISSING)-$(',
    C: 'c',
    D: 'a-$(C)-$(A)-$(MISSING)-$($x$',
  });
});

test('fieldRef reads metadata, spec and status fields', async () => {
  const f = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const env = await envOf({
    name: 'c',
    env: [
      f('NAME', 'metadata.name'),
      f('NS', 'metadata.namespace'),
      f('UID', 'metadata.uid'),
      f('APP', "metadata.labels['app']"),
      f('NONE', "metadata.labels['none']"),
      f('NOTE', "metadata.annotations['note']"),
      f('LABELS', 'metadata.labels'),
      f('NODE', 'spec.nodeName'),
      f('SA', 'spec.serviceAccountName'),
      f('HOST', 'status.hostIP'),
      f('HOSTS', 'status.hostIPs'),
      f('IP', 'status.podIP'),
      f('IPS', 'status.podIPs'),
    ],
  });
  assert.deepEqual(env, {
    NAME: 'web-1',
    NS: 'shop',
    UID: 'uid-123',
    APP: 'web',
    NONE: '',
    NOTE: 'say "hi"\n',
    LABELS: 'app="web"\ntier="front"',
    NODE: 'node-a',
    SA: 'web-sa',
    HOST: '10.0.0.1',
    HOSTS: '10.0.0.1',
    IP: '10.244.0.7',
    IPS: '10.244.0.7',
  });
});

test('an unsupported fieldRef is a CreateContainerConfigError', async () => {
  await assert.rejects(
    envOf({ name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] }),
    (e: SpecError) =>
      e instanceof SpecError &&
      e.reason === 'CreateContainerConfigError' &&
      e.message === 'field label not supported: spec.bogus',
  );
});

test('resourceFieldRef divides and rounds up; limits default to node allocatable', async () => {
  const r = (name: string, resource: string, divisor?: string, containerName?: string) => ({
    name,
    valueFrom: { resourceFieldRef: { resource, divisor, containerName } },
  });
  const env = await envOf(
    {
      name: 'c',
      resources: { requests: { cpu: '250m', memory: '100Mi' }, limits: { memory: '1Gi' } },
      env: [
        r('REQ_CPU', 'requests.cpu'),
        r('REQ_CPU_M', 'requests.cpu', '1m'),
        r('REQ_MEM', 'requests.memory'),
        r('REQ_MEM_MI', 'requests.memory', '1Mi'),
        r('LIM_MEM_M', 'limits.memory', '1M'),
        r('LIM_CPU', 'limits.cpu'),
        r('LIM_CPU_M', 'limits.cpu', '1m'),
        r('LIM_EPH', 'limits.ephemeral-storage'),
        r('OTHER_CPU', 'requests.cpu', '1m', 'side'),
      ],
    },
    new FakeSource(),
    { initContainers: [{ name: 'side', resources: { requests: { cpu: '1.5' } } }] },
  );
  assert.deepEqual(env, {
    REQ_CPU: '1',
    REQ_CPU_M: '250',
    REQ_MEM: String(100 * 1024 * 1024),
    REQ_MEM_MI: '100',
    LIM_MEM_M: '1074',
    LIM_CPU: '4',
    LIM_CPU_M: '4000',
    LIM_EPH: '0',
    OTHER_CPU: '1500',
  });
});

test('secretKeyRef and configMapKeyRef read values; optional ones that are missing are left out', async () => {
  const source = new FakeSource()
    .addSecret('shop', 'db', { password: 's3cret' })
    .addConfigMap('shop', 'cfg', { mode: 'fast' });
  const env = await envOf(
    {
      name: 'c',
      env: [
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
        { name: 'OPT1', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } },
        { name: 'OPT2', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nokey', optional: true } } },
        { name: 'URL', value: 'db://$(PW)@$(MODE)' },
      ],
    },
    source,
  );
  assert.deepEqual(env, { PW: 's3cret', MODE: 'fast', URL: 'db://s3cret@fast' });
});

test('missing objects and keys fail with the kubelet messages', async () => {
  const source = new FakeSource().addSecret('shop', 'db', {}).addConfigMap('shop', 'cfg', {});
  const cases: [V1Container['env'], string][] = [
    [[{ name: 'X', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } }], 'secret "gone" not found'],
    [
      [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'gone', key: 'k' } } }],
      'configmap "gone" not found',
    ],
    [
      [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }],
      "couldn't find key k in Secret shop/db",
    ],
    [
      [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }],
      "couldn't find key k in ConfigMap shop/cfg",
    ],
  ];
  for (const [env, message] of cases) {
    await assert.rejects(envOf({ name: 'c', env }, source), (e: SpecError) => {
      assert.equal(e.reason, 'CreateContainerConfigError');
      assert.equal(e.message, message);
      return true;
    });
  }
});

test('envFrom comes first with prefixes, env overrides it, invalid names are skipped and reported', async () => {
  const source = new FakeSource()
    .addConfigMap('shop', 'cfg', { MODE: 'slow', 'bad=name': 'x', 'dotted.name': 'ok', LEVEL: '3' })
    .addSecret('shop', 'creds', { USER: 'admin', 'a=b': 'x' });
  const events: EnvEvent[] = [];
  const c: V1Container = {
    name: 'c',
    envFrom: [
      { configMapRef: { name: 'cfg' } },
      { prefix: 'S_', secretRef: { name: 'creds' } },
      { configMapRef: { name: 'absent', optional: true } },
    ],
    env: [
      { name: 'MODE', value: 'fast-$(LEVEL)' },
      { name: 'WHO', value: '$(S_USER)' },
    ],
  };
  const env = await resolveEnv(pod(c), c, source, { ...ctx, events });
  assert.deepEqual(env, { MODE: 'fast-3', 'dotted.name': 'ok', LEVEL: '3', S_USER: 'admin', WHO: 'admin' });
  assert.deepEqual(
    events.map((e) => e.message),
    [
      'Keys [bad=name] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names.',
      'Keys [S_a=b] from the EnvFrom secret shop/creds were skipped since they are considered invalid environment variable names.',
    ],
  );
  assert.equal(events[0].reason, 'InvalidEnvironmentVariableNames');
  await assert.rejects(
    envOf({ name: 'c', envFrom: [{ secretRef: { name: 'absent' } }] }, source),
    /^SpecError: secret "absent" not found$/,
  );
});

test('a failing ObjectSource becomes a CreateContainerConfigError with its message', async () => {
  const source = new FakeSource();
  source.secret = async () => {
    throw new Error('secrets "db" is forbidden: no relationship found between node and this object');
  };
  await assert.rejects(
    envOf({ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }] }, source),
    (e: SpecError) => e.reason === 'CreateContainerConfigError' && /is forbidden/.test(e.message),
  );
});
