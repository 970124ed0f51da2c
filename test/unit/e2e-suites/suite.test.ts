import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameworkFlags, ginkgoFlags, specResults, summarize } from '../../../tools/e2e-suites/suite.ts';

test('a failed spec is named by its containers and leaf, with the first line of its failure', () => {
  const r = specResults([
    {
      SpecReports: [
        {
          ContainerHierarchyTexts: ['[sig-network] Netpol', 'NetworkPolicy between server and client'],
          LeafNodeText: "should support a 'default-deny-ingress' policy",
          LeafNodeType: 'It',
          State: 'failed',
          RunTime: 84e9,
          Failure: { Message: 'Had 6 wrong results in reachability matrix\nmore' },
        },
        {
          LeafNodeType: 'It',
          LeafNodeText: 'x',
          ContainerHierarchyTexts: ['A'],
          State: 'passed',
          RunTime: 1e9,
        },
        { LeafNodeType: 'It', LeafNodeText: 'y', ContainerHierarchyTexts: ['A'], State: 'skipped' },
      ],
    },
  ]);
  assert.deepEqual(r[0], {
    name: "[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy",
    state: 'failed',
    seconds: 84,
    reason: 'Had 6 wrong results in reachability matrix',
  });
  assert.deepEqual(summarize(r), { passed: 1, failed: 1, skipped: 1 });
});

test('a failed suite setup counts as a failure; a passed one is not a spec', () => {
  const r = specResults([
    {
      SpecReports: [
        { LeafNodeType: 'SynchronizedBeforeSuite', State: 'passed' },
        {
          LeafNodeType: 'SynchronizedBeforeSuite',
          State: 'timedout',
          Failure: { Message: 'nodes not ready' },
        },
      ],
    },
  ]);
  assert.equal(r.length, 1);
  assert.equal(r[0].state, 'failed');
  assert.equal(r[0].reason, 'nodes not ready');
});

test('the netpol judge skips only the SCTP connectivity cases and talks to the dev folder through kubegate', () => {
  const o = { suite: 'netpol' as const, devDir: '/d', workDir: '/w' };
  assert.ok(ginkgoFlags(o).includes('--skip=Feature:SCTPConnectivity'));
  assert.ok(frameworkFlags(o).includes('--kubeconfig=/d/gateway.kubeconfig'));
  assert.deepEqual(
    ginkgoFlags({ ...o, focus: 'only this' }).filter((f) => f.startsWith('--focus')),
    ['--focus=only this'],
  );
});
