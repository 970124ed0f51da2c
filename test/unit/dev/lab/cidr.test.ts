import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CidrError, firstHost, intToIpv4, ipv4ToInt, parseCidr } from '../../../../src/dev/lab/index.ts';

test('IPv4 addresses convert to numbers and back', () => {
  assert.equal(ipv4ToInt('10.244.1.2'), 0x0af40102);
  assert.equal(intToIpv4(0xfffffffe), '255.255.255.254');
  assert.throws(() => ipv4ToInt('10.0.0.256'), CidrError);
});

test('parseCidr and firstHost', () => {
  assert.deepEqual(parseCidr('10.244.1.0/24'), { network: 0x0af40100, prefixLength: 24, size: 256 });
  assert.equal(firstHost('10.244.1.0/24'), '10.244.1.1');
  assert.throws(() => parseCidr('10.244.1.1/24'), /host bits/);
  assert.throws(() => parseCidr('10.244.1.0'), CidrError);
  assert.throws(() => firstHost('10.0.0.0/31'), /too small/);
});
