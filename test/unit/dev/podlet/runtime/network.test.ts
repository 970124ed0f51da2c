import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ipIn, netnsExists, runCommand } from '../../../../../src/dev/lab/index.ts';
import {
  ConnectError,
  PodIPAM,
  connectInNetns,
  createPodSandbox,
  hostVethName,
  startContainer,
} from '../../../../../src/dev/podlet/runtime/index.ts';
import type { ContainerProcess } from '../../../../../src/dev/podlet/types.ts';
import { connectRetry, podLab, readAll, root, type PodLab } from './pod-lab.ts';

const skip = !root && 'needs root (network namespaces)';
let env: PodLab;
let server: ContainerProcess;
let local: ContainerProcess;

// Port 7000 echoes (half-closing after the client does); port 7001 says hello, half-closes at once,
// and logs how many bytes it then still received.
const SERVER = `
const net = require('node:net');
net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s)).listen(7000, '0.0.0.0');
net.createServer({ allowHalfOpen: true }, (s) => {
  s.end('hello');
  let n = 0;
  s.on('data', (c) => (n += c.length));
  s.on('end', () => console.log('received ' + n));
}).listen(7001, '0.0.0.0', () => console.log('listening'));
`;

before(async () => {
  if (!root) return;
  env = await podLab('net');
  server = startContainer({
    sandbox: env.pods[1],
    id: 'server',
    argv: [process.execPath, '-e', SERVER],
    env: {},
    mounts: [],
    logPath: join(env.dir, 'server.log'),
    stdin: false,
    stdinOnce: false,
    tty: false,
  });
  local = startContainer({
    sandbox: env.pods[0],
    id: 'local',
    argv: [process.execPath, '-e', SERVER],
    env: {},
    mounts: [],
    logPath: join(env.dir, 'local.log'),
    stdin: false,
    stdinOnce: false,
    tty: false,
  });
});
after(async () => {
  if (!root) return;
  try {
    await server.stop(1000);
    await local.stop(1000);
  } finally {
    await env.close();
  }
});

test(
  'pod sandboxes have eth0, loopback, a default route and a hairpin port on the node bridge',
  { skip },
  async () => {
    const [a] = env.pods;
    assert.match(
      await ipIn(a.netns, 'addr', 'show', 'eth0'),
      new RegExp(`inet ${a.ip.replaceAll('.', '\\.')}/24`),
    );
    assert.match(await ipIn(a.netns, 'route', 'show', 'default'), /default via 10\.244\.0\.1 dev eth0/);
    const veth = hostVethName(a.netns);
    assert.ok(veth.length <= 15);
    const node = env.lab.node('n1').netns;
    assert.match(await ipIn(node, '-d', 'link', 'show', veth), /master kgbr0.*|hairpin on/s);
    assert.match(await runCommand('bridge', ['-n', node, '-d', 'link', 'show', 'dev', veth]), /hairpin on/);
  },
);

test('a pod on one node reaches a pod on the other through the underlay (TCP)', { skip }, async () => {
  const [a, b] = env.pods;
  const s = await connectRetry(a.netns, b.ip, 7000);
  s.end('across nodes');
  assert.equal((await readAll(s)).toString(), 'across nodes');
});

test(
  'connectInNetns to 127.0.0.1 in the pod (port-forward) carries 10 MiB each way intact',
  { skip },
  async () => {
    const b = env.pods[1];
    const data = randomBytes(10 * 1024 * 1024);
    const s = await connectRetry(b.netns, '127.0.0.1', 7000);
    const got = readAll(s);
    s.end(data);
    const back = await got;
    assert.equal(back.length, data.length);
    assert.equal(
      createHash('sha256').update(back).digest('hex'),
      createHash('sha256').update(data).digest('hex'),
    );
  },
);

test('connectInNetns: half-close works both ways', { skip }, async () => {
  const [a, b] = env.pods;
  const s = await connectRetry(a.netns, b.ip, 7001);
  const hello = await readAll(s); // the server half-closed: our readable ended...
  assert.equal(hello.toString(), 'hello');
  await new Promise((r) => setTimeout(r, 800)); // longer than socat's default 0.5 s linger
  s.end(Buffer.alloc(12345)); // ...and we can still write
  await new Promise<void>((r) => s.once('close', () => r()));
  const deadline = Date.now() + 5000;
  while (!readFileSync(join(env.dir, 'server.log'), 'utf8').includes('received 12345')) {
    assert.ok(Date.now() < deadline, 'server did not receive the bytes sent after its half-close');
    await new Promise((r) => setTimeout(r, 50));
  }
  // And our half-close: the echo server sees EOF, finishes echoing, then closes.
  const e = await connectInNetns(a.netns, b.ip, 7000);
  e.write('x');
  e.end('y');
  assert.equal((await readAll(e)).toString(), 'xy');
});

test('connectInNetns rejects a refused connection with ECONNREFUSED', { skip }, async () => {
  const err = await connectInNetns(env.pods[0].netns, '127.0.0.1', 7999).then(
    () => assert.fail('connected'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectError);
  assert.equal(err.code, 'ECONNREFUSED');
  assert.match(err.message, /127\.0\.0\.1:7999 in network namespace .*Connection refused/);
  await assert.rejects(connectInNetns('kgt-no-such-netns', '127.0.0.1', 80), ConnectError);
});

test(
  'a second pod on a node reaches both pods; sandbox create replaces only a stale namespace; destroy cleans up',
  { skip },
  async () => {
    const node = env.lab.node('n1');
    const ipam = new PodIPAM('10.244.0.0/24');
    ipam.allocate('pod');
    const ip = ipam.allocate('extra')!;
    const opts = {
      nodeNetns: node.netns,
      bridge: node.bridge,
      netns: `${node.netns}-extra`,
      ip,
      prefixLength: 24,
      gateway: ipam.gateway,
    };
    const sb = await createPodSandbox(opts);
    const s = await connectRetry(sb.netns, env.pods[1].ip, 7000);
    s.end('other node');
    assert.equal((await readAll(s)).toString(), 'other node');
    const same = await connectRetry(sb.netns, env.pods[0].ip, 7000); // same node: across the bridge
    same.end('same node');
    assert.equal((await readAll(same)).toString(), 'same node');

    // In use (a process inside): refused. Stale (nothing inside, e.g. after a podlet crash): replaced.
    const sleeper = startContainer({
      sandbox: sb,
      id: 'sleeper',
      argv: ['/bin/sleep', '100'],
      env: {},
      mounts: [],
      logPath: join(env.dir, 'sleeper.log'),
      stdin: false,
      stdinOnce: false,
      tty: false,
    });
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(createPodSandbox(opts), /already exists, in use by pids/);
    await sleeper.stop(1000);
    const again = await createPodSandbox({ ...opts, release: () => ipam.release('extra') });
    assert.equal(again.netns, sb.netns);
    const back = await connectRetry(again.netns, env.pods[1].ip, 7000);
    back.end('replaced');
    assert.equal((await readAll(back)).toString(), 'replaced');

    await again.destroy();
    await again.destroy();
    assert.equal(ipam.get('extra'), undefined);
    assert.equal(netnsExists(sb.netns), false);
    await assert.rejects(ipIn(node.netns, 'link', 'show', hostVethName(sb.netns)));
  },
);
