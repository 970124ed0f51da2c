import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { k, kubectlRun, waitFor } from '../podlet/pods.ts';

const EXAMPLE = fileURLToPath(new URL('../../../examples/node-networking/', import.meta.url));
const NS = 'netpol-demo';

after(async () => {
  await kubectlRun('gateway.kubeconfig', ['delete', 'namespace', NS, '--wait=false']);
});

/** `kubectl exec <pod> -- /agnhost connect <ip>:80`, as the README runs it: true when it opened. */
async function opens(pod: string, ip: string): Promise<boolean> {
  const r = await kubectlRun('gateway.kubeconfig', [
    '-n', NS, 'exec', pod, '--', '/agnhost', 'connect', `${ip}:80`, '--timeout=3s',
  ]); // prettier-ignore
  return r.code === 0;
}

// examples/node-networking/README.md, step by step, on the shared cluster (kubegate node in every
// node): both clients reach the web Service's ClusterIP, the policy then admits only the frontend,
// and relabelling the stranger lets it in with no change to the policy.
test('the node-networking example behaves as its README says', { timeout: 180_000 }, async () => {
  await k(['apply', '-f', `${EXAMPLE}web.yaml`, '-f', `${EXAMPLE}clients.yaml`]);
  await k(['-n', NS, 'wait', '--for=condition=Ready', 'pod', '--all', '--timeout=90s']);
  const ip = (await k(['-n', NS, 'get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  assert.match(ip, /^10\.96\./);
  await waitFor(
    async () => (await opens('frontend', ip)) && (await opens('stranger', ip)),
    30_000,
    'both clients open',
  );

  await k(['apply', '-f', `${EXAMPLE}policy.yaml`]);
  await waitFor(async () => !(await opens('stranger', ip)), 10_000, 'the stranger closed by the policy');
  assert.equal(await opens('frontend', ip), true, 'the frontend still reaches the web pods');

  await k(['-n', NS, 'label', 'pod', 'stranger', 'role=frontend', '--overwrite']);
  await waitFor(() => opens('stranger', ip), 10_000, 'the relabelled stranger let in');
});
