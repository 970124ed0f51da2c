import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import { test } from 'node:test';
import { parseCIDR } from '../../../src/routing/cidr.ts';
import { parseAddress } from '../../../src/routing/ip-address.ts';
import { req, selects } from './fixtures.ts';

const info = req('GET', '/api/v1/pods');
const from = (clientCIDRs: string[], ip: string) => selects({ match: { clientCIDRs } }, info, undefined, ip);

test('clientCIDRs match IPv4 and IPv6 clients against ranges of their family', () => {
  const cases: [string[], string, boolean][] = [
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.0.0.1'], '10.0.0.1', true],
    [['10.0.0.1'], '10.0.0.2', false],
    [['10.0.0.1/32'], '10.0.0.1', true],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['192.168.1.0/24', '10.0.0.0/8'], '10.9.9.9', true],
    [['10.1.2.3/8'], '10.200.0.1', true],
    [['172.16.0.0/12'], '172.31.255.255', true],
    [['172.16.0.0/12'], '172.32.0.0', false],
    [['2001:db8::/32'], '2001:db8:1::5', true],
    [['2001:db8::/32'], '2001:db9::5', false],
    [['2001:db8::/32'], '2001:0DB8:0000::1', true],
    [['::1'], '::1', true],
    [['::1/128'], '0:0:0:0:0:0:0:1', true],
    [['fe80::/10'], 'fe80::1%eth0', true],
    [['2001:db8:0:0:1::/80'], '2001:db8::1:0:0:1', true],
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '10.0.0.1', false],
    [['0.0.0.0/0'], '2001:db8::1', false],
  ];
  for (const [cidrs, ip, expected] of cases) assert.equal(from(cidrs, ip), expected, `${cidrs} vs ${ip}`);
});

test('IPv4-mapped IPv6 addresses and ranges are IPv4', () => {
  assert.equal(from(['10.0.0.0/8'], '::ffff:10.1.2.3'), true);
  assert.equal(from(['10.0.0.0/8'], '::ffff:a01:203'), true);
  assert.equal(from(['10.0.0.0/8'], '::FFFF:10.1.2.3'), true);
  assert.equal(from(['10.0.0.0/8'], '::ffff:11.1.2.3'), false);
  assert.equal(from(['::ffff:10.0.0.0/104'], '10.20.30.40'), true);
  assert.equal(from(['::ffff:10.0.0.0/104'], '::ffff:10.20.30.40'), true);
  assert.equal(from(['::ffff:10.0.0.0/104'], '11.0.0.1'), false);
  assert.equal(from(['::ffff:0:0/96'], '1.2.3.4'), true);
  assert.equal(from(['::ffff:10.0.0.1'], '10.0.0.1'), true);
  // IPv4-compatible (::a.b.c.d) is not mapped.
  assert.equal(from(['10.0.0.0/8'], '::10.1.2.3'), false);
});

test('a client address that is not an address matches no range', () => {
  for (const ip of ['', 'localhost', '10.0.0', '10.0.0.256', ':::1', '1.2.3.4%eth0']) {
    assert.equal(from(['0.0.0.0/0', '::/0'], ip), false, ip);
  }
});

test('parseCIDR accepts what node:net accepts and rejects bad prefixes', () => {
  const good = [
    '10.0.0.0/8',
    '10.0.0.1',
    '0.0.0.0/0',
    '::/0',
    '::1',
    '2001:db8::/32',
    '::ffff:1.2.3.4/128',
    'a:b:c:d:e:f:1.2.3.4/100',
  ];
  for (const c of good) assert.notEqual(parseCIDR(c), null, c);
  const bad = [
    '',
    '10.0.0.0/33',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.0.0.0/8/8',
    '10.0.0.0/-1',
    '2001:db8::/129',
    'x/8',
    '10/8',
    '01.0.0.0/8',
    'fe80::1%eth0/64',
    '10.0.0.0/ 8',
  ];
  for (const c of bad) assert.equal(parseCIDR(c), null, c);
});

test('the address parser agrees with node:net isIP', () => {
  const samples = [
    '1.2.3.4',
    '255.255.255.255',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '1..2.3',
    '01.2.3.4',
    '0.0.0.0',
    '1.2.3.4 ',
    '::',
    '::1',
    '1::',
    '1::1',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    '1::2:3:4:5:6:7:8',
    '::2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7::',
    '12345::',
    'g::1',
    '::ffff:1.2.3.4',
    '::1.2.3.4',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1.2.3.4::',
    '::ffff:1.2.3',
    'fe80::1%eth0',
    'fe80::1%',
    '1:2:3:4:5::1.2.3.4',
    'ABCD:EF01::',
    '::ffff:01.2.3.4',
    ':',
    ':::',
    '',
    '1:',
    ':1',
  ];
  const out = new Uint32Array(4);
  for (const s of samples) {
    const expected = isIP(s);
    const got = parseAddress(s, out);
    assert.equal(got !== 0, expected !== 0, `${JSON.stringify(s)}: isIP ${expected}, parsed ${got}`);
  }
});

test('range membership agrees with node:net BlockList on random addresses', () => {
  let seed = 7;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const v4 = () => [rand(256), rand(256), rand(256), rand(256)].join('.');
  const v6 = () => ['2001', 'db8', ...Array.from({ length: 6 }, () => rand(4).toString(16))].join(':');
  for (let round = 0; round < 200; round++) {
    const cidrs = [`${v4()}/${rand(33)}`, `${v6()}/${rand(129)}`, `10.${rand(4)}.0.0/${8 + rand(10)}`];
    const list = new BlockList();
    for (const c of cidrs) {
      const [net, bits] = c.split('/');
      list.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
    }
    for (let k = 0; k < 20; k++) {
      const ip = rand(2) === 0 ? (rand(2) === 0 ? v4() : `10.${rand(4)}.${rand(256)}.1`) : v6();
      const expected = list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
      assert.equal(from(cidrs, ip), expected, `${cidrs} vs ${ip}`);
    }
  }
});

test('the address parser agrees with node:net isIP on random strings of address characters', () => {
  let seed = 11;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const alphabet = '0123456789abcdefABCDEFgz-::::....%%';
  const out = new Uint32Array(4);
  for (let round = 0; round < 100_000; round++) {
    let s = '';
    const len = rand(24);
    for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
    if (rand(4) === 0) s = `::ffff:${s}`;
    assert.equal(parseAddress(s, out) !== 0, isIP(s) !== 0, JSON.stringify(s));
  }
});
