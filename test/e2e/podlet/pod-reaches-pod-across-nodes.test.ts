import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apply, createNamespace, deleteNamespace, kubectlRun, pod, waitPodReady } from './pods.ts';

let ns = '';
before(async () => {
  ns = await createNamespace('podlet-net');
});
after(async () => {
  await deleteNamespace(ns);
});

test(
  'a pod on node-1 reaches a pod on node-2 over HTTP, through the node namespaces and the underlay',
  { timeout: 120_000 },
  async () => {
    await apply(
      {
        ...pod('server', ['/agnhost', 'netexec', '--http-port=8080'], { node: 'node-2' }),
        metadata: { name: 'server', namespace: ns },
      },
      {
        ...pod('client', ['/agnhost', 'pause'], { node: 'node-1' }),
        metadata: { name: 'client', namespace: ns },
      },
    );
    const server = await waitPodReady(ns, 'server');
    const client = await waitPodReady(ns, 'client');
    assert.equal(server.spec.nodeName, 'node-2');
    assert.equal(client.spec.nodeName, 'node-1');
    assert.notEqual(server.status.hostIP, client.status.hostIP);
    // agnhost connect is what the upstream NetworkPolicy e2e probes with.
    const r = await kubectlRun('gateway.kubeconfig', [
      '-n',
      ns,
      'exec',
      'client',
      '--',
      '/agnhost',
      'connect',
      `${server.status.podIP}:8080`,
      '--timeout=5s',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const echo = await kubectlRun('gateway.kubeconfig', [
      '-n',
      ns,
      'exec',
      'server',
      '--',
      '/agnhost',
      'connect',
      `${client.status.podIP}:81`,
      '--timeout=3s',
    ]);
    assert.notEqual(echo.code, 0, 'a closed port is refused, not silently accepted');
    // The server sees the client's own pod IP: no address translation between nodes.
    const hostname = await kubectlRun('gateway.kubeconfig', [
      '-n',
      ns,
      'exec',
      'client',
      '--',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/${server.status.podIP}/8080; printf 'GET /clientip HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`,
    ]);
    assert.equal(hostname.code, 0, hostname.stderr);
    assert.match(
      hostname.stdout.toString(),
      new RegExp(`${client.status.podIP!.replace(/\./g, '\\.')}:\\d+`),
    );
  },
);
