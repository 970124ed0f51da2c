import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import {
  KubeGatewayTranslationError,
  kubeGatewaySecrets,
  translateKubeGatewayCluster,
} from '../../../src/config/kubegateway/index.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const PEM_CA = b64('-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n');
const PEM_CERT = b64('-----BEGIN CERTIFICATE-----\nY2VydA==\n-----END CERTIFICATE-----\n');
const PEM_KEY = b64('-----BEGIN EC PRIVATE KEY-----\na2V5\n-----END EC PRIVATE KEY-----\n');
const ALL = { verbs: ['*'], apiGroups: ['*'], resources: ['*'] };

/** A KubeGateway cluster with one server and one catch-all policy, overridden by `spec`. */
function cluster(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: 'proxy.kubegateway.io/v1alpha1',
    kind: 'UpstreamCluster',
    metadata: { name: 'c.example.com', ...metadata },
    spec: {
      servers: [{ endpoint: 'https://10.0.0.1:6443' }],
      clientConfig: { caData: PEM_CA, certData: PEM_CERT, keyData: PEM_KEY },
      dispatchPolicies: [{ rules: [ALL] }],
      ...spec,
    },
  };
}
const paths = (obj: unknown) => translateKubeGatewayCluster(obj).unsupported.map((u) => u.path);

test('an object that is not a KubeGateway UpstreamCluster is refused with a code', () => {
  const code = (obj: unknown) => {
    try {
      translateKubeGatewayCluster(obj);
    } catch (err) {
      assert.ok(err instanceof KubeGatewayTranslationError);
      return err.code;
    }
    return 'accepted';
  };
  assert.equal(code('spec: {}'), 'KGW_NOT_AN_OBJECT');
  assert.equal(code({ ...cluster({}), apiVersion: 'kubegate.io/v1alpha1' }), 'KGW_WRONG_KIND');
  assert.equal(code({ ...cluster({}), kind: 'RateLimitCondition' }), 'KGW_WRONG_KIND');
  assert.equal(code({ ...cluster({}), metadata: {} }), 'KGW_NO_NAME');
  assert.equal(code({ ...cluster({}), metadata: { name: '...' } }), 'KGW_NO_NAME');
  assert.equal(
    (() => {
      try {
        translateKubeGatewayCluster(cluster({}), { secretNamespace: 'Kube System' });
      } catch (err) {
        return (err as KubeGatewayTranslationError).code;
      }
    })(),
    'KGW_BAD_OPTION',
  );
});

test('fields KubeGateway does not define are reported where they are, not dropped silently', () => {
  const obj = cluster({
    colour: 'red',
    servers: [{ endpoint: 'https://10.0.0.1:6443', weight: 2 }],
    dispatchPolicies: [{ rules: [{ ...ALL, namespaces: ['default'] }], priority: 1 }],
  });
  assert.deepEqual(paths(obj), [
    'spec.colour',
    'spec.servers[0].weight',
    'spec.dispatchPolicies[0].priority',
    'spec.dispatchPolicies[0].rules[0].namespaces',
  ]);
});

test('servers: plain http and bad URLs are left out, disabled ones too, and a subset left empty denies with 503', () => {
  const t = translateKubeGatewayCluster(
    cluster({
      servers: [
        { endpoint: 'http://10.0.0.1:8080' },
        { endpoint: 'https://10.0.0.2:6443/prefix' },
        { endpoint: 'https://10.0.0.3:6443', disabled: true },
        { endpoint: 'not a url' },
        { endpoint: 'https://[2001:db8::1]:6443' },
      ],
      dispatchPolicies: [
        {
          rules: [{ ...ALL, verbs: ['get'] }],
          upstreamSubset: ['https://10.0.0.3:6443', 'https://10.0.0.9:6443'],
        },
        { rules: [ALL], upstreamSubset: ['https://10.0.0.2:6443/prefix'] },
      ],
    }),
  );
  assert.deepEqual(t.spec.endpoints, [
    { name: '10-0-0-2-6443', url: 'https://10.0.0.2:6443' },
    { name: '2001-db8-1-6443', url: 'https://[2001:db8::1]:6443' },
  ]);
  assert.deepEqual(
    t.unsupported.map((u) => u.path),
    ['spec.servers[0].endpoint', 'spec.servers[3].endpoint'],
  );
  const [reads, rest] = t.spec.rules ?? [];
  assert.deepEqual(reads, {
    name: 'policy-0-rule-0',
    match: { verbs: ['get'], apiGroups: ['*'], resources: ['*'] },
    action: 'deny',
    deny: { code: 503, message: 'no endpoint of this rule can take requests' },
  });
  assert.deepEqual(rest.upstream, ['10-0-0-2-6443']);
  assert.ok(
    t.notes.some((n) => n.path === 'spec.servers[1].endpoint'),
    'the dropped path is noted',
  );
  assert.ok(
    t.notes.some((n) => n.path === 'spec.dispatchPolicies[0].upstreamSubset[1]'),
    'unknown subset entry noted',
  );
});

test('both spellings of the subset field are read; given together, upstreamSubset wins and the other is reported', () => {
  const t = translateKubeGatewayCluster(
    cluster({
      servers: [{ endpoint: 'https://a:6443' }, { endpoint: 'https://b:6443' }],
      dispatchPolicies: [
        { rules: [ALL], upsteamSubset: ['https://a:6443'] },
        { rules: [ALL], upstreamSubset: ['https://b:6443'], upsteamSubset: ['https://a:6443'] },
      ],
    }),
  );
  assert.deepEqual(
    (t.spec.rules ?? []).map((r) => r.upstream),
    [['a-6443'], ['b-6443']],
  );
  assert.deepEqual(
    t.unsupported.map((u) => u.path),
    ['spec.dispatchPolicies[1].upsteamSubset'],
  );
});

test('client config: insecure, bad data, a token next to a certificate and client-side limits are reported', () => {
  const t = translateKubeGatewayCluster(
    cluster({
      clientConfig: {
        insecure: true,
        caData: 'not base64!',
        certData: PEM_CERT,
        keyData: b64('plain text, no PEM'),
        bearerToken: b64('t0ken'),
        qps: 5,
        qpsDivisor: 0,
        serverName: 'apiserver.internal',
      },
    }),
  );
  assert.deepEqual(
    t.unsupported.map((u) => u.path),
    [
      'spec.clientConfig.insecure',
      'spec.clientConfig.caData',
      'spec.clientConfig.keyData',
      'spec.clientConfig.certData',
      'spec.clientConfig.qps',
      'spec.clientConfig.serverName',
    ],
  );
  // Without a usable key pair, the token is the credential.
  assert.deepEqual(t.materials, { token: 't0ken' });
  assert.ok(
    t.notes.some((n) => n.path === 'spec.clientConfig.caData'),
    'the missing CA is noted',
  );

  const both = translateKubeGatewayCluster(
    cluster({
      clientConfig: { caData: PEM_CA, certData: PEM_CERT, keyData: PEM_KEY, bearerToken: b64('t') },
    }),
  );
  assert.deepEqual(
    both.unsupported.map((u) => u.path),
    ['spec.clientConfig.bearerToken'],
  );
  assert.equal(both.materials.token, undefined);
  assert.deepEqual(Object.keys(kubeGatewaySecrets(both)[0].stringData), ['ca.crt', 'tls.crt', 'tls.key']);
});

test('Secrets are named after the cluster in the namespace the caller chooses', () => {
  const t = translateKubeGatewayCluster(cluster({}), { secretNamespace: 'gateways' });
  assert.deepEqual(t.spec.upstreamCA.secretRef, { namespace: 'gateways', name: 'c-example-com-upstream' });
  assert.notEqual(
    t.spec.upstreamCA.secretRef,
    t.spec.credentials.secretRef,
    'no shared objects in the result',
  );
  assert.equal(t.spec.clientCA, undefined);
});

test('the DenyAllRequests feature gate becomes the manual fuse; other gates are reported', () => {
  const gates = (value: string) =>
    translateKubeGatewayCluster(
      cluster({}, { annotations: { 'proxy.kubegateway.io/feature-gates': value } }),
    );
  assert.deepEqual(gates('DenyAllRequests=true').spec.circuitBreaker, {
    forceOpen: true,
    message: 'requests for c.example.com are denied (DenyAllRequests)',
  });
  assert.equal(gates('DenyAllRequests=false').spec.circuitBreaker, undefined);
  const t = gates('GlobalRateLimiter=true, Bogus=true, DenyAllRequests');
  assert.equal(t.unsupported.length, 3);
  assert.ok(
    t.unsupported.every((u) => u.path === 'metadata.annotations["proxy.kubegateway.io/feature-gates"]'),
  );
});

test('flow control: one schema named by several rules, global limits and unusable values are reported', () => {
  const t = translateKubeGatewayCluster(
    cluster({
      flowControl: {
        flowControlSchemas: [
          { name: 'shared', tokenBucket: { qps: 5, burst: 10 } },
          {
            name: 'global',
            strategy: 'GlobalCountLimit',
            tokenBucket: { qps: 5 },
            globalTokenBucket: { qps: 50, burst: 50 },
          },
          { name: 'zero', maxRequestsInflight: { max: 0 } },
          { name: 'both', exempt: {}, tokenBucket: { qps: 1, burst: 1 } },
          { name: 'shared', exempt: {} },
          { name: 'unused', exempt: {} },
        ],
      },
      dispatchPolicies: [
        {
          rules: [
            { ...ALL, verbs: ['get'] },
            { ...ALL, verbs: ['list'] },
          ],
          flowControlSchemaName: 'shared',
        },
        { rules: [{ ...ALL, verbs: ['watch'] }], flowControlSchemaName: 'global' },
        { rules: [{ ...ALL, verbs: ['create'] }], flowControlSchemaName: 'zero' },
        { rules: [ALL], flowControlSchemaName: 'both' },
      ],
    }),
  );
  const s = 'spec.flowControl.flowControlSchemas';
  assert.deepEqual(
    t.unsupported.map((u) => u.path),
    [
      `${s}[1].globalTokenBucket`,
      `${s}[1].strategy`,
      `${s}[1].tokenBucket.burst`,
      `${s}[2].maxRequestsInflight.max`,
      `${s}[3].tokenBucket`,
      `${s}[4].name`,
      `${s}[0]`,
    ],
  );
  assert.match(t.unsupported[6].reason, /policy-0-rule-0, policy-0-rule-1/);
  assert.deepEqual(
    (t.spec.rules ?? []).map((r) => [r.name, r.limits]),
    [
      ['policy-0-rule-0', { qps: 5, burst: 10 }],
      ['policy-0-rule-1', { qps: 5, burst: 10 }],
      ['policy-1-rule-0', { qps: 5 }],
      ['policy-2-rule-0', undefined],
      ['policy-3-rule-0', undefined],
    ],
  );
  assert.ok(
    t.notes.some((n) => n.path === `${s}[5]`),
    'the unused schema is noted',
  );
});

test('per-cluster and per-policy access-log switches are reported only when they turn logging off', () => {
  assert.deepEqual(paths(cluster({ logging: { mode: 'on' } })), []);
  assert.deepEqual(paths(cluster({ logging: { mode: 'off' } })), ['spec.logging.mode']);
  assert.deepEqual(paths(cluster({ dispatchPolicies: [{ rules: [ALL], logMode: 'loud' }] })), [
    'spec.dispatchPolicies[0].logMode',
  ]);
});

test('secure serving: the object name and serverNames become hosts, and the serving pair is presented for them', () => {
  const t = translateKubeGatewayCluster(
    cluster({
      secureServing: {
        serverNames: ['Alias.Example.com', 'c.example.com', '10.0.0.9', '*.wild.example.com', 'not a name'],
        certData: PEM_CERT,
        keyData: PEM_KEY,
        clientCAData: PEM_CA,
      },
    }),
  );
  // KubeGateway looks names up in lower case; the object's own name comes first, duplicates once.
  assert.deepEqual(t.spec.hosts, ['c.example.com', 'alias.example.com']);
  assert.deepEqual(t.spec.serving, {
    secretRef: { namespace: 'kubegate-system', name: 'c-example-com-serving' },
  });
  assert.deepEqual(
    t.unsupported.map((u) => u.path),
    [
      'spec.secureServing.serverNames[2]', // an address: a listener bound to it serves it
      'spec.secureServing.serverNames[4]', // not a DNS name
    ],
  );
  assert.match(t.unsupported[0].reason, /listener bound to it/);
  const wild = t.notes.find((n) => n.path === 'spec.secureServing.serverNames[3]');
  assert.match(
    wild?.message ?? '',
    /literally/,
    'a `*.` name matched nothing in KubeGateway: noted, not listed',
  );
  const serving = kubeGatewaySecrets(t).find((s) => s.metadata.name === 'c-example-com-serving');
  assert.deepEqual(serving?.stringData, {
    'tls.crt': t.materials.servingCert,
    'tls.key': t.materials.servingKey,
  });
  assert.match(t.materials.servingCert ?? '', /BEGIN CERTIFICATE/);
});

test('secure serving: half a serving pair is reported and not kept', () => {
  const t = translateKubeGatewayCluster(
    cluster({
      secureServing: { serverNames: ['alias.example.com'], certData: PEM_CERT, clientCAData: PEM_CA },
    }),
  );
  assert.deepEqual(
    t.unsupported.map((u) => u.path),
    ['spec.secureServing.certData'],
  );
  assert.equal(t.materials.servingCert, undefined, 'a certificate without its key is not kept');
  assert.equal(t.spec.serving, undefined);
  assert.deepEqual(t.spec.hosts, ['c.example.com', 'alias.example.com']);
  assert.deepEqual(t.spec.clientCA?.secretRef, {
    namespace: 'kubegate-system',
    name: 'c-example-com-client-ca',
  });
});

test('an object named by an address is served by a listener; its serving pair needs a server name', () => {
  const byAddress = (secureServing: Record<string, unknown>) =>
    translateKubeGatewayCluster(cluster({ secureServing }, { name: '10.0.0.5' }));
  const alone = byAddress({ certData: PEM_CERT, keyData: PEM_KEY });
  assert.equal(alone.spec.hosts, undefined, 'SNI never carries an address');
  assert.equal(alone.spec.serving, undefined);
  assert.deepEqual(
    alone.unsupported.map((u) => u.path),
    ['spec.secureServing.certData', 'spec.secureServing.keyData'],
  );
  assert.match(
    alone.notes.find((n) => n.path === 'metadata.name')?.message ?? '',
    /listener bound to that address/,
  );
  const named = byAddress({ certData: PEM_CERT, keyData: PEM_KEY, serverNames: ['api.example.com'] });
  assert.deepEqual(named.spec.hosts, ['api.example.com']);
  assert.deepEqual(named.spec.serving?.secretRef.name, '10-0-0-5-serving');
  assert.deepEqual(named.unsupported, []);
});

test('users and service accounts, one test in KubeGateway, become one kubegate field', () => {
  const match = (rule: Record<string, unknown>) =>
    translateKubeGatewayCluster(cluster({ dispatchPolicies: [{ rules: [{ ...ALL, ...rule }] }] })).spec
      .rules?.[0];
  const sa = { namespace: 'kube-system', name: 'job-controller' };
  assert.deepEqual(match({ serviceAccounts: [sa] })?.match?.serviceAccounts, ['kube-system:job-controller']);
  assert.deepEqual(match({ users: ['bob'], serviceAccounts: [sa] })?.match?.users, [
    'bob',
    'system:serviceaccount:kube-system:job-controller',
  ]);
  assert.deepEqual(match({ users: ['-bob'], serviceAccounts: [sa] })?.exclude, { users: ['bob'] });
  assert.equal(
    match({ users: ['-system:serviceaccount:kube-system:job-controller'], serviceAccounts: [sa] })?.exclude,
    undefined,
  );
  assert.equal(match({ serviceAccounts: [{ name: 'x' }] }), undefined, 'matches nobody: no rule');
});
