import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stampDeep } from '../../../../src/gatewayapi/controller/conditions.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-02-02T00:00:00Z';
const OURS = 'kubegate.io/gateway-controller';
const THEIRS = 'example.net/other-controller';

function ancestor(name: string, controllerName: string, status: string, lastTransitionTime?: string) {
  return {
    ancestorRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'infra', name },
    controllerName,
    conditions: [{ type: 'Accepted', status, reason: 'Accepted', message: '', lastTransitionTime }],
  };
}

test('policy ancestors pair by ancestorRef and controller, not by position', () => {
  const prev = { ancestors: [ancestor('a', THEIRS, 'True', T0), ancestor('a', OURS, 'True', T0)] };
  // Ours first now, and another controller's entry for the same Gateway carried as it was.
  const next = { ancestors: [ancestor('a', OURS, 'True'), ancestor('b', OURS, 'False'), prev.ancestors[0]] };
  const stamped = stampDeep(next, prev, T1) as typeof prev;
  assert.deepEqual(
    stamped.ancestors.map((a) => a.conditions[0].lastTransitionTime),
    [T0, T1, T0],
  );
  assert.deepEqual(stamped.ancestors[2], prev.ancestors[0]);
});
