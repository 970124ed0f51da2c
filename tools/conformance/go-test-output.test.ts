import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GoTestResults } from './go-test-output.ts';

// Shaped like the output of `gateway-api-conformance.test -test.v` with parallel subtests.
const OUTPUT = `=== RUN   TestGatewayAPIConformance
    conformance.go:110: Running conformance tests with:
=== RUN   TestGatewayAPIConformance/GatewayClassObservedGenerationBump
=== RUN   TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace
=== PAUSE TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace
=== RUN   TestGatewayAPIConformance/GRPCExactMethodMatching
    conformance.go:52: Skipping GRPCExactMethodMatching: suite does not support GRPCRoute
=== CONT  TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace
=== RUN   TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace/0_request_to_'/'_should_go_to_infra-backend-v1
--- PASS: TestGatewayAPIConformance (41.20s)
    --- PASS: TestGatewayAPIConformance/GatewayClassObservedGenerationBump (1.02s)
    --- SKIP: TestGatewayAPIConformance/GRPCExactMethodMatching (0.00s)
    --- FAIL: TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace (30.51s)
        --- FAIL: TestGatewayAPIConformance/HTTPRouteSimpleSameNamespace/0_request_to_'/'_should_go_to_infra-backend-v1 (30.50s)
--- PASS: TestNetnsDialerChild (0.00s)
FAIL
`;

describe('GoTestResults', () => {
  it('collects the direct subtests of the top-level test, not their request cases or other tests', () => {
    const r = new GoTestResults('TestGatewayAPIConformance');
    const finished = OUTPUT.split('\n').flatMap((l) => r.add(l) ?? []);
    assert.deepEqual(
      finished.map((t) => [t.name, t.result, t.seconds]),
      [
        ['GatewayClassObservedGenerationBump', 'PASS', 1.02],
        ['GRPCExactMethodMatching', 'SKIP', 0],
        ['HTTPRouteSimpleSameNamespace', 'FAIL', 30.51],
      ],
    );
    assert.equal(r.topResult, 'PASS');
    assert.deepEqual(r.named('FAIL'), ['HTTPRouteSimpleSameNamespace']);
    assert.equal(r.timedOut, false);
  });

  it('summarises counts first, then failed, passed and skipped names', () => {
    const r = new GoTestResults('TestGatewayAPIConformance');
    for (const l of OUTPUT.split('\n')) r.add(l);
    assert.equal(
      r.summary(),
      [
        '1 passed, 1 failed, 1 skipped (TestGatewayAPIConformance: PASS)',
        'failed:  HTTPRouteSimpleSameNamespace',
        'passed:  GatewayClassObservedGenerationBump',
        'skipped: GRPCExactMethodMatching',
      ].join('\n'),
    );
  });

  it('notices the panic of an expired -test.timeout and a run that reported nothing', () => {
    const r = new GoTestResults('TestGatewayAPIConformance');
    r.add('panic: test timed out after 30m0s');
    assert.equal(r.timedOut, true);
    assert.equal(r.summary(), '0 passed, 0 failed, 0 skipped (TestGatewayAPIConformance: no result)');
  });
});

describe('GoTestResults.topErrors', () => {
  it("keeps testify's message for a failure of the suite's setup, not for a conformance test's", () => {
    const r = new GoTestResults('TestGatewayAPIConformance');
    const lines = [
      '    helpers.go:329: ',
      '        \tError Trace:\tsigs.k8s.io/gateway-api/conformance@v1.7.0/utils/kubernetes/helpers.go:329',
      '        \t            \t\t\t\tsigs.k8s.io/gateway-api/conformance@v1.7.0/conformance.go:127',
      '        \tError:      \tReceived unexpected error:',
      '        \t            \tcontext deadline exceeded',
      '        \tTest:       \tTestGatewayAPIConformance',
      '        \tMessages:   \terror waiting for gateway-conformance-infra namespaces to be ready',
      '    apply.go:295: Deleting same-namespace Gateway',
      '        \tError:      \tNot equal',
      '        \tTest:       \tTestGatewayAPIConformance/HTTPRouteCORS',
      '--- FAIL: TestGatewayAPIConformance (44.95s)',
    ];
    for (const l of lines) r.add(l);
    r.finish();
    assert.deepEqual(r.topErrors, [
      [
        'Error:      \tReceived unexpected error:',
        'context deadline exceeded',
        'Messages:   \terror waiting for gateway-conformance-infra namespaces to be ready',
      ].join('\n'),
    ]);
  });
});
