import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameStatus, stampConditions, stampDeep } from '../../../../src/gatewayapi/controller/conditions.ts';

const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-02-02T00:00:00Z';

test('a condition whose status did not change keeps its lastTransitionTime', () => {
  const prev = [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: T0 },
  ];
  const next = [
    {
      type: 'Accepted',
      status: 'True',
      reason: 'Accepted',
      message: 'now with words',
      observedGeneration: 2,
    },
  ];
  assert.equal(stampConditions(next, prev, T1)[0].lastTransitionTime, T0);
});

test('a condition whose status flipped, or that is new, gets now', () => {
  const prev = [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: T0 },
  ];
  const next = [
    { type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners', message: '' },
    { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' },
  ];
  assert.deepEqual(
    stampConditions(next, prev, T1).map((c) => c.lastTransitionTime),
    [T1, T1],
  );
});

test('listener conditions pair by listener name, route parents by parentRef, not by position', () => {
  const prev = {
    listeners: [
      { name: 'b', conditions: [{ type: 'Programmed', status: 'True', lastTransitionTime: T0 }] },
      { name: 'a', conditions: [{ type: 'Programmed', status: 'False', lastTransitionTime: T0 }] },
    ],
    parents: [
      {
        parentRef: { name: 'g2' },
        conditions: [{ type: 'Accepted', status: 'True', lastTransitionTime: T0 }],
      },
    ],
  };
  const next = {
    listeners: [
      { name: 'a', conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: '' }] },
      { name: 'b', conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: '' }] },
    ],
    parents: [
      {
        parentRef: { name: 'g1' },
        conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }],
      },
      {
        parentRef: { name: 'g2' },
        conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }],
      },
    ],
  };
  const out = stampDeep(next, prev, T1) as typeof prev;
  assert.equal(out.listeners[0].conditions[0].lastTransitionTime, T1); // a: False → True
  assert.equal(out.listeners[1].conditions[0].lastTransitionTime, T0); // b: unchanged
  assert.equal(out.parents[0].conditions[0].lastTransitionTime, T1); // g1: new
  assert.equal(out.parents[1].conditions[0].lastTransitionTime, T0); // g2: unchanged
});

test('statuses compare equal regardless of key order and transition times, and differ on anything else', () => {
  const a = {
    conditions: [{ type: 'A', status: 'True', lastTransitionTime: T0 }],
    addresses: [{ value: '10.0.0.1' }],
  };
  const b = {
    addresses: [{ value: '10.0.0.1' }],
    conditions: [{ lastTransitionTime: T1, status: 'True', type: 'A' }],
  };
  assert.ok(sameStatus(a, b));
  assert.ok(!sameStatus(a, { ...b, addresses: [{ value: '10.0.0.2' }] }));
});

test("another controller's condition types are kept as they are; a type kubegate owns but no longer reports is dropped", () => {
  const foreign = {
    type: 'example.com/Seeded',
    status: 'True',
    reason: 'Seeded',
    message: '',
    lastTransitionTime: T0,
  };
  const prev = [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: T0 },
    {
      type: 'PartiallyInvalid',
      status: 'True',
      reason: 'UnsupportedValue',
      message: '',
      lastTransitionTime: T0,
    },
    foreign,
  ];
  const next = [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }];
  assert.deepEqual(
    stampConditions(next, prev, T1).map((c) => c.type),
    ['Accepted', 'example.com/Seeded'],
  );
  assert.deepEqual(stampConditions(next, prev, T1)[1], foreign);
});
