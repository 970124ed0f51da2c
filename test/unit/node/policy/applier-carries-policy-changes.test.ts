// The compiled policy table through the agent's applier: pod churn, relabelling and policy edits
// become incremental transactions that nft accepts (interval sets included), and the kernel ends
// up holding what a whole replace of the last table would have written.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { addNetns, deleteNetns, runCommand } from '../../../../src/dev/lab/index.ts';
import { Applier, type AppliedTransaction } from '../../../../src/node/nft/apply.ts';
import { renderTables } from '../../../../src/node/nft/render.ts';
import { networkPolicyTables, type NetworkPolicy, type Pod } from '../../../../src/node/policy/index.ts';
import { basePods, input, pod, policy } from './fixture.ts';

const root = process.getuid?.() === 0;
const skip = !root && 'needs root (network namespaces)';
const incremental = `kgnpa${process.pid.toString(36)}-inc`;
const whole = `kgnpa${process.pid.toString(36)}-whole`;

before(async () => {
  if (!root) return;
  await addNetns(incremental);
  await addNetns(whole);
});
after(async () => {
  if (!root) return;
  await deleteNetns(incremental);
  await deleteNetns(whole);
});

const listing = (netns: string): Promise<string> =>
  runCommand('ip', ['netns', 'exec', netns, 'nft', 'list', 'table', 'inet', 'kubegate-policy']);

test(
  'policy and pod changes apply incrementally and leave what a whole replace writes',
  { skip },
  async () => {
    const txs: AppliedTransaction[] = [];
    const applier = new Applier({
      log: pino({ level: 'silent' }),
      nft: ['ip', 'netns', 'exec', incremental, 'nft'],
      driftCheckMs: 0,
      onTransaction: (t) => txs.push(t),
    });
    const fromB = policy('x/from-b', {
      podSelector: { matchLabels: { pod: 'a' } },
      ingress: [
        { from: [{ podSelector: { matchLabels: { pod: 'b' } } }], ports: [{ port: 'serve-80-tcp' }] },
      ],
    });
    const cidr = (except: string[]): NetworkPolicy =>
      policy('x/cidr', {
        podSelector: {},
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ from: [{ ipBlock: { cidr: '10.244.0.0/16', except } }] }],
        egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'serve-81-udp', protocol: 'UDP' }] }],
      });
    const newPod = pod('x/d', 'n1', '10.244.1.5', { labels: { pod: 'b' } });
    const relabelled = (pods: Pod[]): Pod[] =>
      pods.map((p) =>
        p.metadata.name === 'c' ? { ...p, metadata: { ...p.metadata, labels: { pod: 'b' } } } : p,
      );
    const steps: { policies: NetworkPolicy[]; pods: Pod[] }[] = [
      { policies: [], pods: basePods() },
      { policies: [fromB], pods: basePods() },
      { policies: [fromB], pods: [...basePods(), newPod] },
      { policies: [fromB], pods: relabelled([...basePods(), newPod]) },
      { policies: [fromB, cidr(['10.244.2.0/24'])], pods: relabelled([...basePods(), newPod]) },
      {
        policies: [fromB, cidr(['10.244.2.0/25', '10.244.1.4/32'])],
        pods: relabelled([...basePods(), newPod]),
      },
      { policies: [cidr(['10.244.2.0/25'])], pods: basePods() },
      { policies: [fromB], pods: basePods().filter((p) => p.metadata.name !== 'b') },
    ];
    let last = '';
    for (const step of steps) {
      const { tables } = networkPolicyTables(input('n1', step.policies, step.pods));
      await applier.apply({ tables });
      last = renderTables(tables);
    }
    assert.deepEqual(
      txs.map((t) => (t.kind === 'full' ? `full ${t.reason}` : t.kind)),
      ['full start', ...steps.slice(1).map(() => 'incremental')],
    );
    await runCommand('ip', ['netns', 'exec', whole, 'nft', '-f', '-'], last);
    assert.equal(await listing(incremental), await listing(whole));
  },
);
