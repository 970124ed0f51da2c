import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { kubectl } from '../env.ts';
import { eventually, gatewayAddress } from './lab-http.ts';

const EXAMPLE = fileURLToPath(new URL('../../../examples/gateway-api/', import.meta.url));

interface Echo {
  path: string;
  host: string;
  namespace: string;
  pod: string;
  headers: Record<string, string[]>;
}

test('the Gateway API example: applied as the README says, served on its Gateway address by the echo pods', async () => {
  after(() =>
    kubectl('gateway.kubeconfig', ['delete', '-f', EXAMPLE, '--wait=false']).catch(() => undefined),
  );
  await kubectl('gateway.kubeconfig', ['apply', '-f', EXAMPLE]);
  const address = await gatewayAddress('default', 'example');
  assert.match(address, /^10\.250\.2\.\d+$/);
  await kubectl('gateway.kubeconfig', ['rollout', 'status', 'deployment/echo', '--timeout=90s']);

  const host = { Host: 'echo.example.com' };
  const seen = new Set<string>();
  for (let i = 0; i < 20 && seen.size < 2; i++) {
    const r = await eventually(`http://${address}/some/path?x=1`, host, (x) => x.status === 200);
    const echo = JSON.parse(r.body) as Echo;
    assert.equal(echo.namespace, 'default');
    assert.equal(echo.path, '/some/path?x=1');
    assert.equal(echo.host, 'echo.example.com');
    assert.deepEqual(echo.headers['X-Served-By'], ['kubegate']);
    assert.match(echo.pod, /^echo-/);
    seen.add(echo.pod);
  }
  assert.equal(seen.size, 2, 'both echo pods answer');

  const redirect = await eventually(`http://${address}/old/page`, host, (x) => x.status === 302);
  assert.equal(redirect.headers.location, 'http://echo.example.com/new/page');

  const other = await eventually(
    `http://${address}/`,
    { Host: 'other.example.com' },
    (x) => x.status === 404,
  );
  assert.equal(other.status, 404);

  const route = JSON.parse(
    await kubectl('gateway.kubeconfig', ['get', 'httproute', 'echo', '-o', 'json']),
  ) as {
    status: { parents: { controllerName: string; conditions: { type: string; status: string }[] }[] };
  };
  const parent = route.status.parents.find((p) => p.controllerName === 'kubegate.io/gateway-controller');
  assert.ok(parent, 'the route has kubegate as a parent');
  for (const t of ['Accepted', 'ResolvedRefs'])
    assert.equal(parent.conditions.find((c) => c.type === t)?.status, 'True', `${t} is True`);
  const gw = JSON.parse(await kubectl('gateway.kubeconfig', ['get', 'gateway', 'example', '-o', 'json'])) as {
    status: { listeners: { name: string; attachedRoutes: number }[] };
  };
  assert.equal(gw.status.listeners.find((l) => l.name === 'http')?.attachedRoutes, 1);
});
