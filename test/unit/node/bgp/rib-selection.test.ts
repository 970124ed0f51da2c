import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMUNITY_NO_EXPORT } from '../../../../src/node/bgp/message/index.ts';
import {
  addCommunities,
  exportRoute,
  importLoops,
  LocRib,
  prefixWithin,
  prependAsPath,
  rejectPrefixesWithin,
  selectBest,
  type PeerView,
  type Route,
  type RouteAttributes,
} from '../../../../src/node/bgp/rib/index.ts';
import { AdjRibOut } from '../../../../src/node/bgp/rib/adj-rib-out.ts';
import { BgpMessageError, decodeMessage } from '../../../../src/node/bgp/message/index.ts';

const peer = (n: number, o: Partial<PeerView> = {}): PeerView => ({
  address: `192.0.2.${n}`,
  asn: 65000 + n,
  routerId: `10.0.0.${n}`,
  ibgp: false,
  rrClient: false,
  ...o,
});
const route = (n: number, a: RouteAttributes, o: Partial<PeerView> = {}): Route => ({
  prefix: '10.244.0.0/24',
  family: 'ipv4-unicast',
  nextHop: `192.0.2.${n}`,
  attributes: { origin: 'igp', asPath: [{ type: 'sequence', asns: [65000 + n] }], ...a },
  source: { kind: 'peer', ...peer(n, o) },
});
const self = { asn: 65000, routerId: '10.0.0.100', clusterId: '10.0.0.100', routeReflector: false };

test('best path: local pref, then AS path length, origin, MED, eBGP over iBGP, router id', () => {
  const best = (...r: Route[]) => selectBest(r).best?.nextHop;
  assert.equal(best(route(1, {}), route(2, { localPref: 200 })), '192.0.2.2');
  assert.equal(best(route(1, { asPath: [{ type: 'sequence', asns: [1, 2] }] }), route(2, {})), '192.0.2.2');
  assert.equal(best(route(1, { origin: 'incomplete' }), route(2, { origin: 'egp' })), '192.0.2.2');
  const sameAs = [{ type: 'sequence' as const, asns: [65009] }];
  assert.equal(
    best(route(1, { asPath: sameAs, med: 50 }), route(2, { asPath: sameAs, med: 10 })),
    '192.0.2.2',
  );
  assert.equal(best(route(1, {}, { ibgp: true }), route(2, {})), '192.0.2.2');
  assert.equal(best(route(3, {}), route(2, {})), '192.0.2.2');
});

test('equal paths with distinct next hops form the ECMP set', () => {
  const asPath = [{ type: 'sequence' as const, asns: [65010] }];
  const r = selectBest([route(3, { asPath }), route(1, { asPath }), route(2, { asPath, localPref: 50 })]);
  assert.deepEqual(
    r.ecmp.map((x) => x.nextHop),
    ['192.0.2.1', '192.0.2.3'],
  );
  const rib = new LocRib();
  const seen: number[] = [];
  rib.onChange((c) => seen.push(c.ecmp.length));
  rib.set(route(1, { asPath }));
  rib.set(route(3, { asPath }));
  rib.delete('10.244.0.0/24', '192.0.2.1');
  rib.delete('10.244.0.0/24', '192.0.2.3');
  assert.deepEqual(seen, [1, 2, 1, 0]);
});

test('iBGP routes are not passed to iBGP peers unless this speaker reflects them', () => {
  const fromIbgp = route(1, { localPref: 100 }, { ibgp: true, asn: 65000 });
  assert.equal(exportRoute(fromIbgp, peer(2, { ibgp: true, asn: 65000 }), self), undefined);
  const rr = { ...self, routeReflector: true };
  assert.equal(
    exportRoute(fromIbgp, peer(2, { ibgp: true, asn: 65000 }), rr),
    undefined,
    'non-client to non-client',
  );
  const reflected = exportRoute(fromIbgp, peer(2, { ibgp: true, asn: 65000, rrClient: true }), rr);
  assert.equal(reflected?.attributes.originatorId, '10.0.0.1');
  assert.deepEqual(reflected?.attributes.clusterList, ['10.0.0.100']);
  assert.equal(reflected?.nextHop, '192.0.2.1', 'next hop unchanged inside the AS');
  assert.equal(exportRoute(fromIbgp, peer(1, { ibgp: true }), rr), undefined, 'never back to its source');
});

test('to an eBGP peer: own AS prepended, next hop self, LOCAL_PREF and reflection attributes dropped, NO_EXPORT kept in', () => {
  const r = route(
    1,
    { localPref: 300, originatorId: '1.1.1.1', clusterList: ['2.2.2.2'], med: 7 },
    { ibgp: true, asn: 65000 },
  );
  const out = exportRoute(r, peer(2), self);
  assert.deepEqual(out?.attributes.asPath, [{ type: 'sequence', asns: [65000, 65001] }]);
  assert.equal(out?.nextHop, '');
  assert.equal(out?.attributes.localPref, undefined);
  assert.equal(out?.attributes.originatorId, undefined);
  assert.equal(out?.attributes.med, undefined);
  assert.equal(exportRoute(route(1, { communities: [COMMUNITY_NO_EXPORT] }), peer(2), self), undefined);
});

test('import loop checks: own AS in an eBGP path, own router id as originator, own cluster id', () => {
  assert.ok(importLoops(route(1, { asPath: [{ type: 'sequence', asns: [65001, 65000] }] }), peer(1), self));
  assert.ok(importLoops(route(1, { originatorId: '10.0.0.100' }), peer(1, { ibgp: true }), self));
  assert.ok(importLoops(route(1, { clusterList: ['10.0.0.100'] }), peer(1, { ibgp: true }), self));
  assert.ok(!importLoops(route(1, {}), peer(1), self));
});

test('policies: service prefixes rejected on import, communities and prepends added on export', () => {
  assert.ok(prefixWithin('10.96.0.10/32', '10.96.0.0/16'));
  assert.ok(!prefixWithin('10.97.0.0/24', '10.96.0.0/16'));
  assert.ok(prefixWithin('fd00:96::1/128', 'fd00:96::/108'));
  const reject = rejectPrefixesWithin(['10.96.0.0/16']);
  assert.equal(reject({ ...route(1, {}), prefix: '10.96.3.0/24' }, peer(1)), undefined);
  assert.ok(reject(route(1, {}), peer(1)));
  const c = addCommunities([65000 * 65536 + 1], [[65000, 1, 2]])(route(1, { communities: [5] }), peer(1));
  assert.deepEqual(c?.attributes.communities, [5, 65000 * 65536 + 1]);
  assert.deepEqual(c?.attributes.largeCommunities, [[65000, 1, 2]]);
  const p = prependAsPath(65000, 2)(route(1, {}), peer(2));
  assert.deepEqual(p?.attributes.asPath, [{ type: 'sequence', asns: [65000, 65000, 65001] }]);
  assert.equal(
    prependAsPath(65000, 2)(route(1, {}), peer(2, { ibgp: true }))?.attributes.asPath?.[0].asns.length,
    1,
  );
});

test('Adj-RIB-Out sends only negotiated families, packs prefixes under 4096 octets, and withdraws', () => {
  const out = new AdjRibOut(['ipv4-unicast'], { fourOctetAs: true }, { ipv4: '192.0.2.100' });
  const local = (prefix: string): Route => ({
    prefix,
    family: prefix.includes(':') ? 'ipv6-unicast' : 'ipv4-unicast',
    nextHop: '',
    attributes: { origin: 'igp', asPath: [] },
    source: { kind: 'local' },
  });
  const prefixes = Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const msgs = out.update([
    ...prefixes.map((p) => [p, local(p)] as const),
    ['fd00::/64', local('fd00::/64')],
  ]);
  assert.ok(msgs.length > 1 && msgs.every((m) => m.length <= 4096));
  const nlri = msgs.flatMap((m) => {
    const d = decodeMessage(m, { fourOctetAs: true });
    assert.ok(!(d instanceof BgpMessageError) && d.type === 'update');
    assert.equal(d.attributes.nextHop, '192.0.2.100');
    assert.equal(d.attributes.mpReach, undefined);
    return d.nlri;
  });
  assert.equal(nlri.length, 2000);
  assert.deepEqual(
    out.update([[prefixes[0], local(prefixes[0])]]),
    [],
    'unchanged routes are not sent again',
  );
  const w = out.update([[prefixes[0], undefined]]);
  const d = decodeMessage(w[0], { fourOctetAs: true });
  assert.ok(!(d instanceof BgpMessageError) && d.type === 'update');
  assert.deepEqual(d.withdrawn, [prefixes[0]]);
});
