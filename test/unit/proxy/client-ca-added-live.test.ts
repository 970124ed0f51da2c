import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { resolveGatewayConfiguration } from '../../../src/config/file-config.ts';
import type { ClusterConfig } from '../../../src/config/model.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { RunningGateway } from '../../../src/gateway.ts';

// A listener that started with no client CA at all (none of its own, none of its cluster's) gets
// one by a reload: the next handshake verifies client certificates with it and the request is
// the certificate's x509 user, without a restart. Both ways a CA can arrive are covered: the
// file's `clientCAFile`, and the client CA of the listener's cluster when that cluster comes from
// a custom-resource source (UpstreamCluster, KubeGateway, ClusterGateway Secret).
let dir = '';
let upstream: Http2SecureServer | null = null;
const gateways: RunningGateway[] = [];
const pem: Record<string, string> = {};
let url = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-client-ca-live-'));
  const ca = await createCA(dir, 'ca', 'client-ca-live-test-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const files = {
    gateway: await issueCert(dir, 'gateway', ca, { cn: 'kubegate', usage: 'both', ...local }),
    alice: await issueCert(dir, 'alice', ca, { cn: 'alice', usage: 'client' }),
  };
  for (const [k, f] of Object.entries(files)) {
    pem[`${k}.crt`] = await readFile(f.cert, 'utf8');
    pem[`${k}.key`] = await readFile(f.key, 'utf8');
  }
  pem['ca.crt'] = await readFile(ca.cert, 'utf8');
  upstream = createSecureServer({ cert: pem['gateway.crt'], key: pem['gateway.key'] });
  upstream.on('stream', (st: ServerHttp2Stream, h) => {
    st.respond({ ':status': 200, 'content-type': 'text/plain' });
    st.end(`user=${String(h['impersonate-user'] ?? '')}`);
  });
  await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

after(async () => {
  for (const g of gateways) await g.stop(0, 0);
  if (upstream) await new Promise((r) => upstream!.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  endpoints: [{ name: 'apiserver', url }],
  upstreamCA: { file: 'ca.crt' },
  credentials: { certFile: 'gateway.crt', keyFile: 'gateway.key' },
  authentication: { anonymous: true },
  ...extra,
});

function doc(listenerCluster: string, clientCAFile: string | undefined, clusters: unknown[]) {
  // The kubernetes source is only named: the test hands the gateway its clusters itself.
  const kubernetes = { kubeconfigFile: 'unused.kubeconfig', upstreamClusters: true };
  return {
    kubernetes,
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'GatewayConfiguration',
    listeners: [
      {
        name: 'main',
        address: '127.0.0.1',
        port: 0,
        tls: { certFile: 'gateway.crt', keyFile: 'gateway.key', clientCAFile },
        cluster: listenerCluster,
      },
    ],
    clusters,
    admin: { enabled: false },
  };
}

/** One HTTP/1.1 GET over a new TLS connection as alice (certificate presented); the response body. */
async function getAsAlice(gw: RunningGateway, servername?: string): Promise<string> {
  const s = connect({
    host: '127.0.0.1',
    port: gw.address.port,
    servername,
    ca: pem['ca.crt'],
    cert: pem['alice.crt'],
    key: pem['alice.key'],
    ALPNProtocols: ['http/1.1'],
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', resolve);
    s.once('error', reject);
  });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await new Promise((r) => {
    s.once('end', r);
    s.write('GET /api HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  });
  s.destroy();
  const raw = Buffer.concat(chunks).toString();
  const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return body.includes('\r\n') ? body.split('\r\n')[1] : body;
}

/** Waits until the listener's cluster has a healthy endpoint (the first probes after start). */
async function ready(gw: RunningGateway): Promise<void> {
  for (let i = 0; i < 200 && gw.notReady() !== null; i++) await new Promise((r) => setTimeout(r, 25));
  assert.equal(gw.notReady(), null);
}

test('a clientCAFile added to a listener that had none verifies the next handshake, without restart', async () => {
  const gw = await RunningGateway.start(
    await resolveGatewayConfiguration(doc('fake', undefined, [cluster('fake')]), dir),
    pino({ level: 'silent' }),
  );
  gateways.push(gw);
  await ready(gw);
  assert.equal(
    await getAsAlice(gw),
    'user=system:anonymous',
    'no client CA yet: the certificate counts for nothing',
  );
  await gw.reload(await resolveGatewayConfiguration(doc('fake', 'ca.crt', [cluster('fake')]), dir));
  assert.equal(await getAsAlice(gw), 'user=alice');
  assert.equal(await getAsAlice(gw, 'localhost'), 'user=alice', 'with a server name no cluster lists too');
});

test('a client CA arriving with the listener’s cluster from a custom-resource source applies live', async () => {
  // The listener serves `dyn`, which the file does not define: it comes from a source later.
  const gw = await RunningGateway.start(
    await resolveGatewayConfiguration(doc('dyn', undefined, [cluster('fake')]), dir),
    pino({ level: 'silent' }),
  );
  gateways.push(gw);
  const withCA = await resolveGatewayConfiguration(
    doc('fake', undefined, [cluster('dyn', { clientCA: { file: 'ca.crt' } })]),
    dir,
  );
  const dyn: ClusterConfig = { ...withCA.clusters[0], origin: 'UpstreamCluster/dyn' };
  const { clientCA, ...noCA } = dyn.material;
  assert.ok(clientCA);
  await gw.setDynamicClusters('kubegate.io', [{ ...dyn, material: noCA }]);
  await ready(gw);
  assert.equal(await getAsAlice(gw), 'user=system:anonymous', 'the cluster has no client CA yet');
  await gw.setDynamicClusters('kubegate.io', [dyn]);
  assert.equal(await getAsAlice(gw), 'user=alice');
  await gw.setDynamicClusters('kubegate.io', [{ ...dyn, material: noCA }]);
  assert.equal(await getAsAlice(gw), 'user=system:anonymous', 'and it is dropped live too');
});
