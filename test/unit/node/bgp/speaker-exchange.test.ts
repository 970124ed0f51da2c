import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  addCommunities,
  chainPolicies,
  parseCommunity,
  prependAsPath,
  rejectPrefixesWithin,
  Speaker,
  type NeighborConfig,
} from '../../../../src/node/bgp/index.ts';

const speakers: Speaker[] = [];
after(async () => {
  for (const s of speakers) await s.stop();
});

// Each speaker listens on its own loopback address, so peers are told apart by address.
function speaker(
  n: number,
  asn: number,
  neighbors: NeighborConfig[],
  extra: Partial<ConstructorParameters<typeof Speaker>[0]> = {},
): Speaker {
  const s = new Speaker({
    asn,
    routerId: `10.0.0.${n}`,
    listen: { address: `127.0.0.${n}`, port: portOf(n) },
    neighbors,
    ...extra,
  });
  speakers.push(s);
  return s;
}
// A free port per loopback address, found before the speakers that name each other are built.
const ports = new Map<number, number>();
before(async () => {
  for (let n = 1; n <= 12; n++) {
    const s = createServer();
    s.listen(0, `127.0.0.${n}`);
    await once(s, 'listening');
    ports.set(n, (s.address() as AddressInfo).port);
    await new Promise((r) => s.close(r));
  }
});
function portOf(n: number): number {
  return ports.get(n)!;
}
const neighbor = (n: number, from: number, asn: number, o: Partial<NeighborConfig> = {}): NeighborConfig => ({
  peerAddress: `127.0.0.${n}`,
  port: portOf(n),
  localAddress: `127.0.0.${from}`,
  peerAs: asn,
  connectRetrySeconds: 1,
  families: ['ipv4-unicast', 'ipv6-unicast'],
  ...o,
});

async function until(what: string, ok: () => boolean, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
const has = (s: Speaker, prefix: string) => s.locRib.get(prefix)?.best !== undefined;

test('eBGP: IPv4 and IPv6 prefixes with communities and prepends, service prefixes refused, withdrawals', async () => {
  const a = speaker(
    1,
    65001,
    [
      neighbor(2, 1, 65002, {
        exportPolicy: chainPolicies(
          addCommunities([parseCommunity('65001:100')], [[65001, 7, 8]]),
          prependAsPath(65001, 2),
        ),
      }),
    ],
    { ipv6NextHops: ['fd00::1'] },
  );
  const b = speaker(2, 65002, [
    neighbor(1, 2, 65001, { importPolicy: rejectPrefixesWithin(['10.96.0.0/16']) }),
  ]);
  await b.start();
  await a.start();
  a.announce('10.244.1.0/24');
  a.announce('fd00:244:1::/64');
  a.announce('10.96.0.10/32');
  await until('routes at b', () => has(b, '10.244.1.0/24') && has(b, 'fd00:244:1::/64'));
  const v4 = b.locRib.get('10.244.1.0/24')!.best!;
  assert.equal(v4.nextHop, '127.0.0.1');
  assert.deepEqual(v4.attributes.asPath, [{ type: 'sequence', asns: [65001, 65001, 65001] }]);
  assert.deepEqual(v4.attributes.communities, [65001 * 65536 + 100]);
  assert.deepEqual(v4.attributes.largeCommunities, [[65001, 7, 8]]);
  assert.equal(b.locRib.get('fd00:244:1::/64')!.best!.nextHop, 'fd00::1');
  assert.equal(has(b, '10.96.0.10/32'), false, 'service prefix refused on import');
  a.withdraw('10.244.1.0/24');
  await until('withdrawn at b', () => !has(b, '10.244.1.0/24'));
  assert.ok(has(b, 'fd00:244:1::/64'));
  await a.stop();
  await b.stop();
});

test('route reflection: a client route reaches the other client with ORIGINATOR_ID and CLUSTER_LIST', async () => {
  const rr = speaker(3, 65000, [
    neighbor(4, 3, 65000, { routeReflectorClient: true }),
    neighbor(5, 3, 65000, { routeReflectorClient: true }),
  ]);
  const c1 = speaker(4, 65000, [neighbor(3, 4, 65000)]);
  const c2 = speaker(5, 65000, [neighbor(3, 5, 65000)]);
  for (const s of [rr, c1, c2]) await s.start();
  c1.announce('10.244.4.0/24');
  await until('reflected to c2', () => has(c2, '10.244.4.0/24'));
  const r = c2.locRib.get('10.244.4.0/24')!.best!;
  assert.equal(r.nextHop, '127.0.0.4');
  assert.equal(r.attributes.originatorId, '10.0.0.4');
  assert.deepEqual(r.attributes.clusterList, ['10.0.0.3']);
  assert.equal(r.attributes.localPref, 100);
  // c1 does not take its own route back (ORIGINATOR_ID loop check; the reflector skips the source anyway).
  assert.equal(c1.received('127.0.0.3').length, 0);
  for (const s of [rr, c1, c2]) await s.stop();
});

test('graceful restart: the helper keeps routes while the peer restarts, then drops what was not sent again', async () => {
  const gr = { restartTime: 30 };
  const helper = speaker(6, 65006, [neighbor(7, 6, 65007, { gracefulRestart: gr })]);
  const mk = (restarting: boolean) =>
    new Speaker({
      asn: 65007,
      routerId: '10.0.0.7',
      listen: { address: '127.0.0.7', port: portOf(7) },
      neighbors: [neighbor(6, 7, 65006, { gracefulRestart: gr })],
      restarting,
    });
  const first = mk(false);
  speakers.push(first);
  await helper.start();
  await first.start();
  first.announce('10.244.7.0/24');
  first.announce('10.244.8.0/24');
  helper.announce('10.244.6.0/24');
  await until('both at helper', () => has(helper, '10.244.7.0/24') && has(helper, '10.244.8.0/24'));
  await until('helper route at first', () => has(first, '10.244.6.0/24'));
  await first.stop({ graceful: true });
  assert.ok(has(first, '10.244.6.0/24'), 'a graceful stop keeps learned routes (forwarding state)');
  await until('stale at helper', () => helper.received('127.0.0.7').every((r) => r.stale));
  assert.ok(has(helper, '10.244.7.0/24') && has(helper, '10.244.8.0/24'), 'routes kept while restarting');
  const second = mk(true);
  speakers.push(second);
  second.announce('10.244.7.0/24');
  await second.start();
  await until('stale route flushed after End-of-RIB', () => !has(helper, '10.244.8.0/24'));
  assert.ok(has(helper, '10.244.7.0/24'));
  assert.equal(helper.received('127.0.0.7')[0].stale, undefined);
  await second.stop();
});

test('graceful restart: routes of a peer that does not come back go when its restart time passes', async () => {
  const gr = { restartTime: 1 };
  const helper = speaker(8, 65008, [neighbor(9, 8, 65009, { gracefulRestart: gr })]);
  const peer = speaker(9, 65009, [neighbor(8, 9, 65008, { gracefulRestart: gr })]);
  await helper.start();
  await peer.start();
  peer.announce('10.244.9.0/24');
  await until('route at helper', () => has(helper, '10.244.9.0/24'));
  await peer.stop({ graceful: true });
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(has(helper, '10.244.9.0/24'));
  await until('flushed after restart time', () => !has(helper, '10.244.9.0/24'), 4000);
  // An administrative stop (Cease) removes the routes at once.
  await helper.stop();
});

test('a neighbor added and removed on a running speaker: its session comes and goes, the others stay up', async () => {
  const a = speaker(10, 65010, [neighbor(11, 10, 65011)]);
  const b = speaker(11, 65011, [neighbor(10, 11, 65010)]);
  const c = speaker(12, 65012, [neighbor(10, 12, 65010)]);
  const downs: string[] = [];
  a.onEvent((e) => e.type === 'down' && downs.push(`a-${e.peer}`));
  b.onEvent((e) => e.type === 'down' && downs.push(`b-${e.peer}`));
  const fromA: (number | undefined)[] = [];
  c.onEvent((e) => e.type === 'down' && fromA.push(e.down.subcode));
  await Promise.all([a.start(), b.start(), c.start()]);
  a.announce('10.10.0.0/24');
  c.announce('10.12.0.0/24');
  await until('a and b are up', () => has(b, '10.10.0.0/24'));
  assert.ok(!has(a, '10.12.0.0/24'), 'c is not a neighbor of a yet');

  a.addNeighbor(neighbor(12, 10, 65012));
  await until('a and c exchanged routes', () => has(a, '10.12.0.0/24') && has(c, '10.10.0.0/24'));
  await until('b learned c’s route through a', () => has(b, '10.12.0.0/24'));
  assert.throws(() => a.addNeighbor(neighbor(12, 10, 65012)), /already configured/);

  a.removeNeighbor('127.0.0.12');
  assert.ok(!has(a, '10.12.0.0/24'), 'c’s routes left a at once');
  await until('b was told', () => !has(b, '10.12.0.0/24'));
  await until('c heard Cease "Peer De-configured"', () => fromA.includes(3));
  assert.deepEqual(
    a.neighbors().map((n) => n.address),
    ['127.0.0.11'],
  );
  assert.deepEqual(downs, ['a-127.0.0.12'], 'only the removed session went down; a–b never did');
  assert.ok(has(b, '10.10.0.0/24'));
});
