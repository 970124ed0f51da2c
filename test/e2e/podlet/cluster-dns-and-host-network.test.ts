// Cluster DNS of `kubegate dev` (`kubegate dns` in every node, written into each pod's resolv.conf
// by the podlet) seen from inside pods with glibc's resolver, and a host-network pod: it shares the
// node's namespace and address.
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
} from './pods.ts';

const run = promisify(execFile);
const state = JSON.parse(readFileSync(join(devDir(), 'state.json'), 'utf8')) as {
  nodeNetworking?: boolean;
  nodes: { name: string; internalIP: string; netns: string }[];
};
const node1 = state.nodes.find((n) => n.name === 'node-1')!;

let ns = '';
let clusterIP = '';
before(async () => {
  ns = await createNamespace('dns');
  await apply(
    {
      ...pod('web', ['/agnhost', 'netexec', '--http-port=8080'], { node: 'node-2' }),
      metadata: { name: 'web', namespace: ns, labels: { app: 'web' } },
    },
    {
      ...pod('client', ['/agnhost', 'pause'], { node: 'node-1' }),
      metadata: { name: 'client', namespace: ns },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-headless', namespace: ns },
      spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 8080 }] },
    },
  );
  for (const p of ['web', 'client']) await waitPodReady(ns, p, 90_000);
  clusterIP = (await k(['-n', ns, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
});
after(async () => {
  if (ns) await deleteNamespace(ns);
});

async function exec(podName: string, ...cmd: string[]): Promise<{ code: number; out: string }> {
  const r = await kubectlRun('gateway.kubeconfig', ['-n', ns, 'exec', podName, '--', ...cmd], {
    timeoutMs: 45_000,
  });
  return { code: r.code, out: r.stdout.toString() + r.stderr };
}

test("a pod's resolv.conf names the node's DNS and the namespace's search path", async () => {
  const { out } = await exec('client', 'cat', '/etc/resolv.conf');
  assert.match(
    out,
    new RegExp(`^search ${ns}\\.svc\\.cluster\\.local svc\\.cluster\\.local cluster\\.local`, 'm'),
  );
  assert.match(out, new RegExp(`^nameserver ${node1.internalIP.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(out, /^options ndots:5$/m);
});

test('a Service name resolves inside a pod, short and fully qualified, and a missing one does not', async () => {
  // With --node-networking a new pod's traffic, to its node's DNS too, is closed until the node
  // agent has programmed its address; on a loaded machine that can trail the pod's Ready.
  let short = { code: -1, out: '' };
  await waitFor(
    async () => {
      short = await exec('client', 'getent', 'hosts', 'web');
      return short.code === 0;
    },
    90_000,
    'the first answer of cluster DNS inside the pod',
  ).catch((err: Error) => assert.fail(`${err.message}; last: ${short.code} ${short.out}`));
  assert.match(short.out, new RegExp(`^${clusterIP.replaceAll('.', '\\.')}\\s`, 'm'));
  const fq = await exec('client', 'getent', 'hosts', `web.${ns}.svc.cluster.local`);
  assert.match(fq.out, new RegExp(`^${clusterIP.replaceAll('.', '\\.')}\\s`, 'm'));
  const webIP = (await k(['-n', ns, 'get', 'pod', 'web', '-o', 'jsonpath={.status.podIP}'])).trim();
  // The headless Service's EndpointSlice is written by kube-controller-manager on its own, and may
  // come after the other Service's: the name is answered once cluster DNS has seen it.
  let headless = { code: -1, out: '' };
  await waitFor(
    async () => {
      headless = await exec('client', 'getent', 'hosts', 'web-headless');
      return headless.code === 0;
    },
    30_000,
    'the headless Service name inside the pod',
  ).catch((err: Error) => assert.fail(`${err.message}; last: ${headless.code} ${headless.out}`));
  assert.match(headless.out, new RegExp(`^${webIP.replaceAll('.', '\\.')}\\s`, 'm'));
  // Absolute (trailing dot): one question, answered NXDOMAIN, without walking the search path.
  const missing = await exec('client', 'getent', 'hosts', `no-such-service.${ns}.svc.cluster.local.`);
  assert.equal(missing.code, 2, missing.out); // getent: key not found
});

test(
  'the pod reaches a Service by name',
  { skip: state.nodeNetworking !== true && 'no --node-networking' },
  async () => {
    // The node agents program the Service moments after its endpoint turns ready; on a loaded machine
    // that can trail the pod's Ready condition, so ask until it answers.
    let answer = '';
    await waitFor(
      async () => {
        answer = (await exec('client', 'curl', '-s', '-m', '3', 'http://web/hostname')).out.trim();
        return answer === 'web';
      },
      30_000,
      'the Service web by name from the client pod',
    ).catch((err: Error) => assert.fail(`${err.message}; last answer: ${JSON.stringify(answer)}`));
  },
);

test("a host-network pod runs in the node's namespace with the node's address and name", async () => {
  const onHost = pod('on-host', ['/agnhost', 'netexec', '--http-port=18080', '--udp-port=-1'], {
    node: 'node-1',
  }) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  onHost.metadata.namespace = ns;
  onHost.spec.hostNetwork = true;
  await apply(onHost);
  const p = await waitPodReady(ns, 'on-host', 90_000);
  assert.equal(p.status?.podIP, node1.internalIP);
  // Ready has no probe to wait for: the server may still be binding.
  let hostname = '';
  await waitFor(
    async () => {
      const url = `http://${node1.internalIP}:18080/hostname`;
      const r = await run('ip', ['netns', 'exec', node1.netns, 'curl', '-s', '-m', '2', url], {
        timeout: 5000,
      }).catch(() => ({ stdout: '' }));
      hostname = r.stdout.trim();
      return hostname !== '';
    },
    30_000,
    "the host-network pod's server on the node's address",
  );
  assert.equal(hostname, 'node-1');
  // It keeps the node's resolver configuration (dnsPolicy ClusterFirst on the host network).
  const { out } = await exec('on-host', 'cat', '/etc/resolv.conf');
  assert.doesNotMatch(out, /svc\.cluster\.local/);
});
