import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer } from '../../../src/upstream/balancers/index.ts';
import type { Endpoint } from '../../../src/upstream/endpoint.ts';
import { DEFAULT_HEALTH_CHECK } from '../../../src/upstream/health-check.ts';
import { Upstream } from '../../../src/upstream/upstream.ts';

test('an endpoint ejected after a failed connect is reported like a health-check change, once', () => {
  const changes: { name: string; healthy: boolean; cause: string | null }[] = [];
  const upstream = new Upstream(
    [
      { name: 'a', url: 'https://127.0.0.1:1' },
      { name: 'b', url: 'https://127.0.0.1:2' },
    ],
    createBalancer('round-robin'),
    {
      tls: { ca: '' },
      pingIntervalMs: 30_000,
      health: DEFAULT_HEALTH_CHECK,
      onChange: (ep: Endpoint) => changes.push({ name: ep.name, healthy: ep.healthy, cause: ep.ejectedFor }),
    },
  );
  try {
    for (const ep of upstream.endpoints) ep.admit();
    const [a] = upstream.endpoints;
    upstream.eject(a);
    upstream.eject(a); // already out: nothing more to say
    assert.deepEqual(changes, [{ name: 'a', healthy: false, cause: 'connect-error' }]);
  } finally {
    upstream.close();
  }
});
