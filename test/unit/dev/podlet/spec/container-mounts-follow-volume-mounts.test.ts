import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { SpecError } from '../../../../../src/dev/podlet/spec/index.ts';
import { containerMounts, materializeVolumes } from '../../../../../src/dev/podlet/spec/index.ts';
import { FakeSource } from './fake-source.ts';

let dir: string;
let volumes: Map<string, string>;
const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    containers: [],
    volumes: [
      { name: 'data', emptyDir: {} },
      { name: 'cfg', configMap: { name: 'cfg' } },
    ],
  },
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'podlet-mounts-'));
  volumes = await materializeVolumes(
    pod,
    dir,
    new FakeSource().addConfigMap('ns', 'cfg', { 'app.conf': 'x=1' }),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

const c = (volumeMounts: V1Container['volumeMounts']): V1Container => ({ name: 'app', volumeMounts });

test('mounts map volumes to container paths; configMap-like volumes are always read-only', () => {
  const mounts = containerMounts(
    pod,
    c([
      { name: 'data', mountPath: '/data' },
      { name: 'data', mountPath: '/ro', readOnly: true },
      { name: 'cfg', mountPath: '/etc/app' },
    ]),
    volumes,
  );
  assert.deepEqual(mounts, [
    { hostPath: volumes.get('data'), mountPath: '/data', readOnly: false },
    { hostPath: volumes.get('data'), mountPath: '/ro', readOnly: true },
    { hostPath: volumes.get('cfg'), mountPath: '/etc/app', readOnly: true },
  ]);
});

test('subPath is created when missing; a subPath of a configMap pins the current file', async () => {
  const [sub, file] = containerMounts(
    pod,
    c([
      { name: 'data', mountPath: '/logs', subPath: 'logs/app' },
      { name: 'cfg', mountPath: '/etc/app.conf', subPath: 'app.conf' },
    ]),
    volumes,
  );
  assert.equal(sub.hostPath, join(await realpath(volumes.get('data')!), 'logs/app'));
  assert.ok((await stat(sub.hostPath)).isDirectory());
  assert.match(file.hostPath, /\/\.\.\d{4}_[^/]+\/app\.conf$/);
});

test('subPathExpr expands env and reports missing variables', () => {
  const [m] = containerMounts(
    pod,
    c([{ name: 'data', mountPath: '/x', subPathExpr: 'pods/$(POD_NAME)' }]),
    volumes,
    {
      POD_NAME: 'web-1',
    },
  );
  assert.ok(m.hostPath.endsWith('/pods/web-1'));
  assert.throws(
    () =>
      containerMounts(
        pod,
        c([{ name: 'data', mountPath: '/x', subPathExpr: '$(B)/$(A)/$(EMPTY)' }]),
        volumes,
        { EMPTY: '' },
      ),
    (e: SpecError) =>
      e.reason === 'CreateContainerConfigError' && e.message === 'missing value for A, B, EMPTY',
  );
});

test('bad subPaths and unknown volumes fail with the kubelet messages', () => {
  const fails = (mounts: V1Container['volumeMounts'], message: string) =>
    assert.throws(
      () => containerMounts(pod, c(mounts), volumes),
      (e: SpecError) => {
        assert.equal(e.reason, 'CreateContainerConfigError');
        assert.equal(e.message, message);
        return true;
      },
    );
  fails([{ name: 'nope', mountPath: '/x' }], 'cannot find volume "nope" to mount into container "app"');
  fails(
    [{ name: 'data', mountPath: '/x', subPath: '/etc' }],
    'error SubPath `/etc` must not be an absolute path',
  );
  fails(
    [{ name: 'data', mountPath: '/x', subPath: 'a/../../b' }],
    "unable to provision SubPath `a/../../b`: must not contain '..'",
  );
});
