// TrafficPolicy `oidc` against the test OpenID provider run as its own process (oidc-provider.ts
// started with `node`; its CA added to the default CAs, as the policy has no bundle): while the provider is not up, logins get 502 and discovery backs off; once
// it listens, the next attempt finds it and a browser logs in through it.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { createCA, issueCert } from '../../../../src/dev/pki.ts';
import { DataPlane } from '../../../../src/gatewayapi/dataplane/index.ts';
import { OIDCDiscovery } from '../../../../src/gatewayapi/dataplane/policies/oidc-discovery.ts';
import type { TrafficPolicyIR } from '../../../../src/gatewayapi/ir.ts';
import {
  backend,
  cluster,
  freePort,
  route,
  send,
  silent,
  simpleIR,
  startEcho,
  type Echo,
} from './helpers.ts';

const FIXTURE = new URL('./oidc-provider.ts', import.meta.url).pathname;
const HTML = { accept: 'text/html' };

let dir = '';
let echo: Echo;
let plane: DataPlane;
let port = 0;
let providerPort = 0;
let issuer = '';
let child: ChildProcess | null = null;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-oidc-process-'));
  const ca = await createCA(dir, 'ca', 'oidc-process-test-ca');
  await issueCert(dir, 'provider', ca, {
    cn: 'provider',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  setDefaultCACertificates([...getCACertificates('default'), await readFile(ca.cert, 'utf8')]);
  providerPort = await freePort();
  issuer = `https://localhost:${providerPort}`;
  echo = await startEcho('echo');
  port = await freePort();
  const trafficPolicy: TrafficPolicyIR = {
    policies: ['default/login'],
    ipFilter: null,
    requestBodyLimit: null,
    basicAuth: null,
    apiKeyAuth: null,
    oidc: {
      issuer,
      clientID: 'app',
      clientSecret: 'process-secret',
      redirectPath: '/oauth2/callback',
      logoutPath: null,
      scopes: ['openid'],
      caCertificates: null,
      cookieName: 'kubegate-session',
      cookieKey: randomBytes(32).toString('base64'),
      sessionTTLMs: 3_600_000,
      forwardIDToken: 'x-id-token',
      claimsToHeaders: [{ claim: 'sub', header: 'x-user' }],
    },
  };
  plane = new DataPlane({ log: silent });
  const ir = simpleIR(
    port,
    [route('/', { backends: [backend('echo')], trafficPolicy })],
    [cluster('echo', [echo.port])],
  );
  assert.deepEqual((await plane.apply(ir)).failed, []);
});

after(async () => {
  await plane.close();
  await echo.close();
  if (child !== null && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
});

/** Starts the provider process on `providerPort`; resolves with the issuer it prints. */
async function startProviderProcess(): Promise<string> {
  const args = ['--cert', join(dir, 'provider.crt'), '--key', join(dir, 'provider.key')];
  args.push(
    '--client-id',
    'app',
    '--client-secret',
    'process-secret',
    '--user',
    'bob',
    '--port',
    String(providerPort),
  );
  child = spawn(process.execPath, [FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) return (JSON.parse(line) as { issuer: string }).issuer;
  throw new Error('the provider process exited without printing its issuer');
}

test('while the provider is down logins get 502; once its process is up a browser logs in through it', async () => {
  const down = await send(port, { path: '/inbox', headers: HTML });
  assert.equal(down.status, 502);
  assert.match(OIDCDiscovery.of(issuer, null).lastError ?? '', /openid-configuration/);
  assert.equal(await startProviderProcess(), issuer);

  // Discovery is retried after its back-off (1 s, then 2 s, …): poll until the login redirect comes.
  let first = down;
  const deadline = Date.now() + 15_000;
  while (first.status !== 302 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    first = await send(port, { path: '/inbox', headers: HTML });
  }
  assert.equal(first.status, 302);
  const authorize = new URL(first.headers.location!);
  assert.equal(authorize.origin, issuer);
  const login = first.headers['set-cookie']!.find((c) => c.startsWith('kubegate-session-login='))!;
  const atProvider = await fetch(authorize, { redirect: 'manual' });
  assert.equal(atProvider.status, 302);
  const back = new URL(atProvider.headers.get('location')!);
  const callback = await send(port, {
    path: `${back.pathname}${back.search}`,
    headers: { ...HTML, cookie: login.split(';')[0] },
  });
  assert.equal(callback.status, 302, callback.body);
  assert.equal(callback.headers.location, `http://127.0.0.1:${port}/inbox`);
  const session = callback.headers['set-cookie']!.find((c) => c.startsWith('kubegate-session='))!;

  const r = await send(port, { path: '/inbox', headers: { cookie: session.split(';')[0] } });
  assert.equal(r.status, 200);
  assert.equal(r.echo?.headers['x-user'], 'bob');
  assert.equal(r.echo?.headers.cookie, undefined);
  assert.match(String(r.echo?.headers['x-id-token']), /^[\w-]+\.[\w-]+\.[\w-]+$/);
});
