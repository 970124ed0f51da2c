import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { createCA, issueCert } from '../../src/dev/pki.ts';
import { loggedLines } from './access-lines.ts';
import { devDir, devDirB, devState, jsonLines, kubectl, kubectlPath } from './env.ts';
import { h2request } from './own-gateway.ts';
import { x509User } from './users.ts';

// The ClusterGateway API as an aggregated API of hub A, registered by `kubegate dev` itself: its
// APIService sends /apis/cluster.core.oam.dev/v1alpha1 to the dev gateway, which believes the hub
// aggregator's X-Remote-* headers because its client certificate comes from A's front-proxy CA.
// The aggregator reaches the gateway's loopback listener through the apiservers' egress proxy (the
// Service's endpoint is an address the proxy stands in for), so no address outside 127/8 is made.
const run = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const NS = 'kubegate-system'; // on the hub: the dev gateway's cluster Secrets
const NSB = `cgas-${tag}`; // on B
const GROUP = 'cluster.core.oam.dev';
const APISERVICE = `v1alpha1.${GROUP}`;
const CG = `/apis/${GROUP}/v1alpha1/clustergateways`;
const B = `b${tag}`;
const ALICE = `cgas-alice-${tag}`; // edit in NSB on B
const NOBODY = `cgas-nobody-${tag}`; // nothing on B
const HUB_ROLE = `cgas-${tag}`;
const secrets: string[] = [];
let work = '';

/** The dev gateway's log (access log included), as JSON lines. */
const devLog = () => jsonLines(join(devDir(), 'logs', 'kubegate.log'));

const hub = () => devState().apiservers[0];

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
  secrets.push(name);
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

  // Cluster B: a service account kubegate uses there, alice may edit NSB, nobody nothing; a pod on
  // B's node to exec into.
  await kubectlB(['create', 'namespace', NSB]);
  await kubectlB(['-n', NSB, 'create', 'serviceaccount', 'hub']);
  await kubectlB([
    'create', 'clusterrolebinding', `${NSB}-hub`, '--clusterrole=kubegate:gateway', `--serviceaccount=${NSB}:hub`,
  ]); // prettier-ignore
  await kubectlB(['-n', NSB, 'create', 'rolebinding', 'alice', '--clusterrole=edit', `--user=${ALICE}`]);
  await until('default ServiceAccount on B', () => kubectlB(['-n', NSB, 'get', 'serviceaccount', 'default']));
  await kubectlB([
    '-n', NSB, 'run', 'box', '--image=registry.k8s.io/e2e-test-images/agnhost:2.66', '--restart=Never',
  ]); // prettier-ignore
  const token = (await kubectlB(['-n', NSB, 'create', 'token', 'hub', '--duration', '1h'])).trim();

  // The hub: RBAC that lets alice and nobody use clustergateways (the hub authorizes before it
  // proxies); cluster B registered by a Secret of the dev gateway's namespace.
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
  await until('cluster B, healthy, at the dev gateway', async () => {
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
  await until(
    'the pod on B running',
    async () =>
      (await kubectlB(['-n', NSB, 'get', 'pod', 'box', '-o', 'jsonpath={.status.phase}'])) === 'Running'
        ? true
        : undefined,
    60_000,
  );
  // kubegate dev registered the APIService at its start, and waited for it to be Available.
  assert.equal((await available())?.status, 'True');
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
  for (const name of secrets)
    await step(`delete Secret ${name}`, () =>
      kubectl(ADMIN, ['-n', NS, 'delete', 'secret', name, '--ignore-not-found']),
    );
  await step('delete hub binding', () =>
    kubectl(ADMIN, ['delete', 'clusterrolebinding,clusterrole', HUB_ROLE, '--ignore-not-found']),
  );
  await step('delete B namespace', () => kubectlB(['delete', 'namespace', NSB, '--wait=false']));
  await step('delete B binding', () =>
    kubectlB(['delete', 'clusterrolebinding', `${NSB}-hub`, '--ignore-not-found']),
  );
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

/** An HTTP/2 session straight to the dev gateway (what the aggregator dials, through the egress proxy). */
function aggSession(cred: { cert: Buffer; key: Buffer }): ClientHttp2Session {
  const s = connect(devState().gateway, { ca: readFileSync(join(devDir(), 'pki', 'ca.crt')), ...cred });
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
  await loggedLines(
    devLog,
    (l) =>
      l.kind === 'access' &&
      String(l.uri).startsWith(CG) &&
      l.cluster === 'dev' &&
      (l.user as { username?: string } | undefined)?.username === 'kubegate-admin',
  );
  const log = devLog();
  const seen = log.filter((l) => l.kind === 'access' && String(l.uri).startsWith(CG) && l.cluster === 'dev');
  assert.ok(
    seen.some((l) => (l.user as { username?: string } | undefined)?.username === 'kubegate-admin'),
    JSON.stringify(seen.at(-1)),
  );
  assert.ok(
    !seen.some((l) => (l.user as { username?: string } | undefined)?.username === 'front-proxy-client'),
  );
  // What the aggregator asked for itself: availability checks of the group version, aggregated
  // discovery at /apis, the OpenAPI v3 index (and 404 to OpenAPI v2, which it takes as no spec).
  const agg = log.filter((l) => l.kind === 'access' && l.cluster === 'dev');
  const answered = (uri: string, status: number) =>
    agg.some((l) => l.uri === uri && l.status === status && String(userOf(l)).includes('aggregator'));
  assert.ok(answered(`/apis/${GROUP}/v1alpha1`, 200));
  assert.ok(answered('/apis', 200));
  assert.ok(answered('/openapi/v3', 200));
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

test('through the hub’s APIService: kubectl exec -i into a pod on B carries stdin and stdout byte for byte', async () => {
  // kubectl exec is a WebSocket upgrade (v5.channel.k8s.io): 101 through the hub's aggregator,
  // kubegate and B's apiserver, which bridges it to B's kubelet (the podlet).
  const admin = viaHubProxy(ADMIN, 'admin');
  const input = randomBytes(48 * 1024).toString('base64');
  const c = spawn(
    kubectlPath(),
    ['--kubeconfig', join(devDir(), admin), '-n', NSB, 'exec', '-i', 'box', '--', 'cat'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  c.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  c.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => c.once('exit', r));
  c.stdin.end(input);
  const code = await Promise.race([exited, sleep(60_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') c.kill('SIGKILL');
  assert.equal(code, 0, `kubectl exec through the hub: ${stderr}`);
  assert.equal(stdout, input);
  assert.ok(
    auditB().some(
      (e) => e.objectRef?.subresource === 'exec' && e.impersonatedUser?.username === 'kubegate-admin',
    ),
  );
  const line = await until('kubegate’s access line of the exec', async () =>
    devLog().find(
      (l) =>
        l.kind === 'access' &&
        String(l.uri).startsWith(`/api/v1/namespaces/${NSB}/pods/box/exec`) &&
        l.status === 101,
    ),
  );
  assert.equal(userOf(line), 'kubegate-admin');
});

test('X-Remote-* headers are believed only from the front-proxy CA’s certificate with an allowed CN', async () => {
  const path = `${CG}/${B}/proxy/api/v1/namespaces/${NSB}/configmaps`;
  const claim = { 'x-remote-user': 'kubegate-admin', 'x-remote-group': 'system:masters' };
  // Alice's certificate (the hub's client CA) with X-Remote-*: she stays alice (B lists for her: edit).
  await x509User(ALICE);
  const logged = devLog().length;
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
    assert.equal(aggregated.status, 200, aggregated.body);
    assert.match(aggregated.body, /"kind":"APIGroupDiscoveryList"/);
    assert.equal((await h2request(s, '/openapi/v2', { headers: claim })).status, 404);
  } finally {
    s.close();
  }
  const hubEntries = await loggedLines(
    () => devLog().slice(logged),
    (l) => l.kind === 'access' && l.uri === '/api/v1/namespaces',
  );
  assert.ok(
    hubEntries.length > 0 && hubEntries.every((l) => l.upstream === null),
    JSON.stringify(hubEntries),
  );
});
