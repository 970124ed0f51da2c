import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterFromSecret, type SecretObject } from '../../../src/clustergateway/secret.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const b64 = (s: string) => Buffer.from(s).toString('base64');

function secret(labels: Record<string, string>, data: Record<string, string>, name = 'b'): SecretObject {
  const encoded: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) encoded[k] = b64(v);
  return { metadata: { name, labels }, data: encoded };
}
const TOKEN = { 'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken' };
const X509 = { 'cluster.core.oam.dev/cluster-credential-type': 'X509Certificate' };

test('a ServiceAccountToken Secret becomes a cluster with the token and CA', () => {
  const r = clusterFromSecret(
    secret(TOKEN, { endpoint: 'https://10.0.0.1:6443/\n', 'ca.crt': CA, token: 't0k\n' }),
    {},
  );
  assert.ok('config' in r);
  assert.equal(r.config.name, 'b');
  assert.equal(r.config.origin, 'ClusterGateway/b');
  assert.deepEqual(r.config.endpoints, [{ name: 'b-0', url: 'https://10.0.0.1:6443' }]);
  assert.equal(r.config.material.token, 't0k');
  assert.equal(r.config.material.ca, CA);
});

test('an X509Certificate Secret carries the client certificate and key', () => {
  const r = clusterFromSecret(
    secret(X509, { endpoint: 'https://h:1', 'ca.crt': CA, 'tls.crt': 'C', 'tls.key': 'K' }),
    {},
  );
  assert.ok('config' in r);
  assert.equal(r.config.material.cert, 'C');
  assert.equal(r.config.material.key, 'K');
  assert.equal(r.config.material.token, undefined);
});

test('a Secret without ca.crt is refused, naming the field', () => {
  const r = clusterFromSecret(secret(TOKEN, { endpoint: 'https://h:1', token: 't' }), {});
  assert.ok('issues' in r);
  assert.deepEqual(
    r.issues.map((i) => i.path),
    ['data["ca.crt"]'],
  );
});

test('each missing or wrong field is reported', () => {
  const r = clusterFromSecret(secret(X509, { endpoint: 'http://h:1', 'ca.crt': CA }, 'B_x'), {});
  assert.ok('issues' in r);
  assert.deepEqual(
    r.issues.map((i) => i.path),
    ['metadata.name', 'data.endpoint', 'data["tls.crt"]', 'data["tls.key"]'],
  );
  const t = clusterFromSecret(
    secret(
      { 'cluster.core.oam.dev/cluster-credential-type': 'Dynamic' },
      { endpoint: 'https://h', 'ca.crt': CA },
    ),
    {},
  );
  assert.ok('issues' in t);
  assert.match(t.issues[0].message, /"Dynamic" is not a credential type/);
  const e = clusterFromSecret(
    secret(
      { ...TOKEN, 'cluster.core.oam.dev/cluster-endpoint-type': 'ClusterProxy' },
      { endpoint: 'https://h', 'ca.crt': CA, token: 't' },
    ),
    {},
  );
  assert.ok('issues' in e);
  assert.match(e.issues[0].message, /only Const/);
});

test("the global exchange rules come after the Secret's own", () => {
  const own = {
    spec: {
      clientIdentityExchanger: {
        rules: [
          {
            name: 'own',
            type: 'StaticMappingIdentityExchanger',
            source: { user: 'a' },
            target: { user: 'x' },
          },
        ],
      },
    },
  };
  const s = secret(TOKEN, { endpoint: 'https://10.0.0.1:6443', 'ca.crt': CA, token: 't' });
  s.metadata.annotations = {
    'cluster.core.oam.dev/cluster-gateway-proxy-configuration': JSON.stringify(own),
  };
  const global = [
    {
      name: 'global',
      type: 'PrivilegedIdentityExchanger' as const,
      source: {},
      target: { user: '', groups: [], uid: '' },
    },
  ];
  const r = clusterFromSecret(s, {}, global);
  assert.ok('config' in r);
  assert.deepEqual(
    r.config.identityExchange?.map((x) => x.name),
    ['own', 'global'],
  );
  const bare = clusterFromSecret(
    secret(TOKEN, { endpoint: 'https://10.0.0.1:6443', 'ca.crt': CA, token: 't' }),
    {},
    global,
  );
  assert.ok('config' in bare);
  assert.deepEqual(
    bare.config.identityExchange?.map((x) => x.name),
    ['global'],
  );
});

test('without ca.crt a Secret is accepted only when it asks for insecure mode explicitly', () => {
  const data = { endpoint: 'https://10.0.0.1:6443', token: 't' };
  const refused = clusterFromSecret(secret(TOKEN, data), {});
  assert.ok('issues' in refused);
  assert.match(refused.issues[0].message, /kubegate\.io\/insecure-skip-tls-verify/);
  const s = secret(TOKEN, data);
  s.metadata.annotations = { 'kubegate.io/insecure-skip-tls-verify': 'true' };
  const r = clusterFromSecret(s, {});
  assert.ok('config' in r);
  assert.equal(r.config.material.insecureSkipTLSVerify, true);
  assert.equal(r.config.material.ca, '');
  const withCA = secret(TOKEN, { ...data, 'ca.crt': CA });
  withCA.metadata.annotations = { 'kubegate.io/insecure-skip-tls-verify': 'true' };
  const verified = clusterFromSecret(withCA, {});
  assert.ok('config' in verified);
  assert.equal(verified.config.material.insecureSkipTLSVerify, undefined, 'a CA given is always used');
});
