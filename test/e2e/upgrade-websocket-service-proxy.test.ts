import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { devDir, devState, jsonLines } from './env.ts';
import { NO_NODE } from './unschedulable.ts';

// kube-apiserver's service proxy refuses loopback and link-local targets, so the echo server lives
// in a network namespace behind a veth pair on a private /30, and the Service's endpoint address must
// reference a Pod whose status.podIPs holds that address (the apiserver checks it; without it the
// answer is "no endpoints available"). The proxy reads Endpoints, not EndpointSlices.
const run = promisify(execFile);
const ECHO = fileURLToPath(new URL('./fixtures/websocket-echo-server.ts', import.meta.url));
const tag = randomBytes(3).toString('hex');
const NETNS = `kg-ws-${tag}`;
const VETH_HOST = `kgws${tag}h`;
const VETH_NS = `kgws${tag}n`;
const NS = `ws-proxy-${tag}`;
const SVC = 'echo';
const PORT = 8080;
const PATH = `/api/v1/namespaces/${NS}/services/http:${SVC}:ws/proxy/`;
let hostIP = '';
let echoIP = '';
let echo: ChildProcess | null = null;
let echoOut = '';

const kc = new k8s.KubeConfig();
let core: k8s.CoreV1Api;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

/** A /30 in 10.213.0.0/16 that no interface of this machine uses yet. */
async function freeSubnet(): Promise<[string, string]> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show'], { timeout: 10_000 });
  for (;;) {
    const x = randomInt(256);
    const y = randomInt(64) * 4;
    if (!stdout.includes(` 10.213.${x}.${y + 1}/`) && !stdout.includes(` 10.213.${x}.${y + 2}/`))
      return [`10.213.${x}.${y + 1}`, `10.213.${x}.${y + 2}`];
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

before(async () => {
  [hostIP, echoIP] = await freeSubnet();
  await ip('netns', 'add', NETNS);
  await ip('link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS);
  await ip('link', 'set', VETH_NS, 'netns', NETNS);
  await ip('addr', 'add', `${hostIP}/30`, 'dev', VETH_HOST);
  await ip('link', 'set', VETH_HOST, 'up');
  await ip('netns', 'exec', NETNS, 'ip', 'addr', 'add', `${echoIP}/30`, 'dev', VETH_NS);
  await ip('netns', 'exec', NETNS, 'ip', 'link', 'set', VETH_NS, 'up');

  // stdin is a pipe: should this test process die, the echo server sees EOF and exits.
  echo = spawn('ip', ['netns', 'exec', NETNS, process.execPath, ECHO, echoIP, String(PORT)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  echo.stdout!.on('data', (c: Buffer) => (echoOut += c.toString()));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      echo!.once('exit', (code) => reject(new Error(`echo server exited (${code}): ${echoOut}`)));
      const poll = setInterval(() => {
        if (echoOut.includes('listening ')) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    }),
    15_000,
    'echo server start',
  );

  kc.loadFromFile(join(devDir(), 'gateway.kubeconfig'));
  core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  // The Pod only exists to vouch for the endpoint address: no node may take it (a podlet would
  // write its own status over the one patched here).
  await core.createNamespacedPod({
    namespace: NS,
    body: {
      metadata: { name: SVC },
      spec: { nodeSelector: NO_NODE, containers: [{ name: 'echo', image: 'unused' }] },
    },
  });
  await core.patchNamespacedPodStatus(
    { namespace: NS, name: SVC, body: { status: { podIP: echoIP, podIPs: [{ ip: echoIP }] } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  await core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name: SVC },
      spec: { ports: [{ name: 'ws', port: 80, targetPort: PORT, protocol: 'TCP' }] },
    },
  });
  await core.createNamespacedEndpoints({
    namespace: NS,
    body: {
      metadata: { name: SVC },
      subsets: [
        {
          addresses: [{ ip: echoIP, targetRef: { kind: 'Pod', name: SVC, namespace: NS } }],
          ports: [{ name: 'ws', port: PORT, protocol: 'TCP' }],
        },
      ],
    },
  });
});

after(async () => {
  const errors: string[] = [];
  const step = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      errors.push(`${what}: ${(err as Error).message}`);
    }
  };
  if (core) await step('delete namespace', () => core.deleteNamespace({ name: NS }));
  if (echo && echo.exitCode === null && echo.signalCode === null) {
    const exited = new Promise((r) => echo!.once('exit', r));
    echo.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => echo!.kill('SIGKILL'))]);
  }
  // Deleting the netns removes its veth end and so the pair; delete the host end too in case the
  // netns is still held open for a moment.
  await step('delete veth', () => ip('link', 'del', VETH_HOST));
  await step('delete netns', () => ip('netns', 'del', NETNS));
  const left = (await run('ip', ['netns', 'list'])).stdout;
  assert.ok(!left.includes(NETNS), `netns ${NETNS} left behind`);
  if (errors.some((e) => !e.startsWith('delete veth'))) throw new Error(errors.join('; '));
});

interface Echoed {
  data: Buffer;
  binary: boolean;
}

test('WebSocket text and binary messages (up to 1 MiB) round-trip byte-identical through the gateway and the apiserver service proxy', async () => {
  const d = devDir();
  const url = `${devState().gateway.replace(/^https:/, 'wss:')}${PATH}`;
  const ws = new WebSocket(url, {
    ca: readFileSync(join(d, 'pki', 'ca.crt')),
    cert: readFileSync(join(d, 'pki', 'admin.crt')),
    key: readFileSync(join(d, 'pki', 'admin.key')),
    handshakeTimeout: 10_000,
    perMessageDeflate: false,
  });
  const received: Echoed[] = [];
  const sent: Echoed[] = [
    { data: Buffer.from('hello through kubegate', 'utf8'), binary: false },
    { data: Buffer.from('ünïcödé ✓ 🚀', 'utf8'), binary: false },
    { data: Buffer.alloc(0), binary: true },
    { data: randomBytes(1024), binary: true },
    { data: Buffer.from('x'.repeat(70_000), 'utf8'), binary: false },
    { data: randomBytes(1024 * 1024), binary: true },
  ];
  const total = sent.reduce((n, m) => n + m.data.length, 0);
  const started = performance.now();
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        ws.once('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body}`)));
        });
        ws.once('error', reject);
        ws.once('open', () => {
          for (const m of sent) ws.send(m.data, { binary: m.binary });
        });
        ws.on('message', (data: Buffer, binary: boolean) => {
          received.push({ data, binary });
          if (received.length === sent.length) resolve();
        });
        ws.once('close', (code) => reject(new Error(`closed early (${code}) after ${received.length}`)));
      }),
      30_000,
      'echo of all messages',
    );
  } finally {
    const closed = new Promise((r) => ws.once('close', r));
    ws.close(1000);
    await withTimeout(closed, 5000, 'WebSocket close').catch(() => ws.terminate());
  }
  const ms = performance.now() - started;
  assert.equal(received.length, sent.length);
  for (let i = 0; i < sent.length; i++) {
    assert.equal(received[i].binary, sent[i].binary, `message ${i}: binary flag`);
    assert.ok(received[i].data.equals(sent[i].data), `message ${i} (${sent[i].data.length} bytes) differs`);
  }
  // The apiserver, not the test, dialled the echo server: from the host end of the veth pair.
  assert.match(echoOut, new RegExp(`^connection ${hostIP.replaceAll('.', '\\.')} /\\n`, 'm'), echoOut);
  console.log(`# ${sent.length} messages, ${total} bytes each way, ${ms.toFixed(0)} ms`);

  // The gateway writes the access line when the tunnel closes; the apiserver its audit event too.
  type Access = {
    kind: string;
    uri: string;
    proto: string;
    verb: string;
    status: number;
    upstream: string;
    bytesIn: number;
    bytesOut: number;
    resource?: { resource: string; subresource: string; name: string; namespace: string };
  };
  let line: Access | undefined;
  for (let i = 0; i < 50 && !line; i++) {
    line = (jsonLines(join(d, 'logs', 'kubegate.log')) as unknown as Access[]).find(
      (l) => l.kind === 'access' && l.uri === PATH && l.status === 101,
    );
    if (!line) await sleep(100);
  }
  assert.ok(line, 'access log line for the upgrade');
  assert.equal(line.proto, 'http/1.1');
  assert.deepEqual(
    { ...line.resource },
    { ...line.resource, resource: 'services', subresource: 'proxy', name: `http:${SVC}:ws`, namespace: NS },
  );
  assert.ok(line.bytesIn > total && line.bytesOut > total, `bytes in ${line.bytesIn}, out ${line.bytesOut}`);
  // The verb is what the apiserver itself recorded for this request.
  type Audit = { verb: string; requestURI: string; stage: string; objectRef?: { subresource?: string } };
  let audit: Audit | undefined;
  for (let i = 0; i < 50 && !audit; i++) {
    audit = (jsonLines(join(d, 'audit', `${line.upstream}.log`)) as unknown as Audit[]).find(
      (e) => e.requestURI === PATH && e.stage !== 'RequestReceived',
    );
    if (!audit) await sleep(100);
  }
  assert.ok(audit, `audit event in ${line.upstream}`);
  assert.equal(line.verb, audit.verb);
  assert.equal(audit.objectRef?.subresource, 'proxy');
});
