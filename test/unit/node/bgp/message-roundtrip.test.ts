import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BgpMessageError,
  addressBytes,
  addressText,
  decodeMessage,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  encodeRouteRefresh,
  encodeUpdate,
  MessageReader,
  type PathAttributes,
} from '../../../../src/node/bgp/message/index.ts';

const FOUR = { fourOctetAs: true };

test('addresses round-trip in RFC 5952 form', () => {
  for (const a of [
    '10.1.2.3',
    '::',
    '::1',
    'fd00::1',
    '2001:db8::1:0:0:1',
    '2001:db8:0:1:1:1:1:1',
    'fe80::a:b',
  ])
    assert.equal(addressText(addressBytes(a)), a);
  assert.equal(addressText(addressBytes('::ffff:10.0.0.1')), '::ffff:a00:1');
});

test('OPEN carries multiprotocol, 4-octet AS, route refresh, graceful restart and unknown capabilities', () => {
  const buf = encodeOpen({
    asn: 4200000001,
    holdTime: 90,
    routerId: '10.0.0.1',
    capabilities: {
      multiprotocol: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: true,
      fourOctetAs: 4200000001,
      gracefulRestart: {
        restarting: true,
        time: 120,
        families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
      },
      unknown: [{ code: 73, value: Buffer.from('node-a') }],
    },
  });
  assert.equal(buf.readUInt16BE(20), 23456, 'AS_TRANS in the 2-octet field');
  const m = decodeMessage(buf, FOUR);
  assert.ok(!(m instanceof BgpMessageError) && m.type === 'open');
  assert.equal(m.asn, 4200000001);
  assert.equal(m.holdTime, 90);
  assert.equal(m.routerId, '10.0.0.1');
  assert.deepEqual(m.capabilities.multiprotocol, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  assert.equal(m.capabilities.routeRefresh, true);
  assert.deepEqual(m.capabilities.gracefulRestart, {
    restarting: true,
    time: 120,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
  });
  assert.deepEqual(m.capabilities.unknown, [{ code: 73, value: Buffer.from('node-a') }]);
});

test('OPEN errors name the RFC 4271 §6.2 subcodes', () => {
  const good = encodeOpen({
    asn: 65001,
    holdTime: 90,
    routerId: '1.1.1.1',
    capabilities: { multiprotocol: [], routeRefresh: false, unknown: [] },
  });
  const bad = (mutate: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    mutate(b);
    const m = decodeMessage(b, FOUR);
    assert.ok(m instanceof BgpMessageError);
    return [m.code, m.subcode, m.data.toString('hex')];
  };
  assert.deepEqual(
    bad((b) => (b[19] = 3)),
    [2, 1, '0004'],
  );
  assert.deepEqual(
    bad((b) => b.writeUInt16BE(2, 22)),
    [2, 6, ''],
  );
  assert.deepEqual(
    bad((b) => b.writeUInt32BE(0, 24)),
    [2, 3, ''],
  );
  assert.deepEqual(
    bad((b) => (b[0] = 0)),
    [1, 1, ''],
  );
  assert.deepEqual(
    bad((b) => (b[18] = 9)),
    [1, 3, '09'],
  );
});

test('UPDATE carries every attribute and both families', () => {
  const attributes: PathAttributes = {
    origin: 'igp',
    asPath: [
      { type: 'sequence', asns: [65001, 4200000000] },
      { type: 'set', asns: [65010, 65011] },
    ],
    nextHop: '10.0.0.1',
    med: 10,
    localPref: 200,
    atomicAggregate: true,
    aggregator: { asn: 4200000000, address: '10.0.0.9' },
    communities: [65001 * 65536 + 100, 0xffffff01],
    largeCommunities: [[4200000000, 1, 2]],
    originatorId: '10.0.0.2',
    clusterList: ['10.0.0.3', '10.0.0.4'],
    mpReach: {
      family: 'ipv6-unicast',
      nextHops: ['fd00::1', 'fe80::1'],
      nlri: ['fd10::/64', '2001:db8::/32'],
    },
    mpUnreach: { family: 'ipv6-unicast', withdrawn: ['fd11::/64'] },
    unknown: [{ flags: 0xc0, typeCode: 99, value: Buffer.from([1, 2, 3]) }],
  };
  const buf = encodeUpdate(
    { withdrawn: ['10.9.0.0/16'], attributes, nlri: ['10.244.1.0/24', '0.0.0.0/0', '10.1.2.3/32'] },
    FOUR,
  );
  const m = decodeMessage(buf, FOUR);
  assert.ok(!(m instanceof BgpMessageError) && m.type === 'update');
  assert.deepEqual(m.withdrawn, ['10.9.0.0/16']);
  assert.deepEqual(m.nlri, ['10.244.1.0/24', '0.0.0.0/0', '10.1.2.3/32']);
  assert.deepEqual(m.attributes, {
    ...attributes,
    unknown: [{ flags: 0xe0, typeCode: 99, value: Buffer.from([1, 2, 3]) }],
  });
  assert.equal(m.treatAsWithdraw, undefined);
});

test('AS_PATH with 2-octet AS numbers when the 4-octet capability was not negotiated', () => {
  const two = { fourOctetAs: false };
  const buf = encodeUpdate(
    {
      withdrawn: [],
      attributes: {
        origin: 'igp',
        asPath: [{ type: 'sequence', asns: [65001, 70000] }],
        nextHop: '10.0.0.1',
      },
      nlri: ['10.0.0.0/8'],
    },
    two,
  );
  const m = decodeMessage(buf, two);
  assert.ok(!(m instanceof BgpMessageError) && m.type === 'update');
  assert.deepEqual(m.attributes.asPath, [{ type: 'sequence', asns: [65001, 23456] }]);
});

test('End-of-RIB markers are recognised for IPv4 and IPv6', () => {
  for (const family of ['ipv4-unicast', 'ipv6-unicast'] as const) {
    const m = decodeMessage(encodeEndOfRib(family, FOUR), FOUR);
    assert.ok(!(m instanceof BgpMessageError) && m.type === 'update');
    assert.equal(m.endOfRib, family);
  }
});

test('a bad attribute is treat-as-withdraw, a bad AGGREGATOR is discarded, a bad MP_REACH resets', () => {
  const base = { origin: 'igp', asPath: [], nextHop: '10.0.0.1' } as const;
  const origin = encodeUpdate({ withdrawn: [], attributes: base, nlri: ['10.0.0.0/8'] }, FOUR);
  origin[23 + 3] = 7; // ORIGIN value
  const m = decodeMessage(origin, FOUR);
  assert.ok(!(m instanceof BgpMessageError) && m.type === 'update');
  assert.deepEqual([m.treatAsWithdraw?.code, m.treatAsWithdraw?.subcode], [3, 6]);

  const missing = encodeUpdate(
    { withdrawn: [], attributes: { origin: 'igp', asPath: [] }, nlri: ['10.0.0.0/8'] },
    FOUR,
  );
  const mm = decodeMessage(missing, FOUR);
  assert.ok(!(mm instanceof BgpMessageError) && mm.type === 'update');
  assert.deepEqual([mm.treatAsWithdraw?.subcode, mm.treatAsWithdraw?.data], [3, Buffer.from([3])]);

  const agg = encodeUpdate(
    { withdrawn: [], attributes: { ...base, aggregator: { asn: 1, address: '1.1.1.1' } }, nlri: [] },
    { fourOctetAs: false },
  );
  const ma = decodeMessage(agg, FOUR);
  assert.ok(!(ma instanceof BgpMessageError) && ma.type === 'update');
  assert.equal(ma.discarded?.length, 1);
  assert.equal(ma.attributes.aggregator, undefined);

  const mp = encodeUpdate(
    {
      withdrawn: [],
      attributes: { ...base, mpReach: { family: 'ipv6-unicast', nextHops: ['fd00::1'], nlri: ['fd00::/8'] } },
      nlri: [],
    },
    FOUR,
  );
  const at = mp.indexOf(Buffer.from([0x80, 14]));
  mp[at + 3 + 3] = 5; // next hop length
  const mr = decodeMessage(mp, FOUR);
  assert.ok(mr instanceof BgpMessageError);
  assert.deepEqual([mr.code, mr.subcode, mr.action], [3, 9, 'session-reset']);
});

test('NOTIFICATION, KEEPALIVE and ROUTE-REFRESH round-trip; the reader cuts a stream into messages', () => {
  const stream = Buffer.concat([
    encodeNotification(6, 2, Buffer.from('bye')),
    encodeKeepalive(),
    encodeRouteRefresh(2, 1),
  ]);
  const reader = new MessageReader();
  const frames = [
    ...(reader.push(stream.subarray(0, 10)) as Buffer[]),
    ...(reader.push(stream.subarray(10)) as Buffer[]),
  ];
  assert.deepEqual(
    frames.map((f) => decodeMessage(f, FOUR)),
    [
      { type: 'notification', code: 6, subcode: 2, data: Buffer.from('bye') },
      { type: 'keepalive' },
      { type: 'route-refresh', afi: 2, safi: 1, subtype: 0 },
    ],
  );
  const bad = new MessageReader().push(Buffer.alloc(19));
  assert.ok(bad instanceof BgpMessageError && bad.code === 1 && bad.subcode === 1);
});
