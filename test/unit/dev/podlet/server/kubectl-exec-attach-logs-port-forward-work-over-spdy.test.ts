import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:https';
import { connect as netConnect, createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { locateKubectl, startFakeApiserver, writeKubeconfig } from './fake-apiserver.ts';
import { FakeBackend, makePki, readAll, removePki, startKubelet, type TestPki } from './fixtures.ts';

// The real judge: kubectl v1.37 with its WebSocket transports switched off talks SPDY through a
// stand-in kube-apiserver (which tunnels the upgraded connection unchanged) to the kubelet API.

let pki: TestPki;
let kubectl: string;
let kubelet: { server: Server; port: number };
const backend = new FakeBackend();
let apiserver: Server;
let pod: NetServer;
let podPort: number;
let kubeconfig: string;
let offered: string[] = [];

const LOG =
  '2026-12-05T08:00:00.100000000Z stdout F one\n' +
  '2026-12-05T08:00:01.000000000Z stderr P two, \n' +
  '2026-12-05T08:00:01.5Z stderr F in parts\n' +
  '2026-12-05T08:00:02.000000001Z stdout F three\n';

before(async () => {
  kubectl = await locateKubectl();
  pki = await makePki();
  kubelet = await startKubelet(pki, backend);
  backend.logFile = join(pki.dir, 'c1.log');
  await writeFile(backend.logFile, LOG);
  pod = createServer({ allowHalfOpen: true }, (conn) => {
    const hash = createHash('sha256');
    let n = 0;
    conn.on('data', (c: Buffer) => (hash.update(c), (n += c.length)));
    conn.on('end', () => conn.end(`${n} ${hash.digest('hex')}\n`));
  });
  pod.listen(0, '127.0.0.1');
  await once(pod, 'listening');
  podPort = (pod.address() as AddressInfo).port;
  const api = await startFakeApiserver({ port: kubelet.port, pki });
  apiserver = api.server;
  offered = api.offered;
  kubeconfig = await writeKubeconfig(pki, api.port);
});

after(async () => {
  for (const s of [kubelet?.server, apiserver]) {
    s?.closeAllConnections();
    s?.close();
  }
  pod?.close();
  if (pki) await removePki(pki);
});

const env = () => ({
  ...process.env,
  HOME: pki.dir,
  KUBECONFIG: kubeconfig,
  KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false',
  KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false',
});

function kubectlRun(
  args: string[],
  stdin?: Buffer,
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const child = spawn(kubectl, args, { env: env(), stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end(stdin);
  const out = readAll(child.stdout);
  const err = readAll(child.stderr);
  return once(child, 'close').then(async ([code]) => ({
    code: code as number | null,
    stdout: await out,
    stderr: (await err).toString(),
  }));
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('kubectl exec: 2 MiB of binary stdout arrive byte-identical, stdin piped through, over SPDY v4', async () => {
  const blob = randomBytes(2 * 1024 * 1024);
  const file = join(pki.dir, 'blob');
  await writeFile(file, blob);
  const input = randomBytes(300 * 1024);
  const r = await kubectlRun(['exec', '-i', 'pod1', '--', 'sh', '-c', `cat ${file}; cat`], input);
  assert.equal(r.code, 0, r.stderr);
  const expected = Buffer.concat([blob, input]);
  assert.equal(r.stdout.length, expected.length);
  assert.equal(sha(r.stdout), sha(expected));
  assert.ok(offered.includes('v4.channel.k8s.io'), `offered: ${offered.join(',')}`);
});

test('kubectl exec propagates the exit code, and output of a command that ends at once', async () => {
  const r = await kubectlRun(['exec', 'pod1', '--', 'sh', '-c', 'echo out; echo oops >&2; exit 3']);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout.toString(), 'out\n');
  assert.equal(r.stderr, 'oops\ncommand terminated with exit code 3\n');
  const ok = await kubectlRun(['exec', 'pod1', '--', 'true']);
  assert.equal(ok.code, 0, ok.stderr);
});

test('kubectl port-forward carries data both ways', async () => {
  const child = spawn(kubectl, ['port-forward', 'pod1', `:${podPort}`], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let printed = '';
    child.stdout.setEncoding('utf8');
    const localPort = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (c: string) => {
        printed += c;
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(printed);
        if (m) resolve(Number(m[1]));
      });
      child.once('close', (code) => reject(new Error(`kubectl port-forward exited ${code}: ${printed}`)));
    });
    for (let i = 0; i < 2; i++) {
      const payload = randomBytes(3 * 1024 * 1024);
      const conn = netConnect({ host: '127.0.0.1', port: localPort, allowHalfOpen: true });
      await once(conn, 'connect');
      const answer = readAll(conn);
      conn.end(payload);
      assert.equal((await answer).toString(), `${payload.length} ${sha(payload)}\n`);
    }
  } finally {
    child.kill('SIGINT');
    await once(child, 'close');
  }
});

test('kubectl logs: timestamps, tail, partial lines joined', async () => {
  const r = await kubectlRun(['logs', 'pod1', '--timestamps', '--tail=2']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout.toString(),
    '2026-12-05T08:00:01.5Z in parts\n2026-12-05T08:00:02.000000001Z three\n',
  );
  const all = await kubectlRun(['logs', 'pod1']);
  assert.equal(all.stdout.toString(), 'one\ntwo, in parts\nthree\n');
});

test('kubectl attach -i joins the running container', async () => {
  backend.container = spawn('sh', ['-c', 'read line; echo "got $line"']);
  const r = await kubectlRun(['attach', '-i', 'pod1'], Buffer.from('hello\n'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'got hello\n');
});

test('kubectl exec -it (under a pseudo-terminal from script(1)) opens the resize stream and sends its size', async () => {
  const resizes = backend.resizes.length;
  // The command runs on a little, so the size kubectl sends once its streams exist arrives first.
  const command = `${kubectl} exec -it pod1 -- sh -c 'sleep 1; echo tty-ok'`;
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...env(), COLUMNS: '100', LINES: '30' },
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.once('close', (code) => resolve({ code, out }));
  });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /tty-ok/);
  assert.equal(backend.lastExec?.tty, true);
  assert.ok(backend.resizes.length > resizes, 'no resize arrived');
});
