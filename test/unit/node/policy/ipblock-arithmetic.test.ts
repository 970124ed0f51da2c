import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatAddress,
  mergeRanges,
  parseAddress,
  parseCIDR,
  rangeToElements,
  subtractRanges,
  type AddressRange,
} from '../../../../src/node/policy/address.ts';

const cidr = (text: string): AddressRange => {
  const r = parseCIDR(text);
  assert.ok(r, text);
  return r;
};

test('IPv6 addresses round-trip in their compressed form', () => {
  for (const text of [
    '::',
    '::1',
    'fd00::',
    'fd00:1:2::1',
    '2001:db8::8:800:200c:417a',
    'fe80::1:0:0:1',
    '1:2:3:4:5:6:7:8',
  ]) {
    const a = parseAddress(text);
    assert.equal(a?.family, 6, text);
    assert.equal(formatAddress(6, a.value), text);
  }
  assert.equal(formatAddress(6, parseAddress('::ffff:10.0.0.1')?.value ?? 0n), '::ffff:a00:1');
  assert.equal(formatAddress(6, parseAddress('2001:0db8:0:0:1:0:0:1')?.value ?? 0n), '2001:db8::1:0:0:1');
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '10.0.0.256', '10.0.0', 'g::1', ':::']) {
    assert.equal(parseAddress(bad), undefined, bad);
  }
});

test('a CIDR with host bits set covers its whole network, as Kubernetes parses it', () => {
  assert.deepEqual(rangeToElements(cidr('10.1.2.3/24')), ['10.1.2.0/24']);
  assert.equal(parseCIDR('10.0.0.0/33'), undefined);
  assert.equal(parseCIDR('10.0.0.0'), undefined);
});

test('a CIDR minus excepts is written as the fewest CIDRs covering the rest', () => {
  const rest = subtractRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.128/25'), cidr('10.0.0.5/32')]);
  assert.deepEqual(rest.flatMap(rangeToElements), [
    '10.0.0.0/30',
    '10.0.0.4',
    '10.0.0.6/31',
    '10.0.0.8/29',
    '10.0.0.16/28',
    '10.0.0.32/27',
    '10.0.0.64/26',
  ]);
  assert.deepEqual(
    subtractRanges(cidr('10.0.0.0/24'), [cidr('10.0.0.0/16')]),
    [],
    'an except wider than the block',
  );
  assert.deepEqual(
    subtractRanges(cidr('10.0.0.0/24'), [cidr('fd00::/8')]).flatMap(rangeToElements),
    ['10.0.0.0/24'],
    'other family ignored',
  );
  assert.deepEqual(rangeToElements(cidr('0.0.0.0/0')), ['0.0.0.0/0']);
  assert.deepEqual(rangeToElements(cidr('::/0')), ['::/0']);
});

test('overlapping and adjacent ranges merge into disjoint ones', () => {
  const merged = mergeRanges([
    cidr('10.0.0.0/25'),
    cidr('10.0.0.128/25'),
    cidr('10.0.0.5/32'),
    cidr('10.0.2.0/24'),
  ]);
  assert.deepEqual(merged.flatMap(rangeToElements), ['10.0.0.0/24', '10.0.2.0/24']);
});
