import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignAddresses, parsePool } from '../../../../src/gatewayapi/translate/address-pool.ts';

const dynamic = (current: string[] = []) => ({ requested: [], current });

test('the pool skips the network and broadcast addresses, except for /31 and /32', () => {
  assert.deepEqual(parsePool('10.0.0.0/30'), { first: 0x0a000001, last: 0x0a000002 });
  assert.deepEqual(parsePool('10.0.0.5/24'), { first: 0x0a000001, last: 0x0a0000fe });
  assert.deepEqual(parsePool('10.0.0.4/31'), { first: 0x0a000004, last: 0x0a000005 });
  assert.deepEqual(parsePool('10.0.0.9/32'), { first: 0x0a000009, last: 0x0a000009 });
  for (const bad of ['', '10.0.0.0', '10.0.0.0/33', '10.0.0/24', '::1/128', '10.0.0.0/24/1', '010.0.0.0/24'])
    assert.equal(parsePool(bad), null, bad);
});

test('Gateways keep the addresses they hold and the others get the lowest free ones', () => {
  const grants = assignAddresses('10.0.0.0/29', [
    dynamic(),
    dynamic(['10.0.0.1']),
    dynamic(['10.0.0.1', '10.0.0.3']),
  ]);
  assert.deepEqual(grants, [
    { addresses: ['10.0.0.2'] },
    { addresses: ['10.0.0.1'] },
    { addresses: ['10.0.0.3'] },
  ]);
});

test('an exhausted or unusable pool assigns nothing', () => {
  assert.deepEqual(assignAddresses('10.0.0.0/30', [dynamic(), dynamic(), dynamic()])[2], {
    reason: 'AddressNotAssigned',
    message: 'The address pool 10.0.0.0/30 has no free address.',
  });
  assert.equal('reason' in assignAddresses('not a cidr', [dynamic()])[0], true);
});

test('requested addresses must be in the pool and not held by an older Gateway', () => {
  const grants = assignAddresses('10.0.0.0/24', [
    { requested: ['10.0.0.9'], current: [] },
    { requested: ['10.0.0.9'], current: [] },
    { requested: ['10.0.1.9'], current: [] },
    { requested: [null, '10.0.0.20'], current: ['10.0.0.20', '10.0.0.30'] },
  ]);
  assert.deepEqual(grants[0], { addresses: ['10.0.0.9'] });
  assert.equal('reason' in grants[1] && grants[1].reason, 'AddressNotUsable');
  assert.equal('reason' in grants[2] && grants[2].reason, 'AddressNotUsable');
  assert.deepEqual(grants[3], { addresses: ['10.0.0.20', '10.0.0.30'] });
});
