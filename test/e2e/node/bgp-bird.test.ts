// Interop with BIRD 2 (Debian's bird2): sessions, IPv4 and IPv6 prefixes both ways, communities
// and prepends in BIRD's table, TCP-MD5 with the right and a wrong key, hold timer expiry, and
// graceful restart with BIRD as helper. Runs in network namespaces it creates (root needed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BgpLab, inNs, PEER4, PEER6, SpeakerProcess, US4, US6, waitFor } from './bgp-lab.ts';

const lab = new BgpLab('bird');
const dir = mkdtempSync(join(tmpdir(), 'kg-bgp-bird-'));
const sock = join(dir, 'bird.ctl');

function birdConfig(o: { key?: string; hold?: number }): string {
  return `
router id ${PEER4};
log "${dir}/bird.log" all;
protocol device {}
protocol static s4 { ipv4; route 10.252.0.0/24 blackhole; }
protocol static s6 { ipv6; route fd00:252::/64 blackhole; }
protocol bgp kg {
  local ${PEER4} as 65002;
  neighbor ${US4} as 65001;
  hold time ${o.hold ?? 90};
  connect retry time 1;
  error wait time 1, 2;
  ${o.key ? `password "${o.key}";` : ''}
  graceful restart on;
  graceful restart time 60;
  ipv4 { import all; export where proto = "s4"; };
  ipv6 { import all; export where proto = "s6"; next hop address ${PEER6}; };
}
`;
}

function startBird(o: { key?: string; hold?: number } = {}) {
  writeFileSync(join(dir, 'bird.conf'), birdConfig(o));
  return lab.spawn(lab.peer, 'bird', [
    '-f',
    '-c',
    join(dir, 'bird.conf'),
    '-s',
    sock,
    '-P',
    join(dir, 'bird.pid'),
  ]);
}
const birdc = (...args: string[]) => inNs(lab.peer, 'birdc', ['-s', sock, ...args]);

function ourConfig(o: { key?: string; hold?: number; restarting?: boolean } = {}) {
  return {
    asn: 65001,
    routerId: US4,
    listen: { address: US4, port: 179 },
    ipv6NextHops: [US6],
    restarting: o.restarting,
    installRoutes: true,
    neighbors: [
      {
        peerAddress: PEER4,
        peerAs: 65002,
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

before(() => lab.create());
after(() => {
  lab.remove();
  rmSync(dir, { recursive: true, force: true });
});

test('BIRD version', () => {
  const v = spawnSync('bird', ['--version'], { encoding: 'utf8' });
  console.log(`bgp interop: ${(v.stdout + v.stderr).trim()}`);
  assert.match(v.stdout + v.stderr, /BIRD version 2\./);
});

test('with BIRD: Established, IPv4 and IPv6 both ways, communities and prepends in its table', async () => {
  const bird = startBird();
  const us = new SpeakerProcess(lab, ourConfig());
  try {
    await waitFor('ready', () => us.lines.some((l) => l.ready));
    us.send({ announce: '10.244.1.0/24' });
    us.send({ announce: 'fd00:244:1::/64' });
    await waitFor('Established with bird', () => us.state(PEER4) === 'established');
    await waitFor(
      'bird routes at us',
      () => us.routes().has('10.252.0.0/24') && us.routes().has('fd00:252::/64'),
    );
    assert.deepEqual(us.routes().get('10.252.0.0/24'), [PEER4]);
    assert.deepEqual(us.routes().get('fd00:252::/64'), [PEER6]);
    let table = '';
    await waitFor('our routes in bird', () => {
      table = birdc('show', 'route', 'protocol', 'kg', 'all');
      return table.includes('10.244.1.0/24') && table.includes('fd00:244:1::/64');
    });
    console.log(`bgp interop: birdc show route protocol kg all\n${table}`);
    assert.match(table, /BGP\.as_path: 65001 65001 65001/);
    assert.match(table, /BGP\.community: \(65001,100\)/);
    assert.match(table, /BGP\.large_community: \(65001, 7, 8\)/);
    assert.match(table, new RegExp(`BGP\\.next_hop: ${US6}`));
    // Learned routes are in our namespace's table under our protocol number.
    const kernel = () =>
      inNs(lab.us, 'ip', ['route', 'show', 'proto', '196']) +
      inNs(lab.us, 'ip', ['-6', 'route', 'show', 'proto', '196']);
    await waitFor(
      'kernel routes',
      () => kernel().includes('10.252.0.0/24') && kernel().includes('fd00:252::/64'),
    );
    console.log(`bgp interop: ip route show proto 196 (our namespace)\n${kernel()}`);
    assert.match(kernel(), /10\.252\.0\.0\/24 via 10\.251\.0\.2 dev kgbgp0/);
    assert.match(kernel(), /fd00:252::\/64 via fd00:251::2 dev kgbgp0/);
    us.send({ withdraw: '10.244.1.0/24' });
    await waitFor(
      'withdrawn at bird',
      () => !birdc('show', 'route', 'protocol', 'kg').includes('10.244.1.0/24'),
    );
    // BIRD shut down (Cease): its routes leave our table.
    bird.kill('SIGTERM');
    await waitFor(
      'kernel routes removed',
      () => !kernel().includes('10.252.0.0/24') && !kernel().includes('fd00:252::/64'),
    );
  } finally {
    await us.stop();
    bird.kill('SIGTERM');
    await waitFor('bird exit', () => bird.exitCode !== null || bird.signalCode !== null, 5000);
  }
});

async function stopBird(bird: ReturnType<typeof startBird>): Promise<void> {
  bird.kill('SIGTERM');
  await waitFor('bird exit', () => bird.exitCode !== null || bird.signalCode !== null, 5000);
}

test('with BIRD: TCP-MD5 with the right key comes up, with a wrong key never does', async () => {
  const bird = startBird({ key: 'sesame' });
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
    assert.doesNotMatch(birdc('show', 'protocols', 'kg'), /Established/);
    await wrong.stop();
  } finally {
    await stopBird(bird);
  }
});

test('with BIRD: a frozen peer is dropped with Hold Timer Expired, and the session comes back', async () => {
  const bird = startBird({ hold: 3 });
  const us = new SpeakerProcess(lab, ourConfig({ hold: 3 }));
  try {
    await waitFor('Established', () => us.state(PEER4) === 'established');
    bird.kill('SIGSTOP');
    const t0 = Date.now();
    await waitFor('hold timer expiry', () => us.events('down').length > 0, 10_000);
    const down = us.events('down')[0].down as { kind: string; code: number };
    console.log(`bgp interop: down after ${Date.now() - t0} ms: ${JSON.stringify(down)}`);
    assert.equal(down.kind, 'hold-timer-expired');
    bird.kill('SIGCONT');
    await waitFor('Established again', () => us.state(PEER4) === 'established', 20_000);
  } finally {
    bird.kill('SIGCONT');
    await us.stop();
    await stopBird(bird);
  }
});

test('with BIRD as helper: our routes are kept while we restart, and what we no longer send is dropped', async () => {
  const bird = startBird();
  try {
    const first = new SpeakerProcess(lab, ourConfig());
    await waitFor('ready', () => first.lines.some((l) => l.ready));
    first.send({ announce: '10.244.1.0/24' });
    first.send({ announce: '10.244.2.0/24' });
    const inBird = () => birdc('show', 'route', 'protocol', 'kg');
    await waitFor(
      'both in bird',
      () => inBird().includes('10.244.1.0/24') && inBird().includes('10.244.2.0/24'),
    );
    await first.stop(true);
    await new Promise((r) => setTimeout(r, 2000));
    const during = birdc('show', 'route', 'protocol', 'kg', 'all');
    console.log(`bgp interop: bird while we restart:\n${during}\n${birdc('show', 'protocols', 'all', 'kg')}`);
    assert.ok(
      during.includes('10.244.1.0/24') && during.includes('10.244.2.0/24'),
      'routes kept during the restart',
    );
    const second = new SpeakerProcess(lab, ourConfig({ restarting: true }));
    await waitFor('ready', () => second.lines.some((l) => l.ready));
    second.send({ announce: '10.244.1.0/24' });
    await waitFor('Established again', () => second.state(PEER4) === 'established');
    await waitFor('dropped after End-of-RIB', () => !inBird().includes('10.244.2.0/24'), 10_000);
    assert.ok(inBird().includes('10.244.1.0/24'));
    await second.stop();
  } finally {
    await stopBird(bird);
  }
});
