import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { DnsEndpointSlice } from '../../../src/dns/objects.ts';
import { DnsServer } from '../../../src/dns/server.ts';
import { ClusterZone } from '../../../src/dns/zone.ts';

// The server on loopback, asked by Node's own resolver (c-ares): UDP first, TCP after a truncated answer.

const many: DnsEndpointSlice = {
  metadata: { name: 'big-1', namespace: 'ns', labels: { 'kubernetes.io/service-name': 'big' } },
  endpoints: Array.from({ length: 100 }, (_, i) => ({
    addresses: [`10.244.${i >> 8}.${(i & 255) + 1}`],
    conditions: { ready: true },
  })),
};

describe('cluster DNS server', () => {
  let zone: ClusterZone | null = null;
  const server = new DnsServer({ zone: () => zone, host: '127.0.0.1', port: 0 });
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  let port = 0;

  before(async () => {
    ({ port } = await server.listen());
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  after(() => server.close());

  it('answers SERVFAIL until the zone is built, so resolvers retry instead of caching NXDOMAIN', async () => {
    await assert.rejects(resolver.resolve4('web.ns.svc.cluster.local'), { code: 'ESERVFAIL' });
  });

  it('answers A, SRV and PTR to a real resolver', async () => {
    zone = new ClusterZone(
      [
        {
          metadata: { name: 'web', namespace: 'ns' },
          spec: { clusterIP: '10.96.1.2', ports: [{ name: 'http', port: 80 }] },
        },
        { metadata: { name: 'big', namespace: 'ns' }, spec: { clusterIP: 'None' } },
      ],
      [many],
    );
    assert.deepEqual(await resolver.resolve4('web.ns.svc.cluster.local'), ['10.96.1.2']);
    assert.deepEqual(await resolver.resolve4('WEB.NS.SVC.CLUSTER.LOCAL'), ['10.96.1.2']);
    assert.deepEqual(await resolver.resolveSrv('_http._tcp.web.ns.svc.cluster.local'), [
      { name: 'web.ns.svc.cluster.local', port: 80, priority: 0, weight: 100, type: 'SRV' },
    ]);
    assert.deepEqual(await resolver.reverse('10.96.1.2'), ['web.ns.svc.cluster.local']);
  });

  it('answers NXDOMAIN inside the zone, NODATA for a name without that type, REFUSED outside', async () => {
    await assert.rejects(resolver.resolve4('nope.ns.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve6('web.ns.svc.cluster.local'), { code: 'ENODATA' });
    await assert.rejects(resolver.resolve4('example.com'), { code: 'EREFUSED' });
  });

  it('truncates a long UDP answer and serves it whole over TCP', async () => {
    const got = await resolver.resolve4('big.ns.svc.cluster.local');
    assert.equal(got.length, 100);
    // The same question over plain UDP (no EDNS) comes back with TC set and no answers.
    const sock = createSocket('udp4');
    const reply = await new Promise<Buffer>((resolve) => {
      sock.once('message', resolve);
      sock.send(
        dnsPacket.encode({
          type: 'query',
          id: 7,
          questions: [{ type: 'A', name: 'big.ns.svc.cluster.local' }],
        }),
        port,
        '127.0.0.1',
      );
    });
    sock.close();
    const p = dnsPacket.decode(reply);
    assert.equal(p.id, 7);
    assert.equal((p.flags ?? 0) & dnsPacket.TRUNCATED_RESPONSE, dnsPacket.TRUNCATED_RESPONSE);
    assert.equal(p.answers?.length, 0);
  });

  it('answers a malformed message with FORMERR and keeps serving', async () => {
    const sock = createSocket('udp4');
    const garbage = Buffer.concat([
      Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x05]),
      Buffer.alloc(10, 0xff),
    ]);
    const reply = await new Promise<Buffer>((resolve) => {
      sock.once('message', resolve);
      sock.send(garbage, port, '127.0.0.1');
    });
    sock.close();
    assert.equal(reply.readUInt16BE(0), 0x1234);
    assert.equal(reply.readUInt16BE(2) & 0x800f, 0x8001); // a response, rcode FORMERR
    assert.deepEqual(await resolver.resolve4('web.ns.svc.cluster.local'), ['10.96.1.2']);
  });
});
