import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { createCA, issueCert, type CertFiles } from '../../src/dev/pki.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { devDir, devState } from './env.ts';
import { FailoverClient, OpenLoopLoad, STEADY_PATHS } from './faults/load.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// Issue 8 item 5: certificate and CA files reloaded on change without restart, and the gateway's
// upstream credential rotated without dropping traffic. One gateway of cluster A's under 300 GETs a
// second on one HTTP/2 connection, plus one open watch, plus a new connection every 50 ms (whose
// handshakes must all succeed while the serving certificate changes under them), while the test
// rotates its listener's certificate (a Secret volume's `..data` swap, then plain renames), its
// client CA, and its upstream client certificate and CA; then writes a half-rotated pair.
const RATE = 300;
const ROTATED_USER = 'kubegate-gateway-rotated';
const BINDING = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubegate:gateway-rotated';

let work = '';
let gw: OwnGateway;
let admin: KubeClient;
const pki = (f: string) => join(devDir(), 'pki', f);
const devCA = (): CertFiles => ({ cert: pki('ca.crt'), key: pki('ca.key') });
const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
const serving: CertFiles[] = [];
let oldCA: CertFiles;
let newCA: CertFiles;
let oldUser: CertFiles;
let newUser: CertFiles;
let rotatedUpstream: CertFiles;

/** The listener's files, laid out as a Secret volume: tls.crt → ..data/tls.crt, ..data → ..v1. */
const servingDir = () => join(work, 'serving');
const clientCAFile = () => join(work, 'client-ca.crt');
const upstreamDir = () => join(work, 'upstream');

async function secretVersion(version: string, pair: { cert: string; key: string }): Promise<void> {
  await mkdir(join(servingDir(), version));
  await copyFile(pair.cert, join(servingDir(), version, 'tls.crt'));
  await copyFile(pair.key, join(servingDir(), version, 'tls.key'));
}

/** The kubelet's atomic swap: a new version folder, a `..data_tmp` link renamed over `..data`. */
async function swapSecret(version: string, pair: { cert: string; key: string }): Promise<void> {
  await secretVersion(version, pair);
  await symlink(version, join(servingDir(), '..data_tmp'));
  await rename(join(servingDir(), '..data_tmp'), join(servingDir(), '..data'));
}

/** Write a temporary file and rename it over `file` (what editors and cert-manager's tools do). */
async function replaceFile(file: string, content: string | Buffer): Promise<void> {
  await writeFile(`${file}.tmp`, content);
  await rename(`${file}.tmp`, file);
}

const text = (f: string) => readFileSync(f, 'utf8');
const fingerprint = (f: string) => new X509Certificate(readFileSync(f)).fingerprint256;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'kubegate-tls-rotate-'));
  for (let i = 0; i < 4; i++)
    serving.push(
      await issueCert(work, `serving-${i}`, devCA(), { cn: 'kubegate', usage: 'server', ...local }),
    );
  oldCA = await createCA(work, 'old-ca', 'kubegate-e2e-old-client-ca');
  newCA = await createCA(work, 'new-ca', 'kubegate-e2e-new-client-ca');
  const masters = ['system:masters'];
  oldUser = await issueCert(work, 'old-user', oldCA, { cn: 'old-ca-user', orgs: masters, usage: 'client' });
  newUser = await issueCert(work, 'new-user', newCA, { cn: 'new-ca-user', orgs: masters, usage: 'client' });
  // A second upstream identity of the gateway's, as privileged as the first (bound to its role),
  // signed by the apiservers' client CA like the one `kubegate dev` issues.
  rotatedUpstream = await issueCert(work, 'gateway-upstream-rotated', devCA(), {
    cn: ROTATED_USER,
    usage: 'client',
  });

  await mkdir(servingDir());
  await secretVersion('..v1', serving[0]);
  await symlink('..v1', join(servingDir(), '..data'));
  await symlink('..data/tls.crt', join(servingDir(), 'tls.crt'));
  await symlink('..data/tls.key', join(servingDir(), 'tls.key'));
  await writeFile(clientCAFile(), text(pki('ca.crt')) + text(oldCA.cert));
  await mkdir(upstreamDir());
  await copyFile(pki('gateway-upstream.crt'), join(upstreamDir(), 'tls.crt'));
  await copyFile(pki('gateway-upstream.key'), join(upstreamDir(), 'tls.key'));
  await copyFile(pki('ca.crt'), join(upstreamDir(), 'ca.crt'));

  admin = new KubeClient({
    server: devState().apiservers[0],
    ca: text(pki('ca.crt')),
    cert: text(pki('admin.crt')),
    key: text(pki('admin.key')),
  });
  await admin.raw('DELETE', BINDING);
  await admin.json('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubegate:gateway-rotated' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:gateway' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: ROTATED_USER }],
  });

  gw = await OwnGateway.start(
    {
      upstreamCA: { file: join(upstreamDir(), 'ca.crt') },
      credentials: { certFile: join(upstreamDir(), 'tls.crt'), keyFile: join(upstreamDir(), 'tls.key') },
    },
    {
      admin: true,
      tls: {
        certFile: join(servingDir(), 'tls.crt'),
        keyFile: join(servingDir(), 'tls.key'),
        clientCAFile: clientCAFile(),
      },
    },
  );
});

after(async () => {
  await gw?.stop();
  await admin?.raw('DELETE', BINDING);
  admin?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A new TLS handshake with the gateway: the certificate it serves now (SHA-256 fingerprint). */
function handshake(opts: ConnectionOptions = {}): Promise<TLSSocket> {
  const port = Number(new URL(gw.url).port);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: readFileSync(pki('ca.crt')),
      ALPNProtocols: ['h2'],
      ...opts,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

async function servedFingerprint(): Promise<string> {
  const s = await handshake();
  const fp = s.getPeerX509Certificate()!.fingerprint256;
  s.destroy();
  return fp;
}

/** Milliseconds until `probe` holds, polling every 20 ms; throws after `ms`. */
async function within(what: string, ms: number, probe: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - start;
    if (Date.now() - start > ms) {
      const events = gw
        .logs()
        .filter((l) => l.kind !== 'access')
        .slice(-10);
      throw new Error(`${what}: not within ${ms} ms; last gateway events: ${JSON.stringify(events)}`);
    }
    await sleep(20);
  }
}

/** A GET on a new connection as `user` (an x509 client), its status. */
async function statusAs(user: CertFiles): Promise<number> {
  const s = h2connect(gw.url, {
    ca: readFileSync(pki('ca.crt')),
    cert: readFileSync(user.cert),
    key: readFileSync(user.key),
  });
  try {
    s.on('error', () => {});
    return (await h2request(s, '/api/v1/namespaces/default')).status;
  } finally {
    s.close();
  }
}

/** Audit events of every apiserver of cluster A whose line contains `marker`. */
function audited(marker: string): { user: { username: string }; impersonatedUser?: { username: string } }[] {
  const dir = join(devDir(), 'audit');
  const out = [];
  for (const f of readdirSync(dir))
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n'))
      if (line.includes(marker) && line.startsWith('{')) out.push(JSON.parse(line));
  return out;
}

/** New connections, one every 50 ms, each one handshake and one GET: all must succeed. */
class Reconnects {
  made = 0;
  readonly failures: string[] = [];
  #on = true;
  readonly #done: Promise<void>;
  constructor() {
    this.#done = this.#run();
  }
  async #run(): Promise<void> {
    while (this.#on) {
      this.made++;
      await statusAs({ cert: pki('admin.crt'), key: pki('admin.key') }).then(
        (status) => void (status !== 200 && this.failures.push(`status ${status}`)),
        (err: Error) => void this.failures.push(err.message),
      );
      await sleep(50);
    }
  }
  stop(): Promise<void> {
    this.#on = false;
    return this.#done;
  }
}

/**
 * One watch through the gateway; how it ended, if it did: cleanly (END_STREAM, no reset, as a
 * watch the apiserver times out ends, which clients resume from their resourceVersion), or cut.
 */
function openWatch(s: ClientHttp2Session): { status: () => number; ended: () => string | null } {
  let end: string | null = null;
  let sawEnd = false;
  let error: string | null = null;
  let status = 0;
  const r = s.request({ ':path': '/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true' });
  r.on('response', (h) => (status = Number(h[':status'])));
  r.resume();
  r.on('end', () => (sawEnd = true));
  r.on('error', (e: Error) => (error = e.message));
  r.on('close', () => {
    if (error !== null) end = `error: ${error}`;
    else if (sawEnd && r.rstCode === 0) end = `ended cleanly (status ${status})`;
    else end = `cut (RST_STREAM ${r.rstCode})`;
  });
  return { status: () => status, ended: () => end };
}

async function metric(name: string, labels: string): Promise<number> {
  const body = await (await fetch(`${gw.adminURL}/metrics`)).text();
  const line = body
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && labels.split(',').every((p) => l.includes(p)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

test('certificate, client CA and upstream credential files rotated under load: new material within 1 s, no failed request, a half-rotated pair refused', async (t) => {
  const client = new FailoverClient([gw.url]);
  const load = new OpenLoopLoad(client, { rate: RATE, timeoutMs: 10_000, paths: STEADY_PATHS });
  const watchSession = gw.session();
  const watch = openWatch(watchSession);
  const reconnects = new Reconnects();
  load.start();
  try {
    await sleep(1000);
    assert.equal(await servedFingerprint(), fingerprint(serving[0].cert));

    // (a) The serving certificate: a Secret volume's ..data swap, then both files renamed over.
    await swapSecret('..v2', serving[1]);
    const swapMs = await within(
      'the swapped certificate served',
      1000,
      async () => (await servedFingerprint()) === fingerprint(serving[1].cert),
    );
    await sleep(500);
    await replaceFile(join(servingDir(), 'tls.key'), await readFile(serving[2].key));
    await replaceFile(join(servingDir(), 'tls.crt'), await readFile(serving[2].cert));
    const renameMs = await within(
      'the renamed certificate served',
      1000,
      async () => (await servedFingerprint()) === fingerprint(serving[2].cert),
    );
    // The TLS policy holds on the swapped context: no TLS 1.1, no CBC suite, no renegotiation.
    await assert.rejects(
      handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    );
    await assert.rejects(
      handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384' }),
    );
    const tls12 = await handshake({ maxVersion: 'TLSv1.2' });
    const renegotiated = await new Promise<boolean>((resolve) => {
      tls12.once('error', () => resolve(false));
      if (!tls12.renegotiate({}, (err) => resolve(!err))) resolve(false);
    });
    tls12.destroy();
    assert.equal(renegotiated, false, 'a TLS 1.2 client cannot renegotiate on the new context');

    await sleep(1000);
    // (b) The client CA: the old extra CA out, a new one in.
    assert.equal(await statusAs(oldUser), 200, 'a client of the old CA is accepted before');
    assert.equal(await statusAs(newUser), 401, 'a client of the new CA is refused before');
    await replaceFile(clientCAFile(), text(pki('ca.crt')) + text(newCA.cert));
    const caMs = await within(
      'the new client CA trusted, the old one not',
      1000,
      async () => (await statusAs(newUser)) === 200 && (await statusAs(oldUser)) === 401,
    );

    await sleep(1000);
    // (c) The upstream credential: the CA bundle grows, then the client pair is renamed over, key first.
    await replaceFile(join(upstreamDir(), 'ca.crt'), text(pki('ca.crt')) + text(oldCA.cert));
    await replaceFile(join(upstreamDir(), 'tls.key'), await readFile(rotatedUpstream.key));
    await replaceFile(join(upstreamDir(), 'tls.crt'), await readFile(rotatedUpstream.cert));
    const probe = gw.session();
    let n = 0;
    const upstreamMs = await within(
      'requests reach the apiservers as the rotated identity',
      10_000,
      async () => {
        const marker = `rotation-probe-${process.pid}-${n++}`;
        const r = await h2request(probe, `/api/v1/namespaces/default/configmaps/${marker}`);
        assert.equal(r.status, 404);
        await sleep(100);
        const events = audited(marker);
        return (
          events.length > 0 &&
          events.every(
            (e) => e.user.username === ROTATED_USER && e.impersonatedUser?.username === 'kubegate-admin',
          )
        );
      },
    );
    probe.close();

    await sleep(1000);
    const refusals = () => gw.logs().filter((l) => String(l.msg).startsWith('configuration rejected'));
    assert.deepEqual(refusals(), [], 'pairs renamed one file at a time were never reported as refused');
    // (d) A half-rotated pair (a new certificate, the old key): refused, the file named, the old one
    // served. The files are plain files since the renames of (a): the certificate alone is renamed in.
    const refusedBefore = await metric(
      'kubegate_material_reloads_total',
      'kind="listener_key",result="failure"',
    );
    await replaceFile(join(servingDir(), 'tls.crt'), await readFile(serving[3].cert));
    const rejected = await within('the half-rotated pair refused and logged', 5000, async () =>
      gw
        .logs()
        .some(
          (l) =>
            l.kind === 'config' &&
            String(l.msg).startsWith('configuration rejected') &&
            JSON.stringify(l.issues).includes('listeners[0].tls.keyFile') &&
            JSON.stringify(l.issues).includes(join(servingDir(), 'tls.key')),
        ),
    );
    assert.equal(
      await servedFingerprint(),
      fingerprint(serving[2].cert),
      'the last good certificate keeps serving',
    );
    assert.equal(
      await metric('kubegate_material_reloads_total', 'kind="listener_key",result="failure"'),
      refusedBefore + 1,
    );
    // Completed on the next change: the matching key arrives.
    await replaceFile(join(servingDir(), 'tls.key'), await readFile(serving[3].key));
    const fixedMs = await within(
      'the completed pair served',
      1000,
      async () => (await servedFingerprint()) === fingerprint(serving[3].cert),
    );

    await sleep(2000);
    await load.stop();
    await reconnects.stop();
    const summary = load.summary('tls-files-rotate', load.now());
    t.diagnostic(
      JSON.stringify({
        ...summary,
        reconnects: reconnects.made,
        reconnectFailures: reconnects.failures.length,
        watch: watch.ended() ?? 'open',
      }),
    );
    t.diagnostic(
      `visible after: ..data swap ${swapMs} ms, rename ${renameMs} ms, client CA ${caMs} ms, upstream identity ${upstreamMs} ms, half pair refused ${rejected} ms, completed ${fixedMs} ms`,
    );
    assert.ok(summary.offered >= RATE * 5, `several seconds of load (${summary.offered} requests)`);
    assert.deepEqual(summary.failed, {}, 'no request failed');
    assert.deepEqual(reconnects.failures, [], 'every new connection was served');
    const ended = watch.ended();
    assert.ok(ended === null || ended.startsWith('ended cleanly'), `the watch was not cut: ${ended}`);
    // Its client watches again (as client-go does after a clean end): served on the new sessions.
    const again = openWatch(watchSession);
    await within('a new watch answered', 5000, async () => again.status() === 200);
    for (const kind of [
      'listener_cert',
      'listener_key',
      'listener_client_ca',
      'upstream_ca',
      'upstream_client_cert',
      'upstream_client_key',
    ])
      assert.ok(
        (await metric('kubegate_material_reloads_total', `kind="${kind}",result="success"`)) >= 1,
        `${kind} reloads counted`,
      );
    const lines = readFileSync(join(gw.dir, 'kubegate.log'), 'utf8');
    for (const f of [serving[2].key, serving[3].key, rotatedUpstream.key])
      assert.ok(!lines.includes(text(f).split('\n')[1]), 'no key material in the log');
  } finally {
    await load.stop();
    await reconnects.stop();
    client.close();
    watchSession.close();
  }
});

// The gateway's upstream credential as a bearer token file (a projected service-account token,
// as kubelet refreshes it): the next request carries the new token, on the same sessions.
const NS = 'kg-tls-rotate';
const TOKEN_BINDING = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubegate:gateway-tokens';

async function serviceAccountToken(name: string): Promise<string> {
  await admin.apply(`/api/v1/namespaces/${NS}/serviceaccounts`, { metadata: { name } });
  const r = await admin.json<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${NS}/serviceaccounts/${name}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  );
  return r.status.token;
}

test('the upstream token file rotated under load: the next requests use the new token, no failed request, the watch stays open', async (t) => {
  await admin.apply('/api/v1/namespaces', { metadata: { name: NS } });
  await admin.raw('DELETE', TOKEN_BINDING);
  await admin.json('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'kubegate:gateway-tokens' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kubegate:gateway' },
    subjects: ['gateway-1', 'gateway-2'].map((name) => ({ kind: 'ServiceAccount', name, namespace: NS })),
  });
  const tokenFile = join(work, 'token');
  await writeFile(tokenFile, await serviceAccountToken('gateway-1'));
  const second = await serviceAccountToken('gateway-2');
  const tokenGW = await OwnGateway.start({
    upstreamCA: { file: pki('ca.crt') },
    credentials: { tokenFile },
  });
  const client = new FailoverClient([tokenGW.url]);
  const load = new OpenLoopLoad(client, { rate: RATE, timeoutMs: 10_000, paths: STEADY_PATHS });
  const watchSession = tokenGW.session();
  const watch = openWatch(watchSession);
  const probe = tokenGW.session();
  let n = 0;
  const asUser = async (user: string) => {
    const marker = `token-probe-${process.pid}-${n++}`;
    assert.equal((await h2request(probe, `/api/v1/namespaces/default/configmaps/${marker}`)).status, 404);
    await sleep(100);
    const events = audited(marker);
    return events.length > 0 && events.every((e) => e.user.username === user);
  };
  load.start();
  try {
    await within('requests reach the apiservers as gateway-1', 5000, () =>
      asUser(`system:serviceaccount:${NS}:gateway-1`),
    );
    await sleep(2000);
    await replaceFile(tokenFile, second);
    const ms = await within('requests reach the apiservers as gateway-2', 5000, () =>
      asUser(`system:serviceaccount:${NS}:gateway-2`),
    );
    await sleep(3000);
    await load.stop();
    const summary = load.summary('token-file-rotate', load.now());
    t.diagnostic(JSON.stringify({ ...summary, watch: watch.ended() ?? 'open', tokenVisibleMs: ms }));
    assert.ok(summary.offered >= RATE * 5, `several seconds of load (${summary.offered} requests)`);
    assert.deepEqual(summary.failed, {}, 'no request failed');
    assert.equal(watch.ended(), null, 'the watch stays open: a new token needs no new session');
    const lines = readFileSync(join(tokenGW.dir, 'kubegate.log'), 'utf8');
    assert.ok(!lines.includes(second) && !lines.includes(second.slice(20, 60)), 'no token in the log');
  } finally {
    await load.stop();
    client.close();
    watchSession.close();
    probe.close();
    await tokenGW.stop();
    await admin.raw('DELETE', TOKEN_BINDING);
    await admin.raw('DELETE', `/api/v1/namespaces/${NS}`);
  }
});
