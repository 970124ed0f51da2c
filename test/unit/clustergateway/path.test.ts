import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterGatewayTarget } from '../../../src/clustergateway/path.ts';

const P = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';

test('a proxy path names the cluster and keeps the inner path and query', () => {
  assert.deepEqual(clusterGatewayTarget(`${P}/b/proxy/api/v1/namespaces?watch=1&rv=5`), {
    kind: 'proxy',
    cluster: 'b',
    uri: '/api/v1/namespaces?watch=1&rv=5',
  });
  assert.deepEqual(clusterGatewayTarget(`${P}/b/proxy`), { kind: 'proxy', cluster: 'b', uri: '/' });
  assert.deepEqual(clusterGatewayTarget(`${P}/b/proxy?x=1`), { kind: 'proxy', cluster: 'b', uri: '/?x=1' });
});

test('the group, list, get and health are kubegate’s own API', () => {
  for (const u of [
    '/apis/cluster.core.oam.dev',
    `${P}`,
    `${P}?watch=1`,
    `${P}/b`,
    `${P}/b/health`,
    `${P}/b/proxyx`,
  ])
    assert.deepEqual(clusterGatewayTarget(u), { kind: 'api' }, u);
});

test('other paths are not selected', () => {
  for (const u of ['/api/v1/pods', '/apis/cluster.core.oam.devx/v1', '/apis/apps/v1'])
    assert.equal(clusterGatewayTarget(u), null, u);
});

test('dot segments in the inner path are not proxied', () => {
  for (const u of [`${P}/b/proxy/../../x`, `${P}/b/proxy/api/%2e%2e/x`, `${P}/b/proxy/./api`])
    assert.deepEqual(clusterGatewayTarget(u), { kind: 'api' }, u);
});
