import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request as h1Request } from 'node:https';
import {
  createSecureServer,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeClusterConfiguration } from '../helpers/fake-cluster-configuration.ts';
import { h2Get } from '../helpers/h2-get.ts';

// The tracing tests' gateway: in-process, in front of a fake kube-apiserver (TLS HTTP/2, port 0)
// that records the headers each request arrives with and answers an `Upgrade` with a 101 and an
// echo tunnel. The gateway's modules are imported only
// when `startGateway` runs, so a test sets the `OTEL_*` variables first (tracing reads them once).

/** One request as the fake apiserver saw it. */
export interface Arrival {
  path: string;
  headers: IncomingHttpHeaders;
}

export interface TestGateway {
  url: string;
  arrivals: Arrival[];
  /** GET over HTTP/2 as alice; resolves with the status. */
  get(path: string, headers?: OutgoingHttpHeaders): Promise<number>;
  /** An HTTP/1.1 `Upgrade: SPDY/3.1` request as alice; resolves with the tunnel after the 101. */
  upgrade(path: string, headers?: Record<string, string>): Promise<Socket>;
  stop(): Promise<void>;
}

/** A rule in front of the default one: `secrets` are refused by the gateway itself. */
const RULES = [{ name: 'no-secrets', match: { resources: ['secrets'] }, action: 'deny' }];

export async function startGateway(): Promise<TestGateway> {
  const { createCA, issueCert } = await import('../../../src/dev/pki.ts');
  const { resolveGatewayConfiguration } = await import('../../../src/config/file-config.ts');
  const { RunningGateway } = await import('../../../src/gateway.ts');
  const { pino } = await import('pino');

  const dir = await mkdtemp(join(tmpdir(), 'kubegate-tracing-'));
  const ca = await createCA(dir, 'ca', 'tracing-test-ca');
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const [apiserver, , alice] = await Promise.all([
    issueCert(dir, 'apiserver', ca, { cn: 'fake-apiserver', usage: 'server', ...local }),
    issueCert(dir, 'gateway', ca, { cn: 'kubegate', usage: 'server', ...local }),
    issueCert(dir, 'alice', ca, { cn: 'alice', orgs: ['team-a'], usage: 'client' }),
  ]);
  await writeFile(join(dir, 'gateway.token'), 'gateway-upstream-token\n');
  const pem = (f: string) => readFile(f, 'utf8');
  const client = { ca: await pem(ca.cert), cert: await pem(alice.cert), key: await pem(alice.key) };

  const arrivals: Arrival[] = [];
  const upstream: Http2SecureServer = createSecureServer({
    cert: await pem(apiserver.cert),
    key: await pem(apiserver.key),
    allowHTTP1: true, // upgrades go upstream over HTTP/1.1
  });
  upstream.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    arrivals.push({ path: req.url ?? '', headers: req.headers });
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  upstream.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const path = String(headers[':path']);
    if (path !== '/readyz') arrivals.push({ path, headers });
    stream.resume();
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ kind: 'Status', status: 'Success' }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;

  const cfg = await resolveGatewayConfiguration(
    fakeClusterConfiguration(
      `https://127.0.0.1:${port}`,
      { credentials: { tokenFile: 'gateway.token' }, rules: RULES },
      {},
    ),
    dir,
  );
  const gateway = await RunningGateway.start(cfg, pino({ level: 'silent' }));
  const url = `https://127.0.0.1:${gateway.address.port}`;

  return {
    url,
    arrivals,
    get: (path, headers = {}) => h2Get(url, client, path, headers),
    upgrade: (path, headers = {}) =>
      new Promise((resolve, reject) => {
        const req = h1Request(`${url}${path}`, {
          ...client,
          agent: false,
          headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1', ...headers },
        });
        req.on('upgrade', (_res, socket) => resolve(socket));
        req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
        req.on('error', reject);
        req.end();
      }),
    async stop() {
      await gateway.stop(0);
      await new Promise((r) => upstream.close(r));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
