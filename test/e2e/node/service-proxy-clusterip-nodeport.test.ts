// `kubegate node` in every node of the dev cluster (`kubegate dev --node-networking`): a ClusterIP
// reaches pods on both nodes, a NodePort answers on a node address, a Service without endpoints is
// refused at once, and an lc scheduler annotation becomes a Warning Event naming the field.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { devDir } from '../env.ts';
import {
  apply,
  createNamespace,
  deleteNamespace,
  k,
  kubectlRun,
  pod,
  waitFor,
  waitPodReady,
} from '../podlet/pods.ts';

const state = JSON.parse(readFileSync(join(devDir(), 'state.json'), 'utf8')) as {
  nodeNetworking?: boolean;
  nodes: { name: string; internalIP: string; netns: string }[];
};
const run = promisify(execFile);
const skip = state.nodeNetworking === true ? false : 'the dev cluster runs without --node-networking';

let ns = '';
before(async () => {
  if (skip) return;
  ns = await createNamespace('node-svc');
  const server = (name: string, node: string) => ({
    ...pod(name, ['/agnhost', 'netexec', '--http-port=8080'], { node }),
    metadata: { name, namespace: ns, labels: { app: 'web' } },
  });
  await apply(
    server('web-1', 'node-1'),
    server('web-2', 'node-2'),
    {
      ...pod('client', ['/agnhost', 'netexec', '--http-port=8081'], { node: 'node-1' }),
      metadata: { name: 'client', namespace: ns },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns, annotations: { 'kube-router.io/service.scheduler': 'lc' } },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nobody', namespace: ns },
      spec: { selector: { app: 'nobody' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  );
  for (const p of ['web-1', 'web-2', 'client']) await waitPodReady(ns, p, 90_000);
});
after(async () => {
  if (ns) await deleteNamespace(ns);
});

let clientIP = '';

/**
 * Who answers `target` when the client pod asks: the client's netexec `/dial` makes the request from
 * inside the pod (as the upstream e2e does) and returns the server's hostname.
 */
async function hostname(target: string): Promise<string> {
  clientIP ||= (await k(['-n', ns, 'get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}'])).trim();
  const [host, port] = target.split(':');
  const url = `http://${clientIP}:8081/dial?request=hostname&protocol=http&host=${host}&port=${port}&tries=1`;
  const netns = state.nodes.find((n) => n.name === 'node-1')!.netns;
  try {
    const { stdout } = await run('ip', ['netns', 'exec', netns, 'curl', '-s', '-m', '5', url], {
      timeout: 10_000,
    });
    const r = JSON.parse(stdout) as { responses?: string[]; errors?: string[] };
    return r.responses?.[0] ?? `error: ${r.errors?.join(', ')}`;
  } catch (err) {
    return `error: ${(err as Error).message} ${(err as { code?: unknown }).code} ${(err as { stdout?: string }).stdout}`;
  }
}

test('a ClusterIP reaches the pods on both nodes', { skip, timeout: 180_000 }, async () => {
  const ip = (await k(['-n', ns, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const seen = new Set<string>();
  await waitFor(
    async () => {
      seen.add(await hostname(`${ip}:80`));
      return seen.has('web-1') && seen.has('web-2');
    },
    60_000,
    `both pods behind ${ip}:80`,
  ).catch((err: Error) => assert.fail(`${err.message} (seen: ${[...seen].join(', ')})`));
});

test('a NodePort answers on a node address', { skip, timeout: 120_000 }, async () => {
  const port = (
    await k(['-n', ns, 'get', 'service', 'web', '-o', 'jsonpath={.spec.ports[0].nodePort}'])
  ).trim();
  const node2 = state.nodes.find((n) => n.name === 'node-2')!.internalIP;
  let last = '';
  await waitFor(
    async () => ['web-1', 'web-2'].includes((last = await hostname(`${node2}:${port}`))),
    60_000,
    `NodePort ${node2}:${port}`,
  ).catch((err: Error) => assert.fail(`${err.message} (last: ${last})`));
});

test('a Service without endpoints is refused at once', { skip, timeout: 60_000 }, async () => {
  const ip = (await k(['-n', ns, 'get', 'service', 'nobody', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  const started = Date.now();
  const r = await kubectlRun('gateway.kubeconfig', [
    '-n', ns, 'exec', 'client', '--', '/agnhost', 'connect', `${ip}:80`, '--timeout=5s',
  ]); // prettier-ignore
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout.toString(), /REFUSED|refused/);
  assert.ok(Date.now() - started < 4500, 'refused, not timed out');
});

test(
  'the lc scheduler is refused with a Warning Event naming the annotation',
  { skip, timeout: 60_000 },
  async () => {
    let events = '';
    await waitFor(
      async () => {
        events = await k([
          '-n',
          ns,
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=web',
          '-o',
          'json',
        ]);
        return events.includes('kube-router.io/service.scheduler');
      },
      30_000,
      'an Event on Service web',
    );
    assert.match(events, /"type": "Warning"/);
    assert.match(events, /lc needs per-connection counts/);
  },
);
