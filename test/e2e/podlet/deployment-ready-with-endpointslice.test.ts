import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AGNHOST, createNamespace, deleteNamespace, k, waitFor } from './pods.ts';

let ns = '';
before(async () => {
  ns = await createNamespace('podlet-deploy');
});
after(async () => {
  await deleteNamespace(ns);
});

test(
  'a Deployment of 3 agnhost netexec pods becomes Ready and its EndpointSlice lists the 3 pod IPs',
  { timeout: 180_000 },
  async () => {
    await k([
      '-n',
      ns,
      'create',
      'deployment',
      'web',
      `--image=${AGNHOST}`,
      '--replicas=3',
      '--port=8080',
      '--',
      '/agnhost',
      'netexec',
      '--http-port=8080',
    ]);
    await k(['-n', ns, 'expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    await k(['-n', ns, 'rollout', 'status', 'deployment/web', '--timeout=120s']);
    const pods = JSON.parse(await k(['-n', ns, 'get', 'pods', '-l', 'app=web', '-o', 'json'])) as {
      items: { status: { podIP: string; phase: string; hostIP: string }; spec: { nodeName: string } }[];
    };
    assert.equal(pods.items.length, 3);
    const ips = pods.items.map((p) => p.status.podIP).sort();
    for (const p of pods.items) {
      assert.equal(p.status.phase, 'Running');
      assert.match(p.status.podIP, /^10\.244\.\d+\.\d+$/);
      assert.match(p.status.hostIP, /^10\.250\.0\.\d+$/);
    }
    assert.equal(new Set(ips).size, 3, 'each pod has an address of its own');
    let sliceIPs: string[] = [];
    await waitFor(
      async () => {
        const slices = JSON.parse(
          await k(['-n', ns, 'get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json']),
        ) as {
          items: { endpoints?: { addresses: string[]; conditions: { ready: boolean } }[] }[];
        };
        sliceIPs = slices.items
          .flatMap((s) => s.endpoints ?? [])
          .filter((e) => e.conditions.ready)
          .flatMap((e) => e.addresses)
          .sort();
        return sliceIPs.length === 3;
      },
      30_000,
      'the EndpointSlice to list 3 ready endpoints',
    );
    assert.deepEqual(sliceIPs, ips);
  },
);
