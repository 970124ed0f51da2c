// ECMP: BIRD and gobgpd, each over its own link, announce the same prefix with equal paths; our
// speaker installs one route with both next hops, and one next hop when a peer leaves.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BgpLab, inNs, link, SpeakerProcess, waitFor } from './bgp-lab.ts';

const lab = new BgpLab('ecmp', 2);
const dir = mkdtempSync(join(tmpdir(), 'kg-bgp-ecmp-'));
const [toBird, toGobgp] = [link(0), link(1)];

before(() => lab.create());
after(() => {
  lab.remove();
  rmSync(dir, { recursive: true, force: true });
});

test('equal paths from BIRD and gobgpd become one ECMP route in our table', async () => {
  writeFileSync(
    join(dir, 'bird.conf'),
    `router id ${toBird.peer4};
protocol device {}
protocol static s4 { ipv4; route 10.254.0.0/24 blackhole; }
protocol bgp kg {
  local ${toBird.peer4} as 65002;
  neighbor ${toBird.us4} as 65001;
  connect retry time 1;
  ipv4 { import none; export filter { if proto = "s4" then { bgp_origin = ORIGIN_IGP; accept; } reject; }; };
}
`,
  );
  writeFileSync(
    join(dir, 'gobgpd.toml'),
    `[global.config]
  as = 65003
  router-id = "${toGobgp.peer4}"
  local-address-list = ["${toGobgp.peer4}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${toGobgp.us4}"
    peer-as = 65001
  [neighbors.timers.config]
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`,
  );
  const bird = lab.spawn(lab.peers[0], 'bird', [
    '-f',
    '-c',
    join(dir, 'bird.conf'),
    '-s',
    join(dir, 'bird.ctl'),
  ]);
  const gobgpd = lab.spawn(lab.peers[1], 'gobgpd', [
    '-f',
    join(dir, 'gobgpd.toml'),
    '--api-hosts',
    '127.0.0.1:50051',
    '--pprof-disable',
  ]);
  const gobgp = (...args: string[]) =>
    inNs(lab.peers[1], 'gobgp', ['-u', '127.0.0.1', '-p', '50051', ...args]);
  await waitFor('gobgpd API', () => {
    try {
      gobgp('global', 'rib', 'add', '10.254.0.0/24', 'origin', 'igp', '-a', 'ipv4');
      return true;
    } catch {
      return false;
    }
  });
  const neighbor = (peerAddress: string, localAddress: string, peerAs: number) => ({
    peerAddress,
    localAddress,
    peerAs,
    connectRetrySeconds: 1,
    families: ['ipv4-unicast'],
  });
  const us = new SpeakerProcess(lab, {
    asn: 65001,
    routerId: toBird.us4,
    listen: { address: '0.0.0.0', port: 179 },
    installRoutes: true,
    neighbors: [neighbor(toBird.peer4, toBird.us4, 65002), neighbor(toGobgp.peer4, toGobgp.us4, 65003)],
  });
  const kernel = () => inNs(lab.us, 'ip', ['route', 'show', 'proto', '196']);
  try {
    await waitFor('both next hops in the Loc-RIB', () => us.routes().get('10.254.0.0/24')?.length === 2);
    await waitFor('ECMP route in our table', () => (kernel().match(/nexthop via/g) ?? []).length === 2);
    console.log(`bgp interop: ip route show proto 196 (our namespace)\n${kernel()}`);
    assert.match(kernel(), /nexthop via 10\.251\.0\.2 dev kgbgp0/);
    assert.match(kernel(), /nexthop via 10\.251\.1\.2 dev kgbgp1a/);
    gobgpd.kill('SIGTERM');
    await waitFor('one next hop left', () =>
      /^10\.254\.0\.0\/24 via 10\.251\.0\.2 dev kgbgp0/m.test(kernel()),
    );
    console.log(`bgp interop: after gobgpd left\n${kernel()}`);
  } finally {
    await us.stop();
    bird.kill('SIGTERM');
    gobgpd.kill('SIGTERM');
  }
});
