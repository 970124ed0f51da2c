// TrafficPolicy `oidc` through the real API server and a real Gateway to a podlet echo pod: the
// test OpenID provider (test/unit/gatewayapi/dataplane/oidc-provider.ts) runs as its own process in
// the Gateway host's namespace, its CA given to the policy by a Secret; a browser (curl in the
// lab's underlay, cookies carried by hand) is sent to it, comes back to the callback and then
// reaches the pod with its claims and without the session cookie.

import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { kubectl } from '../env.ts';
import { echoBackend, httpGateway } from './echo-objects.ts';
import { eventually, gatewayAddress, underlayNetns } from './lab-http.ts';

const run = promisify(execFile);
const HOST = 'oidc.example.com';
const FIXTURE = new URL('../../unit/gatewayapi/dataplane/oidc-provider.ts', import.meta.url).pathname;
const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Answer {
  status: number;
  location: string;
  setCookies: string[];
  body: string;
}

/** One request with curl from the namespace `netns` (no redirects followed), every Set-Cookie kept. */
async function curl(
  netns: string,
  url: string,
  headers: Record<string, string>,
  extra: string[] = [],
): Promise<Answer> {
  const args = ['netns', 'exec', netns, 'curl', '-sS', '-m', '10', '-D', '-', '-o', '-', ...extra];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const { stdout } = await run('ip', args, { timeout: 15_000 });
  const split = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, split).split('\r\n');
  const answer: Answer = {
    status: Number(head[0].split(' ')[1]),
    location: '',
    setCookies: [],
    body: stdout.slice(split + 4),
  };
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    const name = line.slice(0, i).toLowerCase();
    const value = line.slice(i + 1).trim();
    if (name === 'location') answer.location = value;
    if (name === 'set-cookie') answer.setCookies.push(value);
  }
  return answer;
}

const cookie = (a: Answer, name: string) =>
  a.setCookies.find((c) => c.startsWith(`${name}=`))?.split(';')[0] ?? '';

let provider: ChildProcess | null = null;

after(() => {
  if (provider !== null && provider.exitCode === null) provider.kill('SIGTERM');
});

test('a browser logs in at an OpenID provider through the Gateway and reaches the pod with its claims', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-oidc-policy-'));
  const gwNetns = underlayNetns().replace(/-underlay$/, '-gw');
  const ca = await createCA(dir, 'ca', 'oidc-e2e-ca');
  const cert = await issueCert(dir, 'provider', ca, {
    cn: 'provider',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const args = [
    '--cert',
    cert.cert,
    '--key',
    cert.key,
    '--client-id',
    'shop',
    '--client-secret',
    'e2e-secret',
  ];
  provider = spawn('ip', ['netns', 'exec', gwNetns, process.execPath, FIXTURE, ...args, '--user', 'carol'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let issuer = '';
  for await (const line of createInterface({ input: provider.stdout! })) {
    issuer = (JSON.parse(line) as { issuer: string }).issuer;
    break;
  }
  assert.match(issuer, /^https:\/\/localhost:\d+$/);

  const objects = [
    ...echoBackend('echo-oidc'),
    httpGateway('oidc'),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'oidc', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'oidc' }],
        hostnames: [HOST],
        rules: [{ backendRefs: [{ name: 'echo-oidc', port: 8080 }] }],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'oidc-client', namespace: 'default' },
      data: { 'client-secret': b64('e2e-secret') },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: 'oidc-provider-ca', namespace: 'default' },
      data: { 'ca.crt': b64(await readFile(ca.cert, 'utf8')) },
    },
    {
      apiVersion: 'gateway.kubegate.io/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: { name: 'oidc', namespace: 'default' },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'oidc' }],
        oidc: {
          issuer,
          clientID: 'shop',
          clientSecretRef: { name: 'oidc-client' },
          caCertificateRef: { name: 'oidc-provider-ca' },
          forwardIDToken: { header: 'X-Id-Token' },
          claimsToHeaders: [{ claim: 'sub', header: 'X-User' }],
        },
      },
    },
  ];
  const file = join(dir, 'objects.json');
  await writeFile(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  after(async () => {
    await kubectl('gateway.kubeconfig', ['delete', '-f', file, '--wait=false']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await kubectl('gateway.kubeconfig', ['apply', '-f', file]);
  const address = await gatewayAddress('default', 'oidc');
  await kubectl('gateway.kubeconfig', ['rollout', 'status', 'deployment/echo-oidc', '--timeout=90s']);
  const url = `http://${address}/orders?page=2`;
  const underlay = underlayNetns();

  // Without a session: an API client gets 401, a browser the redirect to the provider.
  const api = await eventually(url, { Host: HOST, Accept: 'application/json' }, (r) => r.status === 401);
  assert.equal(api.status, 401);
  const first = await curl(underlay, url, { Host: HOST, Accept: 'text/html' });
  assert.equal(first.status, 302, first.body);
  const authorize = new URL(first.location);
  assert.equal(authorize.origin, issuer);
  assert.equal(authorize.searchParams.get('redirect_uri'), `http://${HOST}/oauth2/callback`);
  const login = cookie(first, 'kubegate-session-login');
  assert.notEqual(login, '');

  // The browser at the provider (which only its own namespace reaches), then back at the callback.
  const atProvider = await curl(gwNetns, authorize.href, {}, ['--cacert', ca.cert]);
  assert.equal(atProvider.status, 302);
  const back = new URL(atProvider.location);
  const callback = await curl(underlay, `http://${address}${back.pathname}${back.search}`, {
    Host: HOST,
    Accept: 'text/html',
    Cookie: login,
  });
  assert.equal(callback.status, 302, callback.body);
  assert.equal(callback.location, `http://${HOST}/orders?page=2`);
  const session = cookie(callback, 'kubegate-session');
  assert.match(
    callback.setCookies.join('\n'),
    /kubegate-session=[^;]+; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax/,
  );

  const ok = await curl(underlay, url, { Host: HOST, Cookie: `theme=dark; ${session}`, 'X-User': 'root' });
  assert.equal(ok.status, 200, ok.body);
  const echoed = JSON.parse(ok.body) as { pod: string; headers: Record<string, string[]> };
  assert.match(echoed.pod, /^echo-oidc-/);
  assert.deepEqual(echoed.headers['X-User'], ['carol']);
  assert.deepEqual(echoed.headers.Cookie, ['theme=dark']);
  assert.match(echoed.headers['X-Id-Token']?.[0] ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/);

  // A tampered session is no session.
  const value = session.slice(session.indexOf('=') + 1);
  const tampered = `kubegate-session=${value.slice(0, 10)}${value[10] === 'A' ? 'B' : 'A'}${value.slice(11)}`;
  assert.equal((await curl(underlay, url, { Host: HOST, Cookie: tampered })).status, 401);
});
