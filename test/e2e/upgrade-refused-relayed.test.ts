import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loggedLines } from './access-lines.ts';
import { devDir, jsonLines, kubectl } from './env.ts';
import { UNSCHEDULABLE } from './unschedulable.ts';

// The apiserver refuses exec and port-forward upgrades to a pod without a node (kubectl checks
// port-forward itself, so exec is the case); the pod's nodeSelector matches no node of the dev
// cluster, so it stays unscheduled. The gateway must relay that answer as it came, so kubectl prints the same error.
const NS = `upgrade-${process.pid}`;

async function stderrOf(kc: string, args: string[]): Promise<string> {
  try {
    await kubectl(kc, args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

before(async () => {
  await kubectl('gateway.kubeconfig', ['create', 'namespace', NS]);
  // The controller-manager creates the namespace's default ServiceAccount a moment later.
  for (let i = 0; i < 100; i++) {
    if (
      await kubectl('gateway.kubeconfig', ['-n', NS, 'get', 'serviceaccount', 'default']).then(
        () => true,
        () => false,
      )
    )
      break;
    await sleep(200);
  }
  await kubectl('gateway.kubeconfig', [
    '-n',
    NS,
    'run',
    'box',
    '--image=busybox',
    '--restart=Never',
    UNSCHEDULABLE,
  ]);
});

for (const args of [
  ['exec', 'box', '--', 'true'],
  ['exec', '-i', 'box', '--', 'cat'],
]) {
  test(`kubectl ${args.join(' ')}: a refused upgrade reaches the client as the apiserver sent it`, async () => {
    const direct = await stderrOf('apiserver-0.kubeconfig', ['-n', NS, ...args]);
    const viaGateway = await stderrOf('gateway.kubeconfig', ['-n', NS, ...args]);
    assert.match(direct, /host|node/i, direct);
    assert.equal(viaGateway.replaceAll(/:\d{4,5}\b/g, ':PORT'), direct.replaceAll(/:\d{4,5}\b/g, ':PORT'));
  });
}

test('the access log records upgrade requests with their RequestInfo and status', async () => {
  // At least one line for each kubectl exec through the gateway above (the last may still be on its way).
  const lines = (await loggedLines(
    () => jsonLines(join(devDir(), 'logs', 'kubegate.log')),
    (l) =>
      l.kind === 'access' &&
      typeof l.uri === 'string' &&
      l.uri.startsWith(`/api/v1/namespaces/${NS}/pods/box/exec`),
    { count: 2 },
  )) as { status: number; resource: { subresource: string }; user: { username: string } }[];
  assert.ok(lines.length > 0);
  for (const l of lines) {
    assert.equal(l.resource.subresource, 'exec');
    assert.equal(l.user.username, 'kubegate-admin');
    assert.ok(l.status >= 400, `status ${l.status}`);
  }
});
