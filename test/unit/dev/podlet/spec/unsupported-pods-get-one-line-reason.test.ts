import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { unsupportedReason } from '../../../../../src/dev/podlet/spec/index.ts';

const base = (spec: Partial<V1Pod['spec']>): V1Pod => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c' }], ...spec },
});

test('a plain pod with supported volumes is runnable', () => {
  assert.equal(
    unsupportedReason(
      base({
        volumes: [
          { name: 'a', emptyDir: {} },
          { name: 'b', secret: { secretName: 's' } },
          { name: 'c', configMap: { name: 'c' } },
          { name: 'd', downwardAPI: { items: [] } },
          { name: 'e', hostPath: { path: '/tmp' } },
          {
            name: 'f',
            projected: { sources: [{ serviceAccountToken: { path: 't' } }, { configMap: { name: 'x' } }] },
          },
        ],
      }),
    ),
    null,
  );
});

test('each unsupported feature is named', () => {
  const cases: [Partial<V1Pod['spec']>, RegExp][] = [
    [{ hostPID: true }, /^hostPID is not supported$/],
    [{ hostIPC: true }, /^hostIPC is not supported$/],
    [{ hostUsers: false }, /hostUsers: false/],
    [{ ephemeralContainers: [{ name: 'debug' }] }, /^ephemeral containers are not supported$/],
    [
      { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'x' } }] },
      /^volume "data" of type persistentVolumeClaim is not supported$/,
    ],
    [{ volumes: [{ name: 'n', nfs: { server: 's', path: '/' } }] }, /type nfs/],
    [{ volumes: [{ name: 'x', csi: { driver: 'd' } }] }, /type csi/],
    [
      { volumes: [{ name: 'b', projected: { sources: [{ clusterTrustBundle: { path: 'p' } }] } }] },
      /projects clusterTrustBundle/,
    ],
    [
      { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort: 8080 }] }] },
      /container "c" uses hostPort 8080/,
    ],
    [
      { initContainers: [{ name: 'i', volumeDevices: [{ name: 'v', devicePath: '/dev/x' }] }] },
      /init container "i" uses volumeDevices/,
    ],
  ];
  for (const [spec, re] of cases) {
    const reason = unsupportedReason(base(spec));
    assert.ok(reason && !reason.includes('\n'), JSON.stringify(spec));
    assert.match(reason, re);
  }
  assert.equal(unsupportedReason(base({ hostIPC: true, hostPID: true }))?.split('; ').length, 2);
});

test('a host-network pod runs, and its hostPorts with it (they are its containerPorts)', () => {
  const ports = [{ containerPort: 8080, hostPort: 8080 }];
  assert.equal(unsupportedReason(base({ hostNetwork: true, containers: [{ name: 'c', ports }] })), null);
});
