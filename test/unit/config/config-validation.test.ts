import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, validateConfig } from '../../../src/config/config.ts';

const good = () => ({
  apiVersion: 'kubegate.io/v1alpha1',
  kind: 'GatewayConfiguration',
  listen: { port: 6443 },
  tls: { certFile: 'tls.crt', keyFile: 'tls.key', clientCAFile: 'ca.crt' },
  upstream: {
    endpoints: [{ name: 'a', url: 'https://10.0.0.1:6443' }],
    caFile: 'ca.crt',
    certFile: 'gw.crt',
    keyFile: 'gw.key',
  },
});

function fieldOf(doc: unknown): string {
  try {
    validateConfig(doc, '/etc/kubegate');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.field;
  }
  return '(accepted)';
}

test('a minimal configuration gets the documented defaults and absolute paths', () => {
  const c = validateConfig(good(), '/etc/kubegate');
  assert.equal(c.listen.address, '127.0.0.1');
  assert.equal(c.upstream.balancer, 'round-robin');
  assert.equal(c.upstream.healthCheck.path, '/readyz');
  assert.equal(c.requestTimeoutMs, 65_000);
  assert.equal(c.tls.certFile, '/etc/kubegate/tls.crt');
  assert.equal(c.authentication.anonymous, false);
});

test('each mistake is reported with its field path', () => {
  const cases: [string, (d: ReturnType<typeof good>) => unknown][] = [
    ['apiVersion', (d) => ({ ...d, apiVersion: 'v1' })],
    ['tls', (d) => ({ ...d, tls: undefined })],
    ['listen.port', (d) => ({ ...d, listen: { port: 70000 } })],
    ['listen.colour', (d) => ({ ...d, listen: { colour: 'red' } })],
    ['upstream.endpoints', (d) => ({ ...d, upstream: { ...d.upstream, endpoints: [] } })],
    [
      'upstream.endpoints[0].url',
      (d) => ({ ...d, upstream: { ...d.upstream, endpoints: [{ url: 'http://x' }] } }),
    ],
    [
      'upstream.endpoints[1].name',
      (d) => ({
        ...d,
        upstream: {
          ...d.upstream,
          endpoints: [
            { name: 'a', url: 'https://x:1' },
            { name: 'a', url: 'https://y:1' },
          ],
        },
      }),
    ],
    ['upstream.balancer', (d) => ({ ...d, upstream: { ...d.upstream, balancer: 'fastest' } })],
    ['upstream.healthCheck.rise', (d) => ({ ...d, upstream: { ...d.upstream, healthCheck: { rise: 0 } } })],
    ['upstream.keyFile', (d) => ({ ...d, upstream: { ...d.upstream, keyFile: undefined } })],
  ];
  for (const [field, mutate] of cases) assert.equal(fieldOf(mutate(good())), field);
});
