import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DnsEndpointSlice, DnsService } from '../../../src/dns/objects.ts';
import { ClusterZone, reverseName } from '../../../src/dns/zone.ts';

const svc = (name: string, ns: string, spec: DnsService['spec']): DnsService => ({
  metadata: { name, namespace: ns },
  spec,
});
const slice = (
  svcName: string,
  ns: string,
  endpoints: DnsEndpointSlice['endpoints'],
  ports = [{ name: 'http', port: 8080, protocol: 'TCP' }],
): DnsEndpointSlice => ({
  metadata: { name: `${svcName}-x`, namespace: ns, labels: { 'kubernetes.io/service-name': svcName } },
  addressType: 'IPv4',
  endpoints,
  ports,
});

describe('cluster DNS zone', () => {
  const zone = new ClusterZone(
    [
      svc('web', 'shop', {
        clusterIP: '10.96.0.20',
        clusterIPs: ['10.96.0.20', 'fd00:96::20'],
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }],
      }),
      svc('db', 'shop', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
      svc('ext', 'shop', { type: 'ExternalName', externalName: 'web.shop.svc.cluster.local.' }),
      svc('late', 'shop', { clusterIP: 'None', publishNotReadyAddresses: true }),
    ],
    [
      slice(
        'db',
        'shop',
        [
          { addresses: ['10.244.1.5'], conditions: { ready: true }, hostname: 'db-0' },
          { addresses: ['10.244.2.6'], conditions: { ready: true } },
          { addresses: ['10.244.2.7'], conditions: { ready: false } },
        ],
        [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      ),
      slice('late', 'shop', [{ addresses: ['10.244.3.3'], conditions: { ready: false } }]),
      slice('web', 'shop', [{ addresses: ['10.244.9.9'], conditions: { ready: true } }]),
    ],
  );

  it('answers a ClusterIP Service with its addresses of each family, in any case', () => {
    assert.deepEqual(zone.lookup('Web.Shop.svc.cluster.local.', 'A'), {
      kind: 'answer',
      records: [{ type: 'A', data: '10.96.0.20' }],
    });
    assert.deepEqual(zone.lookup('web.shop.svc.cluster.local', 'AAAA'), {
      kind: 'answer',
      records: [{ type: 'AAAA', data: 'fd00:96::20' }],
    });
  });

  it('answers SRV for named ports only, pointing at the Service name', () => {
    assert.deepEqual(zone.lookup('_http._tcp.web.shop.svc.cluster.local', 'SRV'), {
      kind: 'answer',
      records: [
        { type: 'SRV', data: { priority: 0, weight: 100, port: 80, target: 'web.shop.svc.cluster.local' } },
      ],
    });
    assert.deepEqual(zone.lookup('_81._tcp.web.shop.svc.cluster.local', 'SRV'), { kind: 'nxdomain' });
  });

  it('answers a headless Service with its ready endpoints, and each by hostname or dashed address', () => {
    const a = zone.lookup('db.shop.svc.cluster.local', 'A');
    assert.deepEqual(a, {
      kind: 'answer',
      records: [
        { type: 'A', data: '10.244.1.5' },
        { type: 'A', data: '10.244.2.6' },
      ],
    });
    assert.deepEqual(zone.lookup('db-0.db.shop.svc.cluster.local', 'A'), {
      kind: 'answer',
      records: [{ type: 'A', data: '10.244.1.5' }],
    });
    assert.deepEqual(zone.lookup('10-244-2-6.db.shop.svc.cluster.local', 'A'), {
      kind: 'answer',
      records: [{ type: 'A', data: '10.244.2.6' }],
    });
    assert.deepEqual(zone.lookup('10-244-2-7.db.shop.svc.cluster.local', 'A'), { kind: 'nxdomain' });
    const srv = zone.lookup('_pg._tcp.db.shop.svc.cluster.local', 'SRV');
    assert.equal(srv.kind, 'answer');
    assert.deepEqual(
      srv.kind === 'answer' ? srv.records.map((r) => (r.type === 'SRV' ? r.data.target : '')) : [],
      ['db-0.db.shop.svc.cluster.local', '10-244-2-6.db.shop.svc.cluster.local'],
    );
  });

  it('publishes not-ready addresses when the Service asks to', () => {
    assert.deepEqual(zone.lookup('late.shop.svc.cluster.local', 'A'), {
      kind: 'answer',
      records: [{ type: 'A', data: '10.244.3.3' }],
    });
  });

  it('answers an ExternalName Service with its CNAME for every type', () => {
    assert.deepEqual(zone.lookup('ext.shop.svc.cluster.local', 'A'), {
      kind: 'answer',
      records: [{ type: 'CNAME', data: 'web.shop.svc.cluster.local' }],
    });
  });

  it('tells NODATA (a name that exists) from NXDOMAIN, and refuses names outside the zone', () => {
    assert.deepEqual(zone.lookup('web.shop.svc.cluster.local', 'TXT'), { kind: 'answer', records: [] });
    assert.deepEqual(zone.lookup('shop.svc.cluster.local', 'A'), { kind: 'answer', records: [] });
    assert.deepEqual(zone.lookup('cluster.local', 'A'), { kind: 'answer', records: [] });
    assert.deepEqual(zone.lookup('nope.shop.svc.cluster.local', 'A'), { kind: 'nxdomain' });
    assert.deepEqual(zone.lookup('web.shop.svc.cluster.local.shop.svc.cluster.local', 'A'), {
      kind: 'nxdomain',
    });
    assert.deepEqual(zone.lookup('example.com', 'A'), { kind: 'refused' });
    assert.deepEqual(zone.lookup('notcluster.local', 'A'), { kind: 'refused' });
  });

  it('answers pod names from the address they spell', () => {
    assert.deepEqual(zone.lookup('10-244-1-5.shop.pod.cluster.local', 'A'), {
      kind: 'answer',
      records: [{ type: 'A', data: '10.244.1.5' }],
    });
    assert.deepEqual(zone.lookup('10-244-1-500.shop.pod.cluster.local', 'A'), { kind: 'nxdomain' });
  });

  it('answers PTR for ClusterIPs and named endpoints', () => {
    assert.equal(reverseName('10.96.0.20'), '20.0.96.10.in-addr.arpa');
    assert.deepEqual(zone.lookup('20.0.96.10.in-addr.arpa', 'PTR'), {
      kind: 'answer',
      records: [{ type: 'PTR', data: 'web.shop.svc.cluster.local' }],
    });
    assert.equal(
      reverseName('fd00:96::20'),
      '0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f.ip6.arpa',
    );
    assert.deepEqual(zone.lookup(reverseName('fd00:96::20'), 'PTR'), {
      kind: 'answer',
      records: [{ type: 'PTR', data: 'web.shop.svc.cluster.local' }],
    });
    assert.deepEqual(zone.lookup('5.1.244.10.in-addr.arpa', 'PTR'), {
      kind: 'answer',
      records: [{ type: 'PTR', data: 'db-0.db.shop.svc.cluster.local' }],
    });
  });

  it('serves another cluster domain when told', () => {
    const z = new ClusterZone([svc('a', 'b', { clusterIP: '10.0.0.1' })], [], { domain: 'Corp.Example.' });
    assert.equal(z.lookup('a.b.svc.corp.example', 'A').kind, 'answer');
    assert.equal(z.lookup('a.b.svc.cluster.local', 'A').kind, 'refused');
  });
});
