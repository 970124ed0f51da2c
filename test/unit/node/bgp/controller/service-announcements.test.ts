import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  RoutingConfigError,
  routingOptions,
  SERVICE_ADVERTISE_ANNOTATIONS,
  SERVICE_LOCAL_ANNOTATION,
  SERVICE_SKIP_LB_IPS_ANNOTATION,
  serviceAnnouncements,
} from '../../../../../src/node/bgp/controller/index.ts';
import type { EndpointSlice, Service } from '../../../../../src/node/service/index.ts';

type Spec = NonNullable<Service['spec']>;

function svc(name: string, spec: Spec, annotations?: Record<string, string>, lb?: string[]): Service {
  return {
    metadata: { name, namespace: 'ns', ...(annotations ? { annotations } : {}) },
    spec: { type: 'ClusterIP', ...spec },
    ...(lb ? { status: { loadBalancer: { ingress: lb.map((ip) => ({ ip })) } } } : {}),
  };
}

function slice(service: string, endpoints: { node: string; ready?: boolean }[]): EndpointSlice {
  return {
    metadata: { name: `${service}-x`, namespace: 'ns', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [`10.244.0.${i + 2}`],
      nodeName: e.node,
      ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
    })),
  };
}

const all = routingOptions({
  advertiseClusterIP: true,
  advertiseExternalIP: true,
  advertiseLoadBalancerIP: true,
});
const none = routingOptions();
const web = svc('web', { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], externalIPs: ['192.0.2.7'] });
const lb = svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.11' }, undefined, ['198.51.100.1']);

describe('service announcements', () => {
  it('announces cluster, external and LoadBalancer IPs as host routes when the flags are on', () => {
    const r = serviceAnnouncements([web, lb], [], 'a', all);
    assert.deepEqual(r.announce, ['10.96.0.10/32', '10.96.0.11/32', '192.0.2.7/32', '198.51.100.1/32']);
    assert.deepEqual(r.problems, []);
  });

  it('announces nothing with the flags off, but still never imports any service address', () => {
    const r = serviceAnnouncements([web, lb], [], 'a', none);
    assert.deepEqual(r.announce, []);
    assert.deepEqual(r.rejectImport, ['10.96.0.10/32', '10.96.0.11/32', '192.0.2.7/32', '198.51.100.1/32']);
  });

  it('lets a Service annotation override each flag, either way', () => {
    const on = svc(
      'on',
      { clusterIP: '10.96.0.20', externalIPs: ['192.0.2.20'] },
      {
        [SERVICE_ADVERTISE_ANNOTATIONS.clusterIP]: 'true',
      },
    );
    const off = svc(
      'off',
      { clusterIP: '10.96.0.21', externalIPs: ['192.0.2.21'] },
      {
        [SERVICE_ADVERTISE_ANNOTATIONS.externalIP]: 'false',
      },
    );
    assert.deepEqual(serviceAnnouncements([on, off], [], 'a', none).announce, ['10.96.0.20/32']);
    assert.deepEqual(serviceAnnouncements([on, off], [], 'a', all).announce, [
      '10.96.0.20/32',
      '10.96.0.21/32',
      '192.0.2.20/32',
    ]);
    const noLb = svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.11' }, {
      [SERVICE_ADVERTISE_ANNOTATIONS.loadBalancerIP]: 'False',
    }, ['198.51.100.1']); // prettier-ignore
    const skip = svc('lb2', { type: 'LoadBalancer', clusterIP: '10.96.0.12' }, {
      [SERVICE_SKIP_LB_IPS_ANNOTATION]: '',
    }, ['198.51.100.2']); // prettier-ignore
    assert.deepEqual(serviceAnnouncements([noLb, skip], [], 'a', all).announce, [
      '10.96.0.11/32',
      '10.96.0.12/32',
    ]);
  });

  it('reads annotation values as Go ParseBool does, and reports any other value on the Service', () => {
    const odd = svc('odd', { clusterIP: '10.96.0.30' }, { [SERVICE_ADVERTISE_ANNOTATIONS.clusterIP]: 'yes' });
    const r = serviceAnnouncements([odd], [], 'a', all);
    assert.deepEqual(r.announce, []);
    assert.deepEqual(r.problems[0].object, { kind: 'Service', namespace: 'ns', name: 'odd' });
    assert.equal(r.problems[0].field, `metadata.annotations[${SERVICE_ADVERTISE_ANNOTATIONS.clusterIP}]`);
    const t = svc('t', { clusterIP: '10.96.0.31' }, { [SERVICE_ADVERTISE_ANNOTATIONS.clusterIP]: '1' });
    assert.deepEqual(serviceAnnouncements([t], [], 'a', none).announce, ['10.96.0.31/32']);
  });

  it('skips headless and ExternalName Services, and LoadBalancer IPs of other types', () => {
    const headless = svc('h', { clusterIP: 'None', clusterIPs: ['None'] });
    const name = svc('n', { type: 'ExternalName', clusterIP: '10.96.0.40' });
    const notLb = svc('c', { clusterIP: '10.96.0.41' }, undefined, ['198.51.100.9']);
    assert.deepEqual(serviceAnnouncements([headless, name, notLb], [], 'a', all).announce, ['10.96.0.41/32']);
  });

  it('announces a Local Service only from nodes with a ready endpoint of it', () => {
    const local = svc('web', {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.10',
      externalIPs: ['192.0.2.7'],
      externalTrafficPolicy: 'Local',
    }, undefined, ['198.51.100.1']); // prettier-ignore
    const slices = [slice('web', [{ node: 'a' }, { node: 'b', ready: false }])];
    const every = ['10.96.0.10/32', '192.0.2.7/32', '198.51.100.1/32'];
    assert.deepEqual(serviceAnnouncements([local], slices, 'a', all).announce, every);
    assert.deepEqual(serviceAnnouncements([local], slices, 'b', all).announce, [], 'not ready on b');
    assert.deepEqual(serviceAnnouncements([local], slices, 'c', all).announce, [], 'no endpoint on c');
    assert.deepEqual(serviceAnnouncements([local], [], 'a', all).rejectImport, every);
    const annotated = svc('web', { clusterIP: '10.96.0.10' }, { [SERVICE_LOCAL_ANNOTATION]: 'true' });
    assert.deepEqual(serviceAnnouncements([annotated], slices, 'c', all).announce, []);
  });

  it('gates only the cluster IP on internalTrafficPolicy Local', () => {
    const s = svc('web', {
      clusterIP: '10.96.0.10',
      externalIPs: ['192.0.2.7'],
      internalTrafficPolicy: 'Local',
    });
    assert.deepEqual(serviceAnnouncements([s], [], 'a', all).announce, ['192.0.2.7/32']);
    const ready = [slice('web', [{ node: 'a', ready: true }])];
    assert.deepEqual(serviceAnnouncements([s], ready, 'a', all).announce, ['10.96.0.10/32', '192.0.2.7/32']);
  });

  it('announces the aggregate range instead of the cluster IPs it covers, except Local ones', () => {
    const o = routingOptions({ advertiseClusterIP: true, advertiseServiceClusterIPRanges: ['10.96.0.0/16'] });
    const local = svc('l', { clusterIP: '10.96.0.50', externalTrafficPolicy: 'Local' });
    const outside = svc('o', { clusterIP: '10.97.0.1' });
    const ready = [slice('l', [{ node: 'a' }])];
    assert.deepEqual(serviceAnnouncements([web, local, outside], ready, 'a', o).announce, [
      '10.96.0.0/16',
      '10.96.0.50/32',
      '10.97.0.1/32',
    ]);
    assert.deepEqual(serviceAnnouncements([], [], 'a', o).announce, ['10.96.0.0/16'], 'even with no Service');
  });

  it('announces dual-stack cluster IPs as /32 and /128', () => {
    const s = svc('d', { clusterIP: '10.96.0.60', clusterIPs: ['10.96.0.60', 'fd00:96::60'] });
    assert.deepEqual(serviceAnnouncements([s], [], 'a', all).announce, ['10.96.0.60/32', 'fd00:96::60/128']);
  });

  it('rejects a service range flag that is not a CIDR', () => {
    assert.throws(
      () => routingOptions({ advertiseServiceClusterIPRanges: ['10.96.0.0'] }),
      RoutingConfigError,
    );
    assert.throws(() => routingOptions({ advertiseServiceClusterIPRanges: ['x/16'] }), {
      code: 'ERR_BGP_BAD_SERVICE_RANGE',
    });
  });
});

describe('service announcements fuzz', () => {
  it('never throws on odd Services and EndpointSlices', () => {
    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 100000);
    let x = seed;
    const rnd = (n: number): number => ((x = (x * 1103515245 + 12345) % 2147483648), x % n);
    const pick = <T>(a: readonly T[]): T => a[rnd(a.length)];
    const ips = [
      '10.96.0.1',
      'None',
      '',
      'fe80::1%eth0',
      '::ffff:1.2.3.4',
      '999.1.1.1',
      'x',
      '::',
      '10.96.0.1/32',
    ];
    const types = [undefined, 'ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName', 'Weird'];
    const values = [undefined, 'true', 'false', '', 'maybe', '1', 'F'];
    for (let i = 0; i < 2000; i++) {
      const a: Record<string, string> = {};
      for (const k of Object.values(SERVICE_ADVERTISE_ANNOTATIONS)) {
        const v = pick(values);
        if (v !== undefined) a[k] = v;
      }
      if (rnd(3) === 0) a[SERVICE_LOCAL_ANNOTATION] = '';
      const s = {
        metadata: { name: `s${rnd(3)}`, ...(rnd(2) ? { namespace: 'ns' } : {}), annotations: a },
        ...(rnd(5) === 0
          ? {}
          : {
              spec: {
                type: pick(types),
                clusterIP: pick(ips),
                ...(rnd(2) ? { clusterIPs: [pick(ips), pick(ips)] } : {}),
                ...(rnd(2) ? { externalIPs: [pick(ips)] } : {}),
                externalTrafficPolicy: pick(['Local', 'Cluster', undefined]),
                internalTrafficPolicy: pick(['Local', 'Cluster', undefined]),
              },
            }),
        ...(rnd(2) ? { status: { loadBalancer: { ingress: [{ ip: pick(ips) }, {}] } } } : {}),
      } as Service;
      const sl = {
        metadata: {
          name: 'e',
          ...(rnd(2) ? { labels: { 'kubernetes.io/service-name': `s${rnd(3)}` } } : {}),
        },
        endpoints: rnd(4) === 0 ? null : [{ addresses: [], nodeName: pick(['a', 'b', undefined]) }],
      } as EndpointSlice;
      assert.doesNotThrow(() => serviceAnnouncements([s], [sl], 'a', all), `seed ${seed}, case ${i}`);
    }
  });
});
