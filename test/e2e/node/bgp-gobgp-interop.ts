// Interop with GoBGP: sessions, IPv4 and IPv6 prefixes both ways, communities and prepends in its
// RIB, TCP-MD5 with the right and a wrong key, hold timer expiry, and graceful restart with gobgpd
// as helper. Runs in network namespaces it creates (root needed). One suite, two peers: Debian's
// gobgpd 3.x (bgp-gobgpd.test.ts) and GoBGP v4 built from its Go module (bgp-gobgpd-v4.test.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BgpLab, inNs, PEER4, PEER6, SpeakerProcess, US4, US6, waitFor } from './bgp-lab.ts';

export interface GobgpPeer {
  /** Names the tests (`with gobgpd 3`). */
  name: string;
  /** Names the lab's namespaces. */
  lab: string;
  /** The daemon's and the CLI's programs. */
  gobgpd: string;
  gobgp: string;
  /** What `gobgpd --version` must print. */
  version: RegExp;
}

export function gobgpInterop(peer: GobgpPeer): void {
  const lab = new BgpLab(peer.lab);
  const dir = mkdtempSync(join(tmpdir(), `kg-bgp-${peer.lab}-`));

  function gobgpConfig(o: { key?: string; hold?: number }): string {
    const family = (name: string) => `
    [[neighbors.afi-safis]]
      [neighbors.afi-safis.config]
        afi-safi-name = "${name}"
      [neighbors.afi-safis.mp-graceful-restart.config]
        enabled = true`;
    return `
  [global.config]
    as = 65003
    router-id = "${PEER4}"
    local-address-list = ["${PEER4}"]

  [[neighbors]]
    [neighbors.config]
      neighbor-address = "${US4}"
      peer-as = 65001
      ${o.key ? `auth-password = "${o.key}"` : ''}
    [neighbors.timers.config]
      connect-retry = 1
      hold-time = ${o.hold ?? 90}
      keepalive-interval = ${Math.max(1, Math.floor((o.hold ?? 90) / 3))}
    [neighbors.graceful-restart.config]
      enabled = true
      restart-time = 60
  ${family('ipv4-unicast')}
  ${family('ipv6-unicast')}
  `;
  }

  function startGobgp(o: { key?: string; hold?: number } = {}) {
    writeFileSync(join(dir, 'gobgpd.toml'), gobgpConfig(o));
    const child = lab.spawn(lab.peer, peer.gobgpd, [
      '-f',
      join(dir, 'gobgpd.toml'),
      '-p',
      '--api-hosts',
      '127.0.0.1:50051',
      '--pprof-disable',
    ]);
    let log = '';
    child.stdout!.on('data', (d) => (log += d));
    child.stderr!.on('data', (d) => (log += d));
    return Object.assign(child, { log: () => log });
  }
  const gobgp = (...args: string[]) =>
    inNs(lab.peer, peer.gobgp, ['-u', '127.0.0.1', '-p', '50051', ...args]);
  const rib = (family: 'ipv4' | 'ipv6') => {
    try {
      return gobgp('global', 'rib', '-a', family);
    } catch {
      return '';
    }
  };
  const neighborState = () => {
    try {
      return gobgp('neighbor', US4);
    } catch {
      return '';
    }
  };

  function ourConfig(o: { key?: string; hold?: number; restarting?: boolean } = {}) {
    return {
      asn: 65001,
      routerId: US4,
      listen: { address: US4, port: 179 },
      ipv6NextHops: [US6],
      restarting: o.restarting,
      neighbors: [
        {
          peerAddress: PEER4,
          peerAs: 65003,
          localAddress: US4,
          holdTime: o.hold ?? 90,
          connectRetrySeconds: 1,
          maxRetrySeconds: 4,
          families: ['ipv4-unicast', 'ipv6-unicast'],
          md5Key: o.key,
          gracefulRestart: { restartTime: 60 },
          exportCommunities: ['65001:100'],
          largeCommunities: [[65001, 7, 8]],
          prepend: 2,
          rejectImport: ['10.96.0.0/16'],
        },
      ],
    };
  }

  async function stopGobgp(g: ReturnType<typeof startGobgp>): Promise<void> {
    g.kill('SIGTERM');
    await waitFor('gobgpd exit', () => g.exitCode !== null || g.signalCode !== null, 5000);
  }

  async function apiUp(): Promise<void> {
    await waitFor('gobgpd API', () => {
      try {
        gobgp('global');
        return true;
      } catch {
        return false;
      }
    });
  }

  before(() => lab.create());
  after(() => {
    lab.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${peer.name}: version`, () => {
    const v = spawnSync(peer.gobgpd, ['--version'], { encoding: 'utf8' });
    console.log(`bgp interop: ${(v.stdout + v.stderr).trim()}`);
    assert.match(v.stdout + v.stderr, peer.version);
  });

  test(`${peer.name}: Established, IPv4 and IPv6 both ways, communities and prepends in its RIB`, async () => {
    const g = startGobgp();
    const us = new SpeakerProcess(lab, ourConfig());
    try {
      await apiUp();
      gobgp('global', 'rib', 'add', '10.253.0.0/24', '-a', 'ipv4');
      gobgp('global', 'rib', 'add', '10.96.5.0/24', '-a', 'ipv4');
      gobgp('global', 'rib', 'add', 'fd00:253::/64', 'nexthop', PEER6, '-a', 'ipv6');
      await waitFor('ready', () => us.lines.some((l) => l.ready));
      us.send({ announce: '10.244.1.0/24' });
      us.send({ announce: 'fd00:244:1::/64' });
      await waitFor('Established with gobgpd', () => us.state(PEER4) === 'established');
      await waitFor(
        'gobgpd routes at us',
        () => us.routes().has('10.253.0.0/24') && us.routes().has('fd00:253::/64'),
      );
      assert.deepEqual(us.routes().get('10.253.0.0/24'), [PEER4]);
      assert.deepEqual(us.routes().get('fd00:253::/64'), [PEER6]);
      assert.equal(us.routes().has('10.96.5.0/24'), false, 'service range refused on import');
      await waitFor(
        'our routes in gobgpd',
        () => rib('ipv4').includes('10.244.1.0/24') && rib('ipv6').includes('fd00:244:1::/64'),
      );
      const v4 = rib('ipv4');
      const v6 = rib('ipv6');
      console.log(`bgp interop: gobgp global rib -a ipv4\n${v4}\ngobgp global rib -a ipv6\n${v6}`);
      const line4 = v4.split('\n').find((l) => l.includes('10.244.1.0/24'))!;
      const line6 = v6.split('\n').find((l) => l.includes('fd00:244:1::/64'))!;
      assert.match(line4, /10\.251\.0\.1\s+65001 65001 65001/);
      assert.match(line4, /65001:100/);
      assert.match(line4, /65001:7:8/);
      assert.match(line6, /fd00:251::1\s+65001 65001 65001/);
      us.send({ withdraw: '10.244.1.0/24' });
      await waitFor('withdrawn at gobgpd', () => !rib('ipv4').includes('10.244.1.0/24'));
    } finally {
      await us.stop();
      await stopGobgp(g);
    }
  });

  test(`${peer.name}: TCP-MD5 with the right key comes up, with a wrong key never does`, async () => {
    const g = startGobgp({ key: 'sesame' });
    try {
      const right = new SpeakerProcess(lab, ourConfig({ key: 'sesame' }));
      await waitFor('Established with the right key', () => right.state(PEER4) === 'established');
      await right.stop();
      const wrong = new SpeakerProcess(lab, ourConfig({ key: 'not-sesame' }));
      await new Promise((r) => setTimeout(r, 6000));
      const states = wrong.events('state').map((e) => e.to);
      console.log(`bgp interop: wrong key, our states: ${states.join(' ')}`);
      assert.ok(
        !states.includes('open-sent') && !states.includes('established'),
        'no TCP connection with a wrong key',
      );
      assert.doesNotMatch(neighborState(), /BGP state = (BGP_FSM_)?[Ee]stablished/);
      await wrong.stop();
    } finally {
      await stopGobgp(g);
    }
  });

  test(`${peer.name}: a frozen peer is dropped with Hold Timer Expired, and the session comes back`, async () => {
    const g = startGobgp({ hold: 3 });
    const us = new SpeakerProcess(lab, ourConfig({ hold: 3 }));
    try {
      await waitFor('Established', () => us.state(PEER4) === 'established');
      g.kill('SIGSTOP');
      const t0 = Date.now();
      await waitFor('hold timer expiry', () => us.events('down').length > 0, 10_000);
      const down = us.events('down')[0].down as { kind: string };
      console.log(`bgp interop: down after ${Date.now() - t0} ms: ${JSON.stringify(down)}`);
      assert.equal(down.kind, 'hold-timer-expired');
      g.kill('SIGCONT');
      await waitFor('Established again', () => us.state(PEER4) === 'established', 30_000);
    } finally {
      g.kill('SIGCONT');
      await us.stop();
      await stopGobgp(g);
    }
  });

  test(`${peer.name} as helper: our routes are kept while we restart, and what we no longer send is dropped`, async () => {
    const g = startGobgp();
    try {
      await apiUp();
      const first = new SpeakerProcess(lab, ourConfig());
      await waitFor('ready', () => first.lines.some((l) => l.ready));
      first.send({ announce: '10.244.1.0/24' });
      first.send({ announce: '10.244.2.0/24' });
      await waitFor(
        'both in gobgpd',
        () => rib('ipv4').includes('10.244.1.0/24') && rib('ipv4').includes('10.244.2.0/24'),
      );
      await first.stop(true);
      await new Promise((r) => setTimeout(r, 2000));
      const during = rib('ipv4');
      console.log(`bgp interop: gobgpd while we restart:\n${during}\n${neighborState()}`);
      assert.ok(
        during.includes('10.244.1.0/24') && during.includes('10.244.2.0/24'),
        'routes kept during the restart',
      );
      const second = new SpeakerProcess(lab, ourConfig({ restarting: true }));
      await waitFor('ready', () => second.lines.some((l) => l.ready));
      second.send({ announce: '10.244.1.0/24' });
      await waitFor('Established again', () => second.state(PEER4) === 'established', 30_000);
      await waitFor('dropped after End-of-RIB', () => !rib('ipv4').includes('10.244.2.0/24'), 10_000);
      assert.ok(rib('ipv4').includes('10.244.1.0/24'));
      await second.stop();
    } finally {
      await stopGobgp(g);
    }
  });
}
