import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { ConfigError } from '../../../src/config/issues.ts';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { fakeClusterPKI } from '../helpers/fake-cluster-pki.ts';

// cluster-gateway's global ClusterGatewayProxyConfiguration (--cluster-gateway-proxy-config) as
// kubernetes.clusterGatewayProxyConfigurationFile: read and checked with the configuration.
let dir = '';

before(async () => {
  dir = (await fakeClusterPKI('cg-proxy-config')).dir;
});
after(() => rm(dir, { recursive: true, force: true }));

const config = (file: string) =>
  fakeClusterConfiguration(
    'https://127.0.0.1:1',
    {},
    {
      kubernetes: {
        kubeconfigFile: 'gateway.kubeconfig',
        clusterGatewaySecretNamespace: 'kubegate-system',
        clusterGatewayProxyConfigurationFile: file,
      },
    },
  );

test('its rules are read, in order, and the file is one the configuration depends on', async () => {
  await writeFile(
    join(dir, 'proxy.yaml'),
    [
      'apiVersion: cluster.core.oam.dev/v1alpha1',
      'kind: ClusterGatewayProxyConfiguration',
      'spec:',
      '  clientIdentityExchanger:',
      '    rules:',
      '      - name: admins',
      '        type: PrivilegedIdentityExchanger',
      '        source: { group: hub-admins }',
      '      - name: ops',
      '        type: StaticMappingIdentityExchanger',
      '        source: { groupPattern: "ops-.*" }',
      '        target: { user: ops, groups: [ops] }',
    ].join('\n'),
  );
  const c = await resolveGatewayConfiguration(config('proxy.yaml'), dir);
  assert.deepEqual(
    c.kubernetes?.clusterGatewayExchange.map((r) => [r.name, r.type]),
    [
      ['admins', 'PrivilegedIdentityExchanger'],
      ['ops', 'StaticMappingIdentityExchanger'],
    ],
  );
  assert.ok(c.sourceFiles?.some((f) => f.path === join(dir, 'proxy.yaml')));
});

test('a bad rule or a missing file is a config issue naming the field and the file', async () => {
  await writeFile(
    join(dir, 'bad.yaml'),
    'spec: { clientIdentityExchanger: { rules: [ { name: x, type: ExternalIdentityExchanger, source: {} } ] } }',
  );
  const issues = async (file: string) => {
    const err = await resolveGatewayConfiguration(config(file), dir).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError);
    return err.issues;
  };
  const bad = await issues('bad.yaml');
  assert.equal(
    bad[0].path,
    'kubernetes.clusterGatewayProxyConfigurationFile.spec.clientIdentityExchanger.rules[0].type',
  );
  assert.match(bad[0].message, /ExternalIdentityExchanger is not served.*bad\.yaml/);
  const missing = await issues('nowhere.yaml');
  assert.equal(missing[0].path, 'kubernetes.clusterGatewayProxyConfigurationFile');
  assert.match(missing[0].message, /cannot read .*nowhere\.yaml/);
});
