import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import {
  connect as h2connect,
  createSecureServer,
  type Http2SecureServer,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';

// One listener, two clusters by SNI: each handshake gets its cluster's serving certificate and is
// verified against that cluster's client CA; a Host of the other cluster is a 421 Status.
let dir = '';
const upstreams: Http2SecureServer[] = [];
let gateway: RunningGateway | null = null;
const pem: Record<string, string> = {};
let urls: string[] = [];

async function fakeApiserver(name: string, cert: string, key: string): Promise<string> {
  const s = createSecureServer({ cert, key });
  s.on('stream', (st: ServerHttp2Stream, h) => {
    st.respond({ ':status': 200, 'content-type': 'text/plain' });
    st.end(`${name} ${String(h['impersonate-user'] ?? '')}`);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  upstreams.push(s);
  return `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function doc(clusters: ('a' | 'b' | 'c' | 'd')[], bHosts = ['b.kubegate.test']): Record<string, unknown> {
  const cluster = (name: string, url: string, hosts: string[], ca: string) => ({
    name,
    hosts,
    serving: { certFile: `${name}-serving.crt`, keyFile: `${name}-serving.key` },
    clientCA: { file: `${ca}.crt` },
    endpoints: [{ name: `${name}-apiserver`, url }],
    upstreamCA: { file: 'ca-a.crt' },
    credentials: { certFile: 'upstream.crt', keyFile: 'upstream.key' },
    healthCheck: { intervalSeconds: 0.5, timeoutSeconds: 1, rise: 1, fall: 2 },
  });
  const all = {
    a: cluster('a', urls[0], ['a.kubegate.test'], 'ca-a'),
    b: cluster('b', urls[1], bHosts, 'ca-b'),
    c: cluster('c', urls[2], ['c.kubegate.test'], 'ca-b'),
    // No client CA of its own (nor serving certificate): presented certificates are ignored.
    d: {
      name: 'd',
      hosts: ['d.kubegate.test'],
      authentication: { anonymous: true },
      endpoints: [{ name: 'd-apiserver', url: urls[2] }],
      upstreamCA: { file: 'ca-a.crt' },
      credentials: { certFile: 'upstream.crt', keyFile: 'upstream.key' },
    },
  };
  return {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [
      {
        name: 'main',
        address: '127.0.0.1',
        port: 0,
        tls: { certFile: 'gateway.crt', keyFile: 'gateway.key', clientCAFile: 'ca-a.crt' },
        cluster: 'a',
      },
    ],
    clusters: clusters.map((c) => all[c]),
    admin: { enabled: false },
  };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-sni-'));
  const caA = await createCA(dir, 'ca-a', 'cluster-a-ca');
  const caB = await createCA(dir, 'ca-b', 'cluster-b-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const files = {
    apiserver: await issueCert(dir, 'apiserver', caA, { cn: 'apiserver', usage: 'server', ...local }),
    gateway: await issueCert(dir, 'gateway', caA, { cn: 'kubegate-listener', usage: 'server', ...local }),
    upstream: await issueCert(dir, 'upstream', caA, { cn: 'kubegate', usage: 'client' }),
    aServing: await issueCert(dir, 'a-serving', caA, {
      cn: 'a.kubegate.test',
      usage: 'server',
      dns: ['a.kubegate.test'],
    }),
    bServing: await issueCert(dir, 'b-serving', caB, {
      cn: 'b.kubegate.test',
      usage: 'server',
      dns: ['b.kubegate.test'],
    }),
    cServing: await issueCert(dir, 'c-serving', caB, {
      cn: 'c.kubegate.test',
      usage: 'server',
      dns: ['c.kubegate.test'],
    }),
    alice: await issueCert(dir, 'alice', caA, { cn: 'alice', usage: 'client' }),
    bob: await issueCert(dir, 'bob', caB, { cn: 'bob', usage: 'client' }),
  };
  for (const [k, f] of Object.entries(files)) {
    pem[`${k}.crt`] = await readFile(f.cert, 'utf8');
    pem[`${k}.key`] = await readFile(f.key, 'utf8');
  }
  pem['ca-a.crt'] = await readFile(caA.cert, 'utf8');
  pem['ca-b.crt'] = await readFile(caB.cert, 'utf8');
  const [c, k] = [pem['apiserver.crt'], pem['apiserver.key']];
  urls = [await fakeApiserver('A', c, k), await fakeApiserver('B', c, k), await fakeApiserver('C', c, k)];
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(doc(['a', 'b', 'd']), dir),
    pino({ level: 'silent' }),
  );
});

after(async () => {
  await gateway?.stop(0);
  for (const s of upstreams) await new Promise((r) => s.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

function handshake(servername: string | undefined, user?: 'alice' | 'bob'): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port: gateway!.address.port,
      servername,
      ca: [pem['ca-a.crt'], pem['ca-b.crt']],
      cert: user && pem[`${user}.crt`],
      key: user && pem[`${user}.key`],
      ALPNProtocols: ['http/1.1'],
      // The chain is verified; which certificate came is what the tests assert (its subject).
      checkServerIdentity: () => undefined,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** One HTTP/1.1 GET; the status line's code and the body. */
async function get(
  servername: string | undefined,
  host: string,
  user?: 'alice' | 'bob',
): Promise<{ status: number; body: string; subject: string }> {
  const s = await handshake(servername, user);
  const subject = s.getPeerCertificate().subject.CN as string;
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => {
    s.once('end', r);
    s.write(`GET /api HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
  s.destroy();
  const raw = Buffer.concat(chunks).toString();
  const status = Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 0);
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return { status, body: body.includes('\r\n') ? body.split('\r\n')[1] : body, subject };
}

test('each SNI gets its cluster’s serving certificate; no or an unknown SNI the listener’s', async () => {
  assert.equal((await handshake('a.kubegate.test')).getPeerCertificate().subject.CN, 'a.kubegate.test');
  assert.equal((await handshake('b.kubegate.test')).getPeerCertificate().subject.CN, 'b.kubegate.test');
  assert.equal((await handshake('B.Kubegate.Test')).getPeerCertificate().subject.CN, 'b.kubegate.test');
  assert.equal((await handshake('nowhere.test')).getPeerCertificate().subject.CN, 'kubegate-listener');
  assert.equal((await handshake(undefined)).getPeerCertificate().subject.CN, 'kubegate-listener');
});

test('requests go to the SNI’s cluster, as the user its own client CA verified', async () => {
  assert.deepEqual(await get('a.kubegate.test', 'a.kubegate.test', 'alice'), {
    status: 200,
    body: 'A alice',
    subject: 'a.kubegate.test',
  });
  assert.deepEqual(await get('b.kubegate.test', 'b.kubegate.test:443', 'bob'), {
    status: 200,
    body: 'B bob',
    subject: 'b.kubegate.test',
  });
  // An IP-literal Host (kubectl --tls-server-name dialling 127.0.0.1) keeps the SNI's cluster.
  assert.equal((await get('b.kubegate.test', '127.0.0.1:6443', 'bob')).body, 'B bob');
});

test("a client certificate of A's CA is 401 on B and B's on A: each cluster trusts its own CA only", async () => {
  for (const [sni, user] of [
    ['b.kubegate.test', 'alice'],
    ['a.kubegate.test', 'bob'],
  ] as const) {
    const r = await get(sni, sni, user);
    assert.equal(r.status, 401, r.body);
    const st = JSON.parse(r.body) as { kind: string; reason: string };
    assert.equal(st.kind, 'Status');
    assert.equal(st.reason, 'Unauthorized');
  }
});

test('on a cluster without a client CA a presented certificate counts for nothing, even one the listener’s CA signed', async () => {
  // Verified against A's CA (the listener's), alice would be alice; on d the handshake's context
  // has no CA of d's, so her certificate is ignored and d's anonymous access applies.
  const r = await get('d.kubegate.test', 'd.kubegate.test', 'alice');
  assert.equal(r.status, 200, r.body);
  assert.equal(r.body, 'C system:anonymous');
  assert.equal(r.subject, 'kubegate-listener', 'no serving certificate of its own: the listener’s');
});

test('a Host of the other cluster is 421 Misdirected, over HTTP/1.1 and HTTP/2', async () => {
  const r = await get('a.kubegate.test', 'b.kubegate.test', 'alice');
  assert.equal(r.status, 421, r.body);
  const st = JSON.parse(r.body) as { kind: string; code: number; reason: string; message: string };
  assert.deepEqual([st.kind, st.code, st.reason], ['Status', 421, 'Misdirected']);
  assert.match(st.message, /"b\.kubegate\.test"/);

  const s = h2connect(`https://127.0.0.1:${gateway!.address.port}`, {
    servername: 'b.kubegate.test',
    ca: [pem['ca-a.crt'], pem['ca-b.crt']],
    cert: pem['bob.crt'],
    key: pem['bob.key'],
  });
  try {
    const ask = (authority: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const q = s.request({ ':path': '/api', ':authority': authority });
        let status = 0;
        let body = '';
        q.on('response', (h) => (status = Number(h[':status'])));
        q.setEncoding('utf8');
        q.on('data', (c: string) => (body += c));
        q.on('end', () => resolve({ status, body }));
        q.on('error', reject);
      });
    assert.deepEqual(await ask('b.kubegate.test'), { status: 200, body: 'B bob' });
    const m = await ask('a.kubegate.test');
    assert.equal(m.status, 421);
    assert.equal((JSON.parse(m.body) as { reason: string }).reason, 'Misdirected');
    // The same connection keeps serving its own cluster after a refusal.
    assert.deepEqual(await ask('b.kubegate.test:443'), { status: 200, body: 'B bob' });
  } finally {
    s.close();
  }
});

test('an upgrade (exec, WebSocket) with a Host of the other cluster is 421 too', async () => {
  const s = await handshake('a.kubegate.test', 'alice');
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => {
    s.once('close', r);
    s.write(
      'GET /api/v1/namespaces/x/pods/y/exec?command=sh HTTP/1.1\r\nHost: b.kubegate.test\r\n' +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
  });
  const raw = Buffer.concat(chunks).toString();
  assert.match(raw, /^HTTP\/1\.1 421 /);
  const st = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { reason: string; code: number };
  assert.deepEqual([st.reason, st.code], ['Misdirected', 421]);
});

test('a server name of no cluster is refused when the listener’s cluster lists hosts, whatever the Host', async () => {
  for (const host of ['gone.kubegate.test', '127.0.0.1:6443', 'a.kubegate.test']) {
    const r = await get('gone.kubegate.test', host, 'alice');
    assert.equal(r.status, 421, r.body);
    assert.match(r.body, /the TLS server name \\"gone\.kubegate\.test\\" is not a name of any cluster/);
  }
  // Without SNI (an IP dialled, no --tls-server-name) the listener's cluster serves as before.
  assert.equal((await get(undefined, '127.0.0.1:6443', 'alice')).body, 'A alice');
  assert.equal((await get(undefined, 'a.kubegate.test', 'alice')).body, 'A alice');
  assert.equal((await get(undefined, 'b.kubegate.test', 'alice')).status, 421);
});

test('clusters added, changed and removed by reload are served by SNI from the next handshake', async () => {
  const base = await resolveGatewayConfiguration(doc(['a', 'b']), dir);
  await gateway!.reload(await resolveGatewayConfiguration(doc(['a', 'b', 'c']), dir));
  assert.deepEqual(await get('c.kubegate.test', 'c.kubegate.test', 'bob'), {
    status: 200,
    body: 'C bob',
    subject: 'c.kubegate.test',
  });
  // B gets a second name; its certificate does not cover it, so the client checks the subject only.
  await gateway!.reload(
    await resolveGatewayConfiguration(doc(['a', 'b', 'c'], ['b.kubegate.test', 'b2.kubegate.test']), dir),
  );
  const s = await new Promise<TLSSocket>((resolve, reject) => {
    const t = connect({
      host: '127.0.0.1',
      port: gateway!.address.port,
      servername: 'b2.kubegate.test',
      ca: pem['ca-b.crt'],
      checkServerIdentity: () => undefined,
    });
    t.once('secureConnect', () => resolve(t));
    t.once('error', reject);
  });
  assert.equal(s.getPeerCertificate().subject.CN, 'b.kubegate.test');
  s.destroy();
  await gateway!.reload(base);
  const gone = await get('c.kubegate.test', 'c.kubegate.test', 'bob');
  assert.equal(gone.subject, 'kubegate-listener', 'an unknown SNI gets the listener’s certificate');
  assert.equal(gone.status, 421, gone.body);
  assert.equal((await get('b.kubegate.test', 'b.kubegate.test', 'bob')).body, 'B bob');
});
