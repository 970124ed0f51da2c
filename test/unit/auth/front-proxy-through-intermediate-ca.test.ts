import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import { createCA, issueCert, type CertFiles } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';

// A front proxy whose certificate an intermediate CA issued presents leaf + intermediate; the
// configured front-proxy CA is the root. Real certificates (openssl), a real TLS listener: the
// handshake verifies the chain, and the request is the front proxy's, never its CN. A user whose
// certificate comes through an intermediate of the client CA stays an x509 user, headers ignored.
const run = promisify(execFile);
let dir = '';
let upstream: Http2SecureServer | null = null;
let gateway: RunningGateway | null = null;
const pem: Record<string, string> = {};

/** An intermediate CA `<name>.crt`/`.key` signed by `root`. */
async function intermediateCA(root: CertFiles, name: string, cn: string): Promise<CertFiles> {
  const cnf = join(dir, `.${name}.cnf`);
  await writeFile(
    cnf,
    '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=unused\n[ext]\n' +
      'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n',
  );
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await run('openssl', [
    'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-days', '365', '-subj', `/CN=${cn}`, '-CA', root.cert, '-CAkey', root.key,
    '-keyout', files.key, '-out', files.cert, '-config', cnf, '-extensions', 'ext',
  ]); // prettier-ignore
  return files;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-fp-intermediate-'));
  const ca = await createCA(dir, 'ca', 'client-ca');
  const fpRoot = await createCA(dir, 'fp-root', 'front-proxy-root-ca');
  const fpInt = await intermediateCA(fpRoot, 'fp-int', 'front-proxy-intermediate-ca');
  const caInt = await intermediateCA(ca, 'ca-int', 'client-intermediate-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const files = {
    gateway: await issueCert(dir, 'gateway', ca, { cn: 'kubegate', usage: 'both', ...local }),
    proxy: await issueCert(dir, 'proxy', fpInt, { cn: 'front-proxy-client', usage: 'client' }),
    alice: await issueCert(dir, 'alice', caInt, { cn: 'alice', usage: 'client' }),
  };
  for (const [k, f] of Object.entries(files)) {
    pem[`${k}.crt`] = await readFile(f.cert, 'utf8');
    pem[`${k}.key`] = await readFile(f.key, 'utf8');
  }
  pem['ca.crt'] = await readFile(ca.cert, 'utf8');
  pem['fp-int.crt'] = await readFile(fpInt.cert, 'utf8');
  pem['ca-int.crt'] = await readFile(caInt.cert, 'utf8');
  upstream = createSecureServer({ cert: pem['gateway.crt'], key: pem['gateway.key'] });
  upstream.on('stream', (st: ServerHttp2Stream, h) => {
    st.respond({ ':status': 200, 'content-type': 'text/plain' });
    st.end(`user=${String(h['impersonate-user'] ?? '')}`);
  });
  await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const doc = {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [
      {
        name: 'main',
        address: '127.0.0.1',
        port: 0,
        tls: { certFile: 'gateway.crt', keyFile: 'gateway.key', clientCAFile: 'ca.crt' },
        cluster: 'hub',
      },
    ],
    clusters: [
      {
        name: 'hub',
        endpoints: [{ name: 'apiserver', url }],
        upstreamCA: { file: 'ca.crt' },
        credentials: { certFile: 'gateway.crt', keyFile: 'gateway.key' },
        // The root only: the intermediate comes from the front proxy, in its handshake.
        frontProxy: { clientCAFile: 'fp-root.crt', allowedNames: ['front-proxy-client'] },
      },
    ],
    admin: { enabled: false },
  };
  gateway = await RunningGateway.start(
    await resolveGatewayConfiguration(doc, dir),
    pino({ level: 'silent' }),
  );
  for (let i = 0; i < 200 && gateway.notReady() !== null; i++) await new Promise((r) => setTimeout(r, 25));
});

after(async () => {
  await gateway?.stop(0, 0);
  if (upstream) await new Promise((r) => upstream!.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One HTTP/1.1 GET presenting `chain` (leaf first) with its key and the X-Remote-* lines given. */
async function get(chain: string, key: string, headers: string): Promise<{ status: number; body: string }> {
  const s = connect({
    host: '127.0.0.1',
    port: gateway!.address.port,
    // A server name, as kube-aggregator sends (it dials the APIService's Service by name).
    servername: 'localhost',
    ca: pem['ca.crt'],
    cert: chain,
    key,
    ALPNProtocols: ['http/1.1'],
  });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', resolve);
    s.once('error', reject);
  });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => {
    s.once('end', r);
    s.write(`GET /api HTTP/1.1\r\nHost: localhost\r\n${headers}Connection: close\r\n\r\n`);
  });
  s.destroy();
  const raw = Buffer.concat(chunks).toString();
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return {
    status: Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 0),
    body: body.includes('\r\n') ? body.split('\r\n')[1] : body,
  };
}

test('a front proxy presenting leaf + intermediate (the root configured) is believed, never its CN', async () => {
  const chain = pem['proxy.crt'] + pem['fp-int.crt'];
  // Recognised as a front proxy: its identity is the headers', and it may use the ClusterGateway
  // API only (src/proxy/forward.ts), so the listener's cluster is refused to it by name.
  const asked = await get(
    chain,
    pem['proxy.key'],
    'X-Remote-User: hub-user\r\nX-Remote-Group: hub-group\r\n',
  );
  assert.equal(asked.status, 404, asked.body);
  assert.match(asked.body, /to a front proxy/);
  // Without X-Remote-User it is nobody: 401, not the x509 user front-proxy-client.
  const bare = await get(chain, pem['proxy.key'], '');
  assert.equal(bare.status, 401, bare.body);
  assert.equal((JSON.parse(bare.body) as { reason: string }).reason, 'Unauthorized');
});

test('without its intermediate the front proxy’s certificate does not verify: 401, headers not believed', async () => {
  const r = await get(pem['proxy.crt'], pem['proxy.key'], 'X-Remote-User: hub-user\r\n');
  assert.equal(r.status, 401, r.body);
  assert.equal((JSON.parse(r.body) as { kind: string }).kind, 'Status');
});

test('a user certificate through an intermediate of the client CA is that user; X-Remote-* ignored', async () => {
  const r = await get(
    pem['alice.crt'] + pem['ca-int.crt'],
    pem['alice.key'],
    'X-Remote-User: system:admin\r\nX-Remote-Group: system:masters\r\n',
  );
  assert.deepEqual(r, { status: 200, body: 'user=alice' });
});
