import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodIPAM } from '../../../../../src/dev/podlet/runtime/index.ts';

test('PodIPAM skips network, gateway and broadcast, and is stable per key', () => {
  const ipam = new PodIPAM('10.244.3.0/29');
  assert.equal(ipam.gateway, '10.244.3.1');
  assert.equal(ipam.prefixLength, 29);
  const got = ['a', 'b', 'c', 'd', 'e'].map((k) => ipam.allocate(k));
  assert.deepEqual(got, ['10.244.3.2', '10.244.3.3', '10.244.3.4', '10.244.3.5', '10.244.3.6']);
  assert.equal(ipam.allocate('f'), null, 'full');
  assert.equal(ipam.allocate('c'), '10.244.3.4', 'same key, same address');
  ipam.release('c');
  ipam.release('unknown');
  assert.equal(ipam.get('c'), undefined);
  assert.equal(ipam.allocate('f'), '10.244.3.4');
});

test('PodIPAM rejects a CIDR without room', () => {
  assert.throws(() => new PodIPAM('10.0.0.0/31'), /no room/);
  assert.throws(() => new PodIPAM('10.0.0.1/24'), /host bits/);
});
