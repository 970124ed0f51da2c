import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeClient } from '../../src/kube/client.ts';
import { devDir, devState } from './env.ts';
import { OwnGateway } from './own-gateway.ts';

// kubegate_config_reloads_total and kubegate_config_info for UpstreamCluster objects: an accepted
// change is a success and moves the hash, a rejected object version is a failure and moves
// nothing. Other tests' objects are served by this gateway too, so counts are compared as deltas.
const NS = `kg-metrics-uc-${process.pid}`;
const NAME = `metrics-uc-${process.pid}`;
const UC = `/apis/kubegate.io/v1alpha1/upstreamclusters/${NAME}`;
let gw: OwnGateway;
let admin: KubeClient;

function spec(rules: unknown[]) {
  return {
    endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })),
    upstreamCA: { secretRef: { namespace: NS, name: 'upstream-ca' } },
    credentials: { secretRef: { namespace: NS, name: 'gateway-credentials' } },
    healthCheck: { intervalSeconds: 1, timeoutSeconds: 1 },
    rules,
  };
}

const rule = (name: string, upstream?: string[]) => ({ name, match: { resources: ['secrets'] }, upstream });

before(async () => {
  const pem = (f: string) => readFileSync(join(devDir(), 'pki', f), 'utf8');
  admin = new KubeClient({
    server: devState().apiservers[0],
    ca: pem('ca.crt'),
    cert: pem('admin.crt'),
    key: pem('admin.key'),
  });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await admin.apply('/api/v1/namespaces', { metadata: { name: NS } });
  await admin.apply(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: 'upstream-ca' },
    data: { 'ca.crt': b64(pem('ca.crt')) },
  } as never);
  await admin.apply(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: 'gateway-credentials' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(pem('gateway-upstream.crt')), 'tls.key': b64(pem('gateway-upstream.key')) },
  } as never);
  await admin.json('POST', '/apis/kubegate.io/v1alpha1/upstreamclusters', {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'UpstreamCluster',
    metadata: { name: NAME },
    spec: spec([rule('a')]),
  });
  gw = await OwnGateway.start({}, { crdCluster: NAME, admin: true });
});

after(async () => {
  await gw?.stop();
  await admin.raw('DELETE', UC);
  await admin.raw('DELETE', `/api/v1/namespaces/${NS}`);
  admin.close();
});

interface Reloads {
  success: number;
  failure: number;
  hash: string;
}

async function reloads(): Promise<Reloads> {
  const text = await (await fetch(`${gw.adminURL}/metrics`)).text();
  const n = (result: string) =>
    Number(
      new RegExp(
        `^kubegate_config_reloads_total\\{source="kubegate.io",result="${result}"\\} (\\d+)$`,
        'm',
      ).exec(text)?.[1] ?? NaN,
    );
  const hash =
    /^kubegate_config_info\{source="kubegate\.io",hash="([0-9a-f]{64})"\} 1$/m.exec(text)?.[1] ?? '';
  return { success: n('success'), failure: n('failure'), hash };
}

async function until(what: string, f: (r: Reloads) => boolean): Promise<Reloads> {
  const end = Date.now() + 10_000;
  for (;;) {
    const r = await reloads();
    if (f(r)) return r;
    if (Date.now() > end) assert.fail(`${what}: not within 10 s (${JSON.stringify(r)})`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

test('UpstreamCluster changes are counted: accepted ones as success with a new hash, rejected ones as failure', async () => {
  // The gateway answers before its UpstreamCluster source has synced once: wait for that first hash.
  const start = await until('the first UpstreamCluster sync', (r) => r.hash !== '');
  assert.ok(start.success >= 0 && start.failure >= 0, JSON.stringify(start));

  await admin.json('PATCH', UC, { spec: { rules: [rule('b')] } });
  const accepted = await until('a success', (r) => r.success > start.success && r.hash !== start.hash);

  await admin.json('PATCH', UC, { spec: { rules: [rule('c', ['no-such-endpoint'])] } });
  // Only "more than before": e2e files run in parallel and other tests' objects count here too.
  await until('a failure', (r) => r.failure > accepted.failure);
});
