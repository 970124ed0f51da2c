import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { loggedLines } from './access-lines.ts';
import { adminH2, devDir, devDirB, devState, jsonLines, kubectl, kubectlPath } from './env.ts';
import { UNSCHEDULABLE } from './unschedulable.ts';
import { x509User } from './users.ts';

// Cluster B registered on hub A (the dev gateway serves the ClusterGateway API from A's
// kubegate-system Secrets) and reached at <gateway>/apis/cluster.core.oam.dev/v1alpha1/clustergateways/b/proxy.
const run = promisify(execFile);
const CG = '/apis/cluster.core.oam.dev/v1alpha1/clustergateways';
const NS = `cg-${process.pid}`;
const B = `b${process.pid}`;
const ALICE = `cg-alice-${process.pid}`;
const SECRETS = 'kubegate-system';
let h2: ClientHttp2Session;

async function kubectlB(args: readonly string[]): Promise<string> {
  const kc = join(devDirB(), 'apiserver-0.kubeconfig');
  return (await run(kubectlPath(), ['--kubeconfig', kc, ...args], { timeout: 60_000 })).stdout;
}

/** A kubeconfig of the hub's gateway whose server is the proxy path of cluster B. */
function viaProxy(kubeconfig: string, name: string): string {
  const text = readFileSync(join(devDir(), kubeconfig), 'utf8');
  const gw = devState().gateway;
  const out = `users/${name}-via-${B}.kubeconfig`;
  writeFileSync(join(devDir(), out), text.replace(gw, `${gw}${CG}/${B}/proxy`), { mode: 0o600 });
  return out;
}

async function stderrOf(kc: string, args: string[]): Promise<string> {
  try {
    await kubectl(kc, args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`kubectl ${args.join(' ')} succeeded`);
}

function request(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = h2.request({ ':method': method, ':path': path });
    let body = '';
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.setEncoding('utf8');
    s.on('data', (c: string) => (body += c));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
    s.end();
  });
}

async function token(sa: string): Promise<string> {
  return (await kubectlB(['-n', NS, 'create', 'token', sa, '--duration', '1h'])).trim();
}

function secret(name: string, tok: string, annotations: Record<string, string> = {}): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: SECRETS,
      annotations,
      labels: { 'cluster.core.oam.dev/cluster-credential-type': 'ServiceAccountToken' },
    },
    data: {
      endpoint: b64(JSON.parse(readFileSync(join(devDirB(), 'state.json'), 'utf8')).apiservers[0] as string),
      'ca.crt': b64(readFileSync(join(devDirB(), 'pki', 'ca.crt'), 'utf8')),
      token: b64(tok),
    },
  });
}

async function applySecret(
  name: string,
  tok: string,
  annotations?: Record<string, string>,
  endpoint?: string,
): Promise<void> {
  mkdirSync(join(devDir(), 'users'), { recursive: true });
  const file = join(devDir(), `users/${name}-secret.json`);
  let text = secret(name, tok, annotations);
  if (endpoint) {
    const o = JSON.parse(text) as { data: Record<string, string> };
    o.data.endpoint = Buffer.from(endpoint).toString('base64');
    text = JSON.stringify(o);
  }
  writeFileSync(file, text, { mode: 0o600 });
  await kubectl('apiserver-0.kubeconfig', ['apply', '-f', file]);
}

function auditB(): {
  user: { username: string };
  impersonatedUser?: { username: string };
  requestURI: string;
  objectRef?: { subresource?: string };
}[] {
  return jsonLines(join(devDirB(), 'audit', 'apiserver-0.log')) as never;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  h2 = adminH2();
  await kubectlB(['create', 'namespace', NS]);
  for (const sa of ['hub', 'hub2']) {
    await kubectlB(['-n', NS, 'create', 'serviceaccount', sa]);
    await kubectlB([
      'create',
      'clusterrolebinding',
      `${NS}-${sa}`,
      '--clusterrole=kubegate:gateway',
      `--serviceaccount=${NS}:${sa}`,
    ]);
  }
  await kubectlB(['-n', NS, 'create', 'rolebinding', 'alice', '--clusterrole=edit', `--user=${ALICE}`]);
  // B's controller-manager creates the namespace's default ServiceAccount a moment later.
  await until('default ServiceAccount on B', () => kubectlB(['-n', NS, 'get', 'serviceaccount', 'default']));
  await kubectlB(['-n', NS, 'run', 'box', '--image=busybox', '--restart=Never', UNSCHEDULABLE]);
  await applySecret(B, await token('hub'));
  await until('cluster B registered and healthy', async () => {
    const r = await request('GET', `${CG}/${B}`);
    return r.status === 200 && (JSON.parse(r.body) as { status: { healthy: boolean } }).status.healthy
      ? true
      : undefined;
  });
});

after(async () => {
  h2?.close();
  await kubectl('apiserver-0.kubeconfig', [
    '-n',
    SECRETS,
    'delete',
    'secret',
    B,
    `${B}-w`,
    '--ignore-not-found',
  ]);
  await kubectlB(['delete', 'namespace', NS, '--wait=false']);
  for (const sa of ['hub', 'hub2'])
    await kubectlB(['delete', 'clusterrolebinding', `${NS}-${sa}`, '--ignore-not-found']);
});

test('discovery, list and get show the registered cluster in cluster-gateway’s shape, without credentials', async () => {
  const group = JSON.parse((await request('GET', '/apis/cluster.core.oam.dev')).body) as { name: string };
  assert.equal(group.name, 'cluster.core.oam.dev');
  const list = JSON.parse((await request('GET', CG)).body) as {
    kind: string;
    items: { metadata: { name: string } }[];
  };
  assert.equal(list.kind, 'ClusterGatewayList');
  assert.ok(list.items.some((i) => i.metadata.name === B));
  const r = await request('GET', `${CG}/${B}`);
  const o = JSON.parse(r.body) as {
    kind: string;
    spec: {
      provider: string;
      access: { endpoint: { type: string; const: { address: string } }; credential: Record<string, unknown> };
    };
  };
  assert.equal(o.kind, 'ClusterGateway');
  assert.equal(o.spec.access.endpoint.type, 'Const');
  assert.deepEqual(o.spec.access.credential, { type: 'ServiceAccountToken' });
  assert.ok(!r.body.includes((await token('hub')).slice(0, 20)));
  const health = JSON.parse((await request('GET', `${CG}/${B}/health`)).body) as {
    status: { healthy: boolean };
  };
  assert.equal(health.status.healthy, true);
  const missing = await request('GET', `${CG}/nope/proxy/api`);
  assert.equal(missing.status, 404);
  assert.equal((JSON.parse(missing.body) as { kind: string }).kind, 'Status');
});

test('kubectl get ns, apply and get -w reach cluster B as the hub user, whom B’s audit log shows', async () => {
  const alice = viaProxy(await x509User(ALICE), ALICE);
  const admin = viaProxy('gateway.kubeconfig', 'admin');
  assert.match(await kubectl(admin, ['get', 'ns', NS]), new RegExp(NS)); // exists only on B
  const cm = join(devDir(), `users/${NS}-cm.yaml`);
  writeFileSync(
    cm,
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-hub, namespace: ${NS}}\ndata: {a: "1"}\n`,
  );
  assert.match(await kubectl(alice, ['apply', '-f', cm]), /created|configured/);
  assert.equal((await kubectlB(['-n', NS, 'get', 'cm', 'from-hub', '-o', 'jsonpath={.data.a}'])).trim(), '1');
  const w = await kubectl(alice, ['-n', NS, 'get', 'cm', '-w', '--request-timeout=3s']).catch(
    (e: { stdout?: string }) => String(e.stdout),
  );
  assert.match(w, /from-hub/);
  const events = await until('audit events of alice on B', async () => {
    const ev = auditB().filter((e) => e.impersonatedUser?.username === ALICE && e.requestURI.includes(NS));
    return ev.some((e) => e.requestURI.includes('watch=true')) ? ev : undefined;
  });
  assert.ok(events.every((e) => e.user.username === `system:serviceaccount:${NS}:hub`));
});

test('a caller without RBAC on B is refused by B (403 from B, not from kubegate)', async () => {
  const alice = viaProxy(await x509User(ALICE), ALICE);
  const log = join(devDir(), 'logs', 'kubegate.log');
  const refused = (l: Record<string, unknown>) => l.kind === 'access' && l.cluster === B && l.status === 403;
  const earlier = jsonLines(log).filter(refused).length;
  const err = await stderrOf(alice, ['-n', 'kube-system', 'get', 'secrets']);
  assert.match(
    err,
    new RegExp(`User "${ALICE}" cannot list resource "secrets".*namespace "kube-system"`),
    err,
  );
  // Every 403 of B so far, this one's included.
  const lines = await loggedLines(() => jsonLines(log), refused, { count: earlier + 1 });
  assert.ok(
    lines.length > 0 && lines.every((l) => l.code === null || l.code === undefined),
    JSON.stringify(lines.at(-1)),
  );
});

test('an exec upgrade through the proxy path is relayed from B as B answered it', async () => {
  const admin = viaProxy('gateway.kubeconfig', 'admin');
  const via = await stderrOf(admin, ['-n', NS, 'exec', 'box', '--', 'true']);
  const direct = await kubectlB(['-n', NS, 'exec', 'box', '--', 'true']).then(
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

test('watch of clustergateways sees a cluster appear and disappear', async () => {
  const events: string[] = [];
  const s = h2.request({ ':path': `${CG}?watch=1` });
  s.setEncoding('utf8');
  let buf = '';
  s.on('data', (c: string) => {
    buf += c;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const e = JSON.parse(buf.slice(0, i)) as { type: string; object: { metadata: { name: string } } };
      events.push(`${e.type} ${e.object.metadata.name}`);
      buf = buf.slice(i + 1);
    }
  });
  try {
    await until('initial ADDED', async () => (events.includes(`ADDED ${B}`) ? true : undefined));
    await applySecret(`${B}-w`, await token('hub'));
    await until('ADDED of the new cluster', async () => (events.includes(`ADDED ${B}-w`) ? true : undefined));
    await kubectl('apiserver-0.kubeconfig', ['-n', SECRETS, 'delete', 'secret', `${B}-w`]);
    await until('DELETED', async () => (events.includes(`DELETED ${B}-w`) ? true : undefined));
  } finally {
    s.close();
  }
});

test('a Secret created, rotated and deleted under traffic: the hub sees no error, the new token is used within 1 s', async () => {
  let stop = false;
  const hubErrors: number[] = [];
  let hubCount = 0;
  const hubTraffic = (async () => {
    while (!stop) {
      const r = await request('GET', '/api/v1/namespaces/default');
      hubCount++;
      if (r.status !== 200) hubErrors.push(r.status);
    }
  })();
  const sent: { n: number; at: number }[] = [];
  let n = 0;
  const bUnexpected: { status: number; body: string }[] = [];
  const bTraffic = (async () => {
    while (!stop) {
      const i = n++;
      sent.push({ n: i, at: Date.now() });
      const r = await request('GET', `${CG}/${B}/proxy/api/v1/namespaces/${NS}/configmaps/probe-${i}`);
      if (r.status !== 404) bUnexpected.push(r);
    }
  })();
  try {
    await applySecret(`${B}-x`, await token('hub'));
    await sleep(500);
    const rotated = await token('hub2');
    await applySecret(B, rotated);
    const at = Date.now();
    const first = await until(
      'a request with the rotated token',
      async () => {
        const hit = auditB().find(
          (e) => e.user.username === `system:serviceaccount:${NS}:hub2` && e.requestURI.includes('/probe-'),
        );
        return hit ? Number(/probe-(\d+)/.exec(hit.requestURI)![1]) : undefined;
      },
      10_000,
    );
    const lag = sent.find((s) => s.n === first)!.at - at;
    console.log(`rotated credential in effect ${lag} ms after the Secret was written (request ${first})`);
    assert.ok(lag < 1000, `${lag} ms`);
    await kubectl('apiserver-0.kubeconfig', ['-n', SECRETS, 'delete', 'secret', `${B}-x`]);
    await sleep(500);
  } finally {
    stop = true;
    await Promise.all([hubTraffic, bTraffic]);
  }
  console.log(
    `hub requests ${hubCount}, errors ${hubErrors.length}; cluster B requests ${n}, unexpected answers ${bUnexpected.length}: ${JSON.stringify(bUnexpected.map((r) => r.status))}`,
  );
  assert.deepEqual(hubErrors, []);
  // Cluster B itself, while its own Secret is rotated: a request that picked B's retired endpoint
  // just before the swap may get a clean 503 Status (seen once in 266); anything else is a bug.
  for (const r of bUnexpected) {
    assert.equal(r.status, 503, r.body);
    assert.equal((JSON.parse(r.body) as { kind?: string }).kind, 'Status', r.body);
  }
  assert.ok(bUnexpected.length <= 2, `${bUnexpected.length} unexpected answers from B`);
});

test('a StaticMapping identity exchange rule maps the hub user to another user on B', async () => {
  const mapped = `mapped-${process.pid}`;
  const rules = {
    apiVersion: 'cluster.core.oam.dev/v1alpha1',
    kind: 'ClusterGatewayProxyConfiguration',
    spec: {
      clientIdentityExchanger: {
        rules: [
          {
            name: 'alice',
            type: 'StaticMappingIdentityExchanger',
            source: { user: ALICE },
            target: { user: mapped, groups: ['mapped-group'] },
          },
        ],
      },
    },
  };
  await applySecret(`${B}-m`, await token('hub'), {
    'cluster.core.oam.dev/cluster-gateway-proxy-configuration': JSON.stringify(rules),
  });
  await until('the mapped cluster registered', async () =>
    (await request('GET', `${CG}/${B}-m`)).status === 200 ? true : undefined,
  );
  const kc = join(devDir(), viaProxy(await x509User(ALICE), ALICE));
  writeFileSync(kc, readFileSync(kc, 'utf8').replace(`${CG}/${B}/proxy`, `${CG}/${B}-m/proxy`), {
    mode: 0o600,
  });
  const err = await stderrOf(kc.slice(devDir().length + 1), ['-n', NS, 'get', 'cm', 'mapped-probe']);
  assert.match(err, new RegExp(`User "${mapped}" cannot get resource "configmaps"`), err);
  const ev = await until('the mapped user in B’s audit log', async () =>
    auditB().find((e) => e.impersonatedUser?.username === mapped && e.requestURI.includes('mapped-probe')),
  );
  assert.equal(ev.user.username, `system:serviceaccount:${NS}:hub`);
});

test("a PrivilegedIdentityExchanger rule sends the hub user's requests to B as the Secret's own credential", async () => {
  const rules = {
    apiVersion: 'cluster.core.oam.dev/v1alpha1',
    kind: 'ClusterGatewayProxyConfiguration',
    spec: {
      clientIdentityExchanger: {
        rules: [{ name: 'alice-privileged', type: 'PrivilegedIdentityExchanger', source: { user: ALICE } }],
      },
    },
  };
  await applySecret(`${B}-p`, await token('hub'), {
    'cluster.core.oam.dev/cluster-gateway-proxy-configuration': JSON.stringify(rules),
  });
  await until('the privileged cluster registered', async () =>
    (await request('GET', `${CG}/${B}-p`)).status === 200 ? true : undefined,
  );
  const kc = join(devDir(), viaProxy(await x509User(ALICE), `${ALICE}-p`));
  writeFileSync(kc, readFileSync(kc, 'utf8').replace(`${CG}/${B}/proxy`, `${CG}/${B}-p/proxy`), {
    mode: 0o600,
  });
  // Whatever B answers (the hub service account's own RBAC decides), it is asked as that account.
  await kubectl(kc.slice(devDir().length + 1), ['-n', NS, 'get', 'cm', 'privileged-probe']).catch(() => {});
  const ev = await until('the privileged request in B’s audit log', async () =>
    auditB().find((e) => e.requestURI.includes('privileged-probe')),
  );
  assert.equal(ev.user.username, `system:serviceaccount:${NS}:hub`);
  assert.equal(ev.impersonatedUser, undefined, 'no impersonation: the credential itself');
  await kubectl('apiserver-0.kubeconfig', ['-n', SECRETS, 'delete', 'secret', `${B}-p`]);
});

test('health is enforced: a cluster without a healthy endpoint is unhealthy and answers 503 Status', async () => {
  await applySecret(`${B}-dead`, await token('hub'), {}, 'https://127.0.0.1:1');
  const o = await until('the dead cluster registered', async () => {
    const r = await request('GET', `${CG}/${B}-dead/health`);
    return r.status === 200 ? (JSON.parse(r.body) as { status: { healthy?: boolean } }) : undefined;
  });
  assert.equal(o.status.healthy, false);
  const r = await request('GET', `${CG}/${B}-dead/proxy/api/v1/namespaces`);
  assert.equal(r.status, 503);
  const st = JSON.parse(r.body) as { kind: string; reason: string };
  assert.equal(st.kind, 'Status');
  assert.equal(st.reason, 'ServiceUnavailable');
});
