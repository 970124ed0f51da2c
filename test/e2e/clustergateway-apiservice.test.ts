import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { freePort } from '../../src/dev/ports.ts';
import { createCA, issueCert } from '../../src/dev/pki.ts';
import { GATEWAY_USER } from '../../src/dev/rbac.ts';
import { devDir, devDirB, devState, jsonLines, kubectl, kubectlPath } from './env.ts';
import { NO_NODE, UNSCHEDULABLE } from './unschedulable.ts';
import { h2request, OwnGateway } from './own-gateway.ts';
import { x509User } from './users.ts';

// The ClusterGateway API as an aggregated API of hub A: an APIService sends
// /apis/cluster.core.oam.dev/v1alpha1 to a kubegate of the test's own, which believes the hub
// aggregator's X-Remote-* headers because its client certificate comes from A's front-proxy CA.
// Endpoints may not be loopback addresses, so kubegate also listens on the host end of a veth pair
// (an address of this machine that is not 127.0.0.0/8; no netns needed, the apiservers dial it here).
const run = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const VETH = `kgas${tag}h`;
const VETH_PEER = `kgas${tag}n`;
const NS = `cgas-${tag}`; // on the hub: Service, Endpoints, cluster Secrets
const NSB = `cgas-${tag}`; // on B
const SVC = 'kubegate';
const GROUP = 'cluster.core.oam.dev';
const APISERVICE = `v1alpha1.${GROUP}`;
const CG = `/apis/${GROUP}/v1alpha1/clustergateways`;
const B = `b${tag}`;
const ALICE = `cgas-alice-${tag}`; // edit in NSB on B
const NOBODY = `cgas-nobody-${tag}`; // nothing on B
const HUB_ROLE = `cgas-${tag}`;
let hostIP = '';
let aggPort = 0;
let gw: OwnGateway;
let work = '';
let echo: ChildProcess | null = null;
const ECHO = fileURLToPath(new URL('./fixtures/websocket-echo-server.ts', import.meta.url));

const hub = () => devState().apiservers[0];

async function ip(...args: string[]): Promise<void> {
  await run('ip', args, { timeout: 10_000 });
}

async function freeAddress(): Promise<string> {
  const { stdout } = await run('ip', ['-o', '-4', 'addr', 'show'], { timeout: 10_000 });
  for (;;) {
    const a = `10.214.${randomInt(256)}.${randomInt(64) * 4 + 1}`;
    if (!stdout.includes(` ${a}/`)) return a;
  }
}

async function kubectlB(args: readonly string[]): Promise<string> {
  const kc = join(devDirB(), 'apiserver-0.kubeconfig');
  return (await run(kubectlPath(), ['--kubeconfig', kc, ...args], { timeout: 60_000 })).stdout;
}

const ADMIN = 'apiserver-0.kubeconfig'; // the hub's admin, straight to hub apiserver 0

/** A kubeconfig (relative to the dev dir) whose server is the hub apiserver, or a path on it. */
function onHub(kubeconfig: string, name: string, path = ''): string {
  const text = readFileSync(join(devDir(), kubeconfig), 'utf8');
  const server = /server: (\S+)/.exec(text)![1];
  const out = `users/${name}-hub${path ? '-proxy' : ''}-${tag}.kubeconfig`;
  writeFileSync(join(devDir(), out), text.replace(`server: ${server}`, `server: ${hub()}${path}`), {
    mode: 0o600,
  });
  return out;
}

const viaHubProxy = (kubeconfig: string, name: string) => onHub(kubeconfig, name, `${CG}/${B}/proxy`);

async function stderrOf(kc: string, args: string[]): Promise<string> {
  try {
    await kubectl(kc, args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await f().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last)})`);
    await sleep(200);
  }
}

function auditB(): {
  user: { username: string };
  impersonatedUser?: { username: string; groups?: string[] };
  requestURI: string;
  verb: string;
  objectRef?: { subresource?: string };
}[] {
  return jsonLines(join(devDirB(), 'audit', 'apiserver-0.log')) as never;
}

async function applyHub(doc: object): Promise<void> {
  const file = join(work, `${randomBytes(4).toString('hex')}.json`);
  writeFileSync(file, JSON.stringify(doc), { mode: 0o600 });
  await kubectl(ADMIN, ['apply', '-f', file]);
}

async function clusterSecret(name: string, token: string): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const stateB = JSON.parse(readFileSync(join(devDirB(), 'state.json'), 'utf8')) as { apiservers: string[] };
  await applyHub({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: NS,
      labels: { 'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken' },
    },
    data: {
      endpoint: b64(stateB.apiservers[0]),
      'ca.crt': b64(readFileSync(join(devDirB(), 'pki', 'ca.crt'), 'utf8')),
      token: b64(token),
    },
  });
}

/** The APIService's condition Available, as the hub reports it. */
async function available(): Promise<{ status: string; reason?: string; message?: string } | undefined> {
  const o = JSON.parse(await kubectl(ADMIN, ['get', 'apiservice', APISERVICE, '-o', 'json'])) as {
    status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
  };
  return o.status?.conditions?.find((c) => c.type === 'Available');
}

before(async () => {
  work = join(devDir(), 'users', `cgas-${tag}`);
  mkdirSync(work, { recursive: true });
  hostIP = await freeAddress();
  await ip('link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETH_PEER);
  await ip('addr', 'add', `${hostIP}/30`, 'dev', VETH);
  await ip('link', 'set', VETH, 'up');
  await ip('link', 'set', VETH_PEER, 'up');

  // kubegate's serving certificate for the aggregator: it dials the endpoint address and checks
  // the name <service>.<namespace>.svc against the APIService's caBundle (the dev cluster CA).
  const pki = (f: string) => join(devDir(), 'pki', f);
  const serving = await issueCert(
    work,
    'serving',
    { cert: pki('ca.crt'), key: pki('ca.key') },
    {
      cn: 'kubegate-apiservice',
      usage: 'server',
      dns: [`${SVC}.${NS}.svc`, 'localhost'],
      ips: [hostIP, '127.0.0.1'],
    },
  );

  // Cluster B: a service account kubegate uses there, alice may edit NSB, nobody nothing.
  await kubectlB(['create', 'namespace', NSB]);
  await kubectlB(['-n', NSB, 'create', 'serviceaccount', 'hub']);
  await kubectlB([
    'create', 'clusterrolebinding', `${NSB}-hub`, '--clusterrole=kubegate:gateway', `--serviceaccount=${NSB}:hub`,
  ]); // prettier-ignore
  await kubectlB(['-n', NSB, 'create', 'rolebinding', 'alice', '--clusterrole=edit', `--user=${ALICE}`]);
  await until('default ServiceAccount on B', () => kubectlB(['-n', NSB, 'get', 'serviceaccount', 'default']));
  await kubectlB(['-n', NSB, 'run', 'box', '--image=busybox', '--restart=Never', UNSCHEDULABLE]);
  const token = (await kubectlB(['-n', NSB, 'create', 'token', 'hub', '--duration', '1h'])).trim();

  // The hub: the namespace of the cluster Secrets (kubegate may read them), hub RBAC that lets
  // alice and nobody use clustergateways (the hub authorizes before it proxies).
  await kubectl(ADMIN, ['create', 'namespace', NS]);
  await kubectl(ADMIN, [
    '-n',
    NS,
    'create',
    'role',
    'secrets',
    '--verb=get,list,watch',
    '--resource=secrets',
  ]);
  await kubectl(ADMIN, [
    '-n',
    NS,
    'create',
    'rolebinding',
    'secrets',
    '--role=secrets',
    `--user=${GATEWAY_USER}`,
  ]);
  await applyHub({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: HUB_ROLE },
    rules: [
      {
        apiGroups: [GROUP],
        resources: ['clustergateways', 'clustergateways/proxy', 'clustergateways/health'],
        verbs: ['*'],
      },
    ],
  });
  await kubectl(ADMIN, [
    'create', 'clusterrolebinding', HUB_ROLE, `--clusterrole=${HUB_ROLE}`, `--user=${ALICE}`, `--user=${NOBODY}`,
  ]); // prettier-ignore
  await clusterSecret(B, token);

  // Our own kubegate: cluster e2e (the hub) trusts the hub's front-proxy CA; a second listener
  // on the veth address with the APIService's serving certificate.
  gw = await OwnGateway.start(
    { frontProxy: { clientCAFile: pki('front-proxy-ca.crt'), allowedNames: ['front-proxy-client'] } },
    {
      gateway: {
        kubernetes: {
          kubeconfigFile: join(devDir(), 'gateway-upstream.kubeconfig'),
          clusterGatewaySecretNamespace: NS,
        },
      },
    },
  );
  aggPort = await freePort();
  const doc = gw.configuration({
    frontProxy: { clientCAFile: pki('front-proxy-ca.crt'), allowedNames: ['front-proxy-client'] },
  }) as { listeners: object[] };
  doc.listeners.push({
    name: 'apiservice',
    address: hostIP,
    port: aggPort,
    tls: { certFile: serving.cert, keyFile: serving.key, clientCAFile: pki('ca.crt') },
    cluster: 'e2e',
  });
  writeFileSync(`${gw.file}.tmp`, stringify(doc));
  await rename(`${gw.file}.tmp`, gw.file);
  await until('the apiservice listener', async () => {
    const s = aggSession(credentials('admin'));
    try {
      const r = await h2request(s, `${CG}/${B}`);
      return r.status === 200 && (JSON.parse(r.body) as { status: { healthy: boolean } }).status.healthy
        ? true
        : undefined;
    } finally {
      s.close();
    }
  });

  await applyHub({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SVC, namespace: NS },
    spec: { ports: [{ port: 443, targetPort: aggPort, protocol: 'TCP' }] },
  });
  await applyHub({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: SVC, namespace: NS },
    subsets: [{ addresses: [{ ip: hostIP }], ports: [{ port: aggPort, protocol: 'TCP' }] }],
  });
  await applyHub({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: SVC, namespace: NS, labels: { 'kubernetes.io/service-name': SVC } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [hostIP], conditions: { ready: true } }],
    ports: [{ port: aggPort, protocol: 'TCP' }],
  });
  await applyHub({
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: APISERVICE },
    spec: {
      group: GROUP,
      version: 'v1alpha1',
      service: { namespace: NS, name: SVC, port: 443 },
      caBundle: readFileSync(pki('ca.crt')).toString('base64'),
      insecureSkipTLSVerify: false,
      groupPriorityMinimum: 2000,
      versionPriority: 10,
    },
  });
  const start = Date.now();
  await until(
    'APIService Available=True',
    async () => ((await available())?.status === 'True' ? true : undefined),
    60_000,
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(await available())}`);
  });
  console.log(`APIService ${APISERVICE} Available after ${Date.now() - start} ms`);
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
  await step('delete apiservice', () =>
    kubectl(ADMIN, ['delete', 'apiservice', APISERVICE, '--ignore-not-found']),
  );
  await step('delete hub binding', () =>
    kubectl(ADMIN, ['delete', 'clusterrolebinding,clusterrole', HUB_ROLE, '--ignore-not-found']),
  );
  await step('delete hub namespace', () => kubectl(ADMIN, ['delete', 'namespace', NS, '--wait=false']));
  await step('delete B namespace', () => kubectlB(['delete', 'namespace', NSB, '--wait=false']));
  await step('delete B binding', () =>
    kubectlB(['delete', 'clusterrolebinding', `${NSB}-hub`, '--ignore-not-found']),
  );
  if (gw) await step('stop kubegate', () => gw.stop());
  if (echo && echo.exitCode === null && echo.signalCode === null) {
    const exited = new Promise((r) => echo!.once('exit', r));
    echo.kill('SIGTERM');
    await Promise.race([exited, sleep(5000).then(() => echo!.kill('SIGKILL'))]);
  }
  await step('delete veth', () => ip('link', 'del', VETH));
  const left = (await run('ip', ['-o', 'link', 'show'])).stdout;
  assert.ok(!left.includes(VETH), `veth ${VETH} left behind`);
  if (errors.length > 0) throw new Error(errors.join('; '));
});

const userOf = (l: Record<string, unknown>) => (l.user as { username?: string } | undefined)?.username;

/** PEM client credentials: the hub admin, a dev user, or A's front-proxy client (the aggregator's). */
function credentials(who: 'admin' | 'front-proxy-client' | string): { cert: Buffer; key: Buffer } {
  const base =
    who === 'admin' || who === 'front-proxy-client'
      ? join(devDir(), 'pki', who)
      : join(devDir(), 'users', who);
  return { cert: readFileSync(`${base}.crt`), key: readFileSync(`${base}.key`) };
}

/** An HTTP/2 session straight to kubegate's APIService listener (what the aggregator dials). */
function aggSession(cred: { cert: Buffer; key: Buffer }): ClientHttp2Session {
  const s = connect(`https://${hostIP}:${aggPort}`, {
    ca: readFileSync(join(devDir(), 'pki', 'ca.crt')),
    servername: `${SVC}.${NS}.svc`,
    ...cred,
  });
  s.on('error', () => {}); // the request fails too, and says why
  return s;
}

test('through the hub: discovery has the group, kubectl get clustergateways lists cluster B', async () => {
  const groups = JSON.parse(await kubectl(ADMIN, ['get', '--raw', '/apis'])) as {
    groups: { name: string }[];
  };
  assert.ok(groups.groups.some((g) => g.name === GROUP));
  const resources = await kubectl(ADMIN, ['api-resources', `--api-group=${GROUP}`, '-o', 'name']);
  assert.match(resources, /^clustergateways\.cluster\.core\.oam\.dev$/m);
  assert.match(
    await kubectl(ADMIN, ['get', 'clustergateways', '-o', 'name']),
    new RegExp(`clustergateway\\.${GROUP.replaceAll('.', '\\.')}/${B}\\b`),
  );
  assert.match(await kubectl(ADMIN, ['get', 'clustergateways']), new RegExp(`^${B}\\b`, 'm'));
  const o = JSON.parse(await kubectl(ADMIN, ['get', 'clustergateway', B, '-o', 'json'])) as {
    kind: string;
    status: { healthy: boolean };
  };
  assert.equal(o.kind, 'ClusterGateway');
  assert.equal(o.status.healthy, true);
  // kubegate saw the hub admin through the aggregator, not the front-proxy certificate's CN.
  const seen = gw
    .logs()
    .filter((l) => l.kind === 'access' && String(l.uri).startsWith(CG) && l.cluster === 'e2e');
  assert.ok(
    seen.some((l) => (l.user as { username?: string } | undefined)?.username === 'kubegate-admin'),
    JSON.stringify(seen.at(-1)),
  );
  assert.ok(
    !seen.some((l) => (l.user as { username?: string } | undefined)?.username === 'front-proxy-client'),
  );
  // What the aggregator asked for itself: availability checks and legacy discovery of the group
  // version (after a 406 to aggregated discovery at /apis), and OpenAPI, which kubegate does not serve.
  const agg = gw.logs().filter((l) => l.kind === 'access' && l.cluster === 'e2e');
  const answered = (uri: string, status: number) =>
    agg.some((l) => l.uri === uri && l.status === status && String(userOf(l)).includes('aggregator'));
  assert.ok(answered(`/apis/${GROUP}/v1alpha1`, 200));
  assert.ok(answered('/apis', 406));
  assert.ok(answered('/openapi/v2', 404));
  assert.equal((await available())?.status, 'True');
});

test('through the hub: kubectl get clustergateways -w sees a cluster appear and disappear', async () => {
  const w = spawn(
    kubectlPath(),
    [
      '--kubeconfig',
      join(devDir(), ADMIN),
      'get',
      'clustergateways',
      '-w',
      '--output-watch-events',
      '-o',
      'jsonpath={.type} {.object.metadata.name}{"\\n"}',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  w.stdout.on('data', (c: Buffer) => (out += c.toString()));
  w.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const has = (re: RegExp) => async () => (re.test(out) ? true : undefined);
  try {
    await until(`the watch lists ${B}`, has(new RegExp(`^ADDED ${B}$`, 'm')));
    const token = (await kubectlB(['-n', NSB, 'create', 'token', 'hub', '--duration', '1h'])).trim();
    await clusterSecret(`${B}-w`, token);
    await until(`ADDED ${B}-w`, has(new RegExp(`^ADDED ${B}-w$`, 'm')));
    await kubectl(ADMIN, ['-n', NS, 'delete', 'secret', `${B}-w`]);
    await until(`DELETED ${B}-w`, has(new RegExp(`^DELETED ${B}-w$`, 'm')));
  } catch (e) {
    throw new Error(`${(e as Error).message}; kubectl printed ${JSON.stringify(out)}, stderr ${err}`, {
      cause: e,
    });
  } finally {
    w.kill('SIGTERM');
  }
});

test('through the hub’s APIService: get ns, apply and get -w reach B as the hub user, whom B’s audit log shows', async () => {
  const admin = viaHubProxy(ADMIN, 'admin');
  assert.match(await kubectl(admin, ['get', 'ns', NSB]), new RegExp(NSB)); // exists only on B
  const alice = viaHubProxy(await x509User(ALICE), ALICE);
  const cm = join(work, 'cm.yaml');
  writeFileSync(
    cm,
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: via-hub, namespace: ${NSB}}\ndata: {a: "1"}\n`,
  );
  assert.match(await kubectl(alice, ['apply', '-f', cm]), /created|configured/);
  assert.equal((await kubectlB(['-n', NSB, 'get', 'cm', 'via-hub', '-o', 'jsonpath={.data.a}'])).trim(), '1');

  const w = spawn(
    kubectlPath(),
    ['--kubeconfig', join(devDir(), alice), '-n', NSB, 'get', 'cm', 'via-hub', '-w', '--output-watch-events', '-o', 'jsonpath={.type} {.object.data.a}{"\\n"}'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  ); // prettier-ignore
  let out = '';
  let err = '';
  w.stdout.on('data', (c: Buffer) => (out += c.toString()));
  w.stderr.on('data', (c: Buffer) => (err += c.toString()));
  try {
    await until(`the watch's first event`, async () => (/ADDED 1\n/.test(out) ? true : undefined));
    await kubectlB(['-n', NSB, 'patch', 'cm', 'via-hub', '--type=merge', '-p', '{"data":{"a":"2"}}']);
    await until(`MODIFIED 2`, async () => (/MODIFIED 2\n/.test(out) ? true : undefined));
  } catch (e) {
    throw new Error(`${(e as Error).message}; kubectl printed ${JSON.stringify(out)}, stderr ${err}`, {
      cause: e,
    });
  } finally {
    w.kill('SIGTERM');
  }

  const events = await until('alice’s watch in B’s audit log', async () => {
    const ev = auditB().filter((e) => e.impersonatedUser?.username === ALICE && e.requestURI.includes(NSB));
    return ev.some((e) => e.verb === 'watch') && ev.some((e) => e.verb === 'create' || e.verb === 'patch')
      ? ev
      : undefined;
  });
  // The hub caller, as kubegate's credential on B impersonating her: never the front-proxy CN.
  assert.ok(events.every((e) => e.user.username === `system:serviceaccount:${NSB}:hub`));
  assert.ok(!auditB().some((e) => e.impersonatedUser?.username === 'front-proxy-client'));
});

test('through the hub’s APIService: a hub user without RBAC on B is refused by B (403 relayed)', async () => {
  const nobody = viaHubProxy(await x509User(NOBODY), NOBODY);
  const err = await stderrOf(nobody, ['-n', NSB, 'get', 'configmaps']);
  assert.match(
    err,
    new RegExp(`User "${NOBODY}" cannot list resource "configmaps".*namespace "${NSB}"`),
    err,
  );
  const ev = await until('nobody’s refusal in B’s audit log', async () =>
    auditB().find(
      (e) =>
        e.impersonatedUser?.username === NOBODY &&
        e.requestURI.startsWith(`/api/v1/namespaces/${NSB}/configmaps`) &&
        (e as { responseStatus?: { code: number } }).responseStatus?.code === 403,
    ),
  );
  assert.equal(ev.user.username, `system:serviceaccount:${NSB}:hub`);
});

test('through the hub’s APIService: an exec upgrade is relayed from B as B answered it', async () => {
  // No kubelet: B refuses the exec (the pod has no node); the hub's aggregator, kubegate and
  // kubectl must bring that answer back unchanged, as a direct kubectl exec to B gets it.
  const admin = viaHubProxy(ADMIN, 'admin');
  const via = await stderrOf(admin, ['-n', NSB, 'exec', 'box', '--', 'true']);
  const direct = await kubectlB(['-n', NSB, 'exec', 'box', '--', 'true']).then(
    () => 'succeeded',
    (e: { stderr?: string }) => String(e.stderr),
  );
  assert.match(direct, /host|node/i, direct);
  assert.equal(via.replaceAll(/:\d{4,5}\b/g, ':PORT'), direct.replaceAll(/:\d{4,5}\b/g, ':PORT'));
  assert.ok(
    auditB().some(
      (e) => e.objectRef?.subresource === 'exec' && e.impersonatedUser?.username === 'kubegate-admin',
    ),
  );
});

test('X-Remote-* headers are believed only from the front-proxy CA’s certificate with an allowed CN', async () => {
  const path = `${CG}/${B}/proxy/api/v1/namespaces/${NSB}/configmaps`;
  const claim = { 'x-remote-user': 'kubegate-admin', 'x-remote-group': 'system:masters' };
  // Alice's certificate (the hub's client CA) with X-Remote-*: she stays alice (B lists for her: edit).
  await x509User(ALICE);
  let s = aggSession(credentials(ALICE));
  try {
    const r = await h2request(s, `${CG}/${B}/proxy/api/v1/namespaces/kube-system/secrets`, {
      headers: claim,
    });
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, new RegExp(`User \\\\"${ALICE}\\\\" cannot list`));
  } finally {
    s.close();
  }
  // A certificate from a CA named like the front-proxy CA but with another key: not verified, 401.
  const fake = await createCA(join(work, 'fake'), 'front-proxy-ca', 'kubegate-dev-front-proxy-ca');
  const forged = await issueCert(join(work, 'fake'), 'front-proxy-client', fake, {
    cn: 'front-proxy-client',
    usage: 'client',
  });
  s = aggSession({ cert: readFileSync(forged.cert), key: readFileSync(forged.key) });
  try {
    const r = await h2request(s, path, { headers: claim });
    assert.equal(r.status, 401, r.body);
  } finally {
    s.close();
  }
  // A certificate of the real front-proxy CA with a CN that is not allowed: 401.
  const fp = {
    cert: join(devDir(), 'pki', 'front-proxy-ca.crt'),
    key: join(devDir(), 'pki', 'front-proxy-ca.key'),
  };
  const other = await issueCert(work, 'other-proxy', fp, { cn: 'other-proxy', usage: 'client' });
  s = aggSession({ cert: readFileSync(other.cert), key: readFileSync(other.key) });
  try {
    const r = await h2request(s, path, { headers: claim });
    assert.equal(r.status, 401, r.body);
  } finally {
    s.close();
  }
  // The front proxy's own certificate: without X-Remote-User it is nobody (never its CN)…
  s = aggSession(credentials('front-proxy-client'));
  try {
    assert.equal((await h2request(s, path)).status, 401);
    // …with it, the named user; and outside the ClusterGateway paths nothing reaches the hub.
    const ok = await h2request(s, path, { headers: { 'x-remote-user': ALICE } });
    assert.equal(ok.status, 200, ok.body);
    const hubPath = await h2request(s, '/api/v1/namespaces', { headers: claim });
    assert.equal(hubPath.status, 404, hubPath.body);
    const aggregated = await h2request(s, '/apis', {
      headers: {
        ...claim,
        accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
      },
    });
    assert.equal(aggregated.status, 406, aggregated.body);
    assert.equal((await h2request(s, '/openapi/v2', { headers: claim })).status, 404);
  } finally {
    s.close();
  }
  const hubEntries = gw.logs().filter((l) => l.kind === 'access' && l.uri === '/api/v1/namespaces');
  assert.ok(
    hubEntries.length > 0 && hubEntries.every((l) => l.upstream === null),
    JSON.stringify(hubEntries),
  );
});

test('through the hub’s APIService: a WebSocket upgrade to a service proxy on B round-trips messages (101 end to end)', async () => {
  // The echo server listens on the veth address (B's service proxy refuses loopback); a Pod of
  // B with that podIP vouches for the Endpoints address, as kube-apiserver's service proxy requires
  // (unscheduled: a podlet would write its own status over the patched one).
  echo = spawn(process.execPath, [ECHO, hostIP, '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let echoOut = '';
  echo.stdout!.on('data', (c: Buffer) => (echoOut += c.toString()));
  const port = await until('the echo server', async () => /listening \S+:(\d+)/.exec(echoOut)?.[1], 15_000);
  const manifests = join(work, 'echo.json');
  writeFileSync(
    manifests,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'echo', namespace: NSB }, spec: { nodeSelector: NO_NODE, containers: [{ name: 'echo', image: 'unused' }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: NSB }, spec: { ports: [{ name: 'ws', port: 80, targetPort: Number(port), protocol: 'TCP' }] } },
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'echo', namespace: NSB },
          subsets: [{ addresses: [{ ip: hostIP, targetRef: { kind: 'Pod', name: 'echo', namespace: NSB } }], ports: [{ name: 'ws', port: Number(port), protocol: 'TCP' }] }],
        },
      ],
    }),
  ); // prettier-ignore
  await kubectlB(['apply', '-f', manifests]);
  await kubectlB([
    '-n', NSB, 'patch', 'pod', 'echo', '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { podIP: hostIP, podIPs: [{ ip: hostIP }] } }),
  ]); // prettier-ignore
  const inner = `/api/v1/namespaces/${NSB}/services/http:echo:ws/proxy/`;
  const ws = new WebSocket(`${hub().replace(/^https:/, 'wss:')}${CG}/${B}/proxy${inner}`, {
    ca: readFileSync(join(devDir(), 'pki', 'ca.crt')),
    ...credentials('admin'),
    handshakeTimeout: 10_000,
    perMessageDeflate: false,
  });
  const sent = [Buffer.from('through the hub, kubegate and B', 'utf8'), randomBytes(64 * 1024)];
  const received: Buffer[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no echo within 20 s (${received.length})`)), 20_000);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Error(`upgrade refused: ${res.statusCode} ${body}`)));
      });
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(sent[0], { binary: false });
        ws.send(sent[1], { binary: true });
      });
      ws.on('message', (data: Buffer) => {
        received.push(data);
        if (received.length === sent.length) {
          clearTimeout(t);
          resolve();
        }
      });
    });
  } finally {
    ws.terminate();
  }
  assert.ok(received[0].equals(sent[0]) && received[1].equals(sent[1]), 'echoed byte for byte');
  // B's apiserver dialled the echo server, and B saw the hub admin, impersonated by kubegate.
  assert.match(echoOut, /^connection \S+ \/\n/m, echoOut);
  const ev = await until('the upgrade in B’s audit log', async () =>
    auditB().find((e) => e.requestURI === inner && e.objectRef?.subresource === 'proxy'),
  );
  assert.equal(ev.impersonatedUser?.username, 'kubegate-admin');
  assert.equal(ev.user.username, `system:serviceaccount:${NSB}:hub`);
  const line = await until('kubegate’s access line of the tunnel', async () =>
    gw.logs().find((l) => l.kind === 'access' && l.uri === inner && l.status === 101),
  );
  assert.equal(userOf(line), 'kubegate-admin');
});
