// TrafficPolicy extAuth and a header-keyed localRateLimit through the real API server and a real
// Gateway: the ext-auth service is a podlet pod (a small node server behind a Service), the backend
// an echo pod; requests come from the lab's underlay.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { kubectl } from '../env.ts';
import { echoBackend, httpGateway } from './echo-objects.ts';
import { eventually, gatewayAddress, labRequest } from './lab-http.ts';

const HOST = 'extauth.example.com';
const ROUTE_REF = { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'extauth' };

// The ext-auth service: `Bearer good` is alice; anything else is refused with a challenge.
const AUTH_SERVER = `
require('node:http').createServer((q, s) => {
  if (q.url === '/healthz') return s.end('ok');
  if (!q.url.startsWith('/check/')) { s.writeHead(404); return s.end('not under /check'); }
  if (q.headers.authorization === 'Bearer good') {
    s.writeHead(200, { 'x-user': 'alice', 'x-seen-uri': q.headers['x-forwarded-uri'] || '' });
    return s.end();
  }
  s.writeHead(401, { 'www-authenticate': 'Bearer realm="e2e"', 'x-internal': 'hidden' });
  s.end('denied by the e2e ext-auth service');
}).listen(3000);
`;

const OBJECTS = [
  ...echoBackend('echo-extauth'),
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'ext-authz', namespace: 'default' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'ext-authz' } },
      template: {
        metadata: { labels: { app: 'ext-authz' } },
        spec: {
          containers: [
            {
              name: 'authz',
              // The podlet runs programs of this machine: the image only names the sandbox.
              image: 'registry.k8s.io/e2e-test-images/agnhost:2.53',
              command: [process.execPath, '-e', AUTH_SERVER],
              readinessProbe: { httpGet: { path: '/healthz', port: 3000 } },
            },
          ],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'ext-authz', namespace: 'default' },
    spec: { selector: { app: 'ext-authz' }, ports: [{ name: 'http', port: 9000, targetPort: 3000 }] },
  },
  httpGateway('extauth'),
  {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'extauth', namespace: 'default' },
    spec: {
      parentRefs: [{ name: 'extauth' }],
      hostnames: [HOST],
      rules: ['tenants', 'missing', 'rest'].map((name) => ({
        name,
        matches: [{ path: { type: 'PathPrefix', value: name === 'rest' ? '/' : `/${name}` } }],
        backendRefs: [{ name: 'echo-extauth', port: 8080 }],
      })),
    },
  },
  policy('ext-auth', {
    targetRefs: [{ ...ROUTE_REF, sectionName: 'rest' }],
    extAuth: {
      backendRef: { name: 'ext-authz', port: 9000 },
      pathPrefix: '/check',
      headersToBackend: ['x-user', 'x-seen-uri'],
    },
  }),
  policy('per-tenant', {
    targetRefs: [{ ...ROUTE_REF, sectionName: 'tenants' }],
    localRateLimit: { tokens: 2, fillInterval: '1m', key: { type: 'Header', header: 'x-tenant' } },
  }),
  policy('missing-authz', {
    targetRefs: [{ ...ROUTE_REF, sectionName: 'missing' }],
    extAuth: { backendRef: { name: 'no-such-authz', port: 9000 }, failOpen: true },
  }),
];

function policy(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'gateway.kubegate.io/v1alpha1',
    kind: 'TrafficPolicy',
    metadata: { name, namespace: 'default' },
    spec,
  };
}

async function condition(name: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const p = JSON.parse(
      await kubectl('gateway.kubeconfig', ['get', 'trafficpolicy', name, '-o', 'json']),
    ) as { status?: { ancestors?: { conditions: { reason: string; message: string }[] }[] } };
    const c = p.status?.ancestors?.[0]?.conditions[0];
    if (c !== undefined) return c;
    if (Date.now() > deadline) throw new Error(`TrafficPolicy ${name} has no status within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('extAuth asks a Service of pods before the backend, and a rate limit keyed by header keeps a bucket per tenant', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-ext-auth-'));
  const file = join(dir, 'objects.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: OBJECTS }));
  after(async () => {
    await kubectl('gateway.kubeconfig', ['delete', '-f', file, '--wait=false']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
  const address = await gatewayAddress('default', 'extauth');
  for (const d of ['echo-extauth', 'ext-authz'])
    await kubectl('gateway.kubeconfig', ['rollout', 'status', `deployment/${d}`, '--timeout=90s']);
  const url = (path: string) => `http://${address}${path}`;
  const host = { Host: HOST };

  // The service's denial reaches the client as it gave it.
  const denied = await eventually(url('/app?x=1'), host, (r) => r.status === 401);
  assert.equal(denied.headers['www-authenticate'], 'Bearer realm="e2e"');
  assert.equal(denied.headers['x-internal'], undefined);
  assert.equal(denied.body, 'denied by the e2e ext-auth service');

  // Allowed: the answer's headers replace the client's forged ones.
  const ok = await labRequest(url('/app?x=1'), {
    ...host,
    Authorization: 'Bearer good',
    'X-User': 'mallory',
  });
  assert.equal(ok.status, 200);
  const echoed = JSON.parse(ok.body) as { headers: Record<string, string[]>; pod: string };
  assert.match(echoed.pod, /^echo-extauth-/);
  assert.deepEqual(echoed.headers['X-User'], ['alice']);
  assert.deepEqual(echoed.headers['X-Seen-Uri'], ['/app?x=1']);

  // A reference to no Service is Invalid and closed, failOpen notwithstanding.
  const missing = await labRequest(url('/missing'), { ...host, Authorization: 'Bearer good' });
  assert.equal(missing.status, 403);
  const invalid = await condition('missing-authz');
  assert.equal(invalid.reason, 'Invalid');
  assert.match(invalid.message, /extAuth\.backendRef: Service default\/no-such-authz not found/);
  assert.equal((await condition('ext-auth')).reason, 'Accepted');

  // Two tokens a minute per x-tenant value; requests without it share one bucket.
  const statuses = async (n: number, headers: Record<string, string>) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await labRequest(url('/tenants'), { ...host, ...headers })).status);
    return out;
  };
  assert.deepEqual(await statuses(3, { 'X-Tenant': 'a' }), [200, 200, 429]);
  assert.deepEqual(await statuses(3, { 'X-Tenant': 'b' }), [200, 200, 429]);
  assert.deepEqual(await statuses(3, {}), [200, 200, 429]);
});
