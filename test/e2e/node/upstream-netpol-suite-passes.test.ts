import { test } from 'node:test';
import { runSuite } from './upstream-suite.ts';

// The judge of NetworkPolicy: the upstream Kubernetes NetworkPolicy e2e (test/e2e/network/netpol,
// v1.37.2) against this run's cluster, where `kubegate node` runs in every node. Every case but
// the SCTP ones (this kernel has no SCTP) must pass; it probes with `kubectl exec … agnhost connect`
// to each pod's Service, so the Service proxy is judged too.
test('the upstream NetworkPolicy e2e suite passes (all but SCTP)', { timeout: 30 * 60_000 }, async (t) => {
  // 3 processes pass the TCP cases in about 12 minutes; a case that cannot converge (its probes
  // retried) must not hold CI longer than this.
  t.diagnostic(await runSuite('netpol', 25));
});
