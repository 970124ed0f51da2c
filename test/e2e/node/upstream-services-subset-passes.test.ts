import { test } from 'node:test';
import { runSuite } from './upstream-suite.ts';

// The upstream Kubernetes Services e2e cases that need only ClusterIP/NodePort reachability from
// pods (tools/e2e-suites/suite.ts names them), against this run's cluster, where `kubegate node`
// programs Services in every node: they reach Services by name (cluster DNS) and from host-network
// pods, as on a real node.
test('the upstream Services e2e subset passes', { timeout: 20 * 60_000 }, async (t) => {
  t.diagnostic(await runSuite('services', 15));
});
