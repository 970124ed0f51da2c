import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { podHostsFile, podResolvConf, type NodeDns } from '../../../../../src/dev/podlet/spec/dns-files.ts';

const node: NodeDns = {
  clusterDNS: ['10.250.0.11'],
  clusterDomain: 'cluster.local',
  hostResolvConf: '# host\nsearch corp.example\nnameserver 10.255.255.53\noptions edns0\n',
};
const pod = (spec: Partial<V1PodSpec>, name = 'web-0'): V1Pod => ({
  metadata: { name, namespace: 'shop' },
  spec: { containers: [], ...spec },
});

describe("the pod's resolv.conf and hosts, as a kubelet writes them", () => {
  it('ClusterFirst (the default): cluster DNS, the namespace search path before the host one, ndots 5', () => {
    assert.equal(
      podResolvConf(pod({}), node),
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.250.0.11\noptions ndots:5\n',
    );
  });

  it("keeps the node's own file for Default, and for ClusterFirst on the host network or without cluster DNS", () => {
    assert.equal(podResolvConf(pod({ dnsPolicy: 'Default' }), node), null);
    assert.equal(podResolvConf(pod({ hostNetwork: true }), node), null);
    assert.equal(podResolvConf(pod({}), { ...node, clusterDNS: [] }), null);
  });

  it('ClusterFirstWithHostNet gives a host-network pod the cluster DNS', () => {
    assert.match(
      podResolvConf(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), node) ?? '',
      /^nameserver 10\.250\.0\.11$/m,
    );
  });

  it('None takes dnsConfig alone; dnsConfig adds to the others and overrides options by name', () => {
    const dnsConfig = {
      nameservers: ['1.2.3.4'],
      searches: ['ns1.svc.cluster-domain.example'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    };
    assert.equal(
      podResolvConf(pod({ dnsPolicy: 'None', dnsConfig }), node),
      'search ns1.svc.cluster-domain.example\nnameserver 1.2.3.4\noptions ndots:2 edns0\n',
    );
    assert.equal(
      podResolvConf(pod({ dnsConfig }), node),
      'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example ns1.svc.cluster-domain.example\n' +
        'nameserver 10.250.0.11\nnameserver 1.2.3.4\noptions ndots:2 edns0\n',
    );
    assert.equal(
      podResolvConf(pod({ dnsPolicy: 'Default', dnsConfig: { searches: ['x.example'] } }), node),
      'search corp.example x.example\nnameserver 10.255.255.53\noptions edns0\n',
    );
  });

  it('names the pod by hostname and subdomain, adds hostAliases, and leaves the host network alone', () => {
    const hosts = podHostsFile(
      pod({
        hostname: 'db-0',
        subdomain: 'db',
        hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar'] }],
      }),
      '10.244.1.7',
      'cluster.local',
    );
    assert.match(hosts ?? '', /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts ?? '', /^10\.244\.1\.7\tdb-0\.db\.shop\.svc\.cluster\.local\tdb-0$/m);
    assert.match(hosts ?? '', /^10\.1\.2\.3\tfoo\.local\tbar$/m);
    assert.match(podHostsFile(pod({}), '10.244.1.8', 'cluster.local') ?? '', /^10\.244\.1\.8\tweb-0$/m);
    assert.equal(podHostsFile(pod({ hostNetwork: true }), '10.250.0.11', 'cluster.local'), null);
  });
});
