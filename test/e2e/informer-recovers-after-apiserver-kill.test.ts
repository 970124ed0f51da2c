import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminH2, devDir, devState, jsonLines } from './env.ts';

// The official informer (@kubernetes/client-node v2 `ListWatch`, what `makeInformer` returns) through
// the gateway while configmaps change and the apiserver holding its watch is SIGKILLed.
//
// How that informer restarts, which shapes this test:
// - a watch that ends cleanly is resumed from the last resourceVersion seen (no relist), at once if
//   events arrived since it connected, else after a backoff of 1 s doubling to 30 s;
// - a watch that ends with an error (e.g. the response body cut off) is NOT resumed: the informer
//   calls its `error` callbacks and stops. Restarting is the caller's job, with `start()`, which also
//   resumes from the last resourceVersion; only a 410 Gone empties it and relists;
// - `stop()` only aborts the current request: a restart already waiting on its backoff or its list
//   opens a new watch after `stop()`, which then keeps the process alive. So the Watch below refuses
//   to connect once the test is over, and the backoff is cut short then.
const NS = `informer-${process.pid}`;
const PREFIX = `/api/v1/namespaces/${NS}/configmaps`;
const WRITERS = 4;

interface Seen {
  type: 'add' | 'update' | 'delete';
  name: string;
  rv: string;
}

let closing = false;
const wakeups = new Set<() => void>();

/** The informer's Watch, unchanged, except that it opens nothing once the test is over. */
class ClosableWatch extends k8s.Watch {
  override watch(...args: Parameters<k8s.Watch['watch']>): Promise<AbortController> {
    if (closing) return Promise.resolve(new AbortController());
    return super.watch(...args);
  }
}

/** The informer's reconnect backoff, cut short when the test is over. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      wakeups.delete(done);
      resolve();
    };
    const t = setTimeout(done, ms);
    wakeups.add(done);
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

interface Reply {
  status: number;
  body: { metadata?: { resourceVersion?: string }; items?: k8s.V1ConfigMap[] };
}

function call(h2: ClientHttp2Session, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve) => {
    const s = h2.request({ ':method': method, ':path': path, 'content-type': 'application/json' });
    const chunks: Buffer[] = [];
    let status = 0;
    s.setTimeout(10_000, () => s.close());
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => {
      let parsed: Reply['body'] = {};
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString()) as Reply['body'];
      } catch {
        status = status || -1;
      }
      resolve({ status, body: parsed });
    });
    s.on('error', () => {});
    s.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** What one writer did; writes whose outcome is unknown (no answer) are set apart, never retried. */
interface Writes {
  created: Map<string, string>; // name → resourceVersion of the create
  updated: { name: string; rv: string }[];
  deleted: Set<string>;
  uncertain: Set<string>;
  failed: string[];
}

async function writer(h2: ClientHttp2Session, id: number, until: () => boolean, w: Writes): Promise<void> {
  const live: string[] = [];
  let n = 0;
  while (!until()) {
    const r = Math.random();
    if (live.length < 3 || r < 0.4) {
      const name = `w${id}-${n++}`;
      const res = await call(h2, 'POST', PREFIX, { metadata: { name }, data: { v: '0' } });
      if (res.status === 201) {
        w.created.set(name, res.body.metadata!.resourceVersion!);
        live.push(name);
      } else {
        w.uncertain.add(name);
        w.failed.push(`create ${name}: ${res.status}`);
      }
    } else if (r < 0.85) {
      const i = Math.floor(Math.random() * live.length);
      const name = live[i];
      const res = await call(h2, 'PUT', `${PREFIX}/${name}`, {
        metadata: { name },
        data: { v: String(n++) },
      });
      if (res.status === 200) w.updated.push({ name, rv: res.body.metadata!.resourceVersion! });
      else {
        live.splice(i, 1);
        w.uncertain.add(name);
        w.failed.push(`update ${name}: ${res.status}`);
      }
    } else {
      const name = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      const res = await call(h2, 'DELETE', `${PREFIX}/${name}`);
      if (res.status === 200) w.deleted.add(name);
      else {
        w.uncertain.add(name);
        w.failed.push(`delete ${name}: ${res.status}`);
      }
    }
    await sleep(20);
  }
}

interface AuditEvent {
  auditID: string;
  stage: string;
  requestURI: string;
  verb: string;
}

/** The apiserver whose audit log shows a watch of our namespace started and not complete. */
function watchHolders(): { apiserver: string; auditID: string }[] {
  const open: { apiserver: string; auditID: string }[] = [];
  for (let i = 0; i < devState().apiservers.length; i++) {
    const file = join(devDir(), 'audit', `apiserver-${i}.log`);
    if (!existsSync(file)) continue;
    const stages = new Map<string, Set<string>>();
    for (const e of jsonLines(file) as unknown as AuditEvent[]) {
      if (e.verb !== 'watch' || !e.requestURI.startsWith(`${PREFIX}?`)) continue;
      const s = stages.get(e.auditID) ?? new Set<string>();
      s.add(e.stage);
      stages.set(e.auditID, s);
    }
    for (const [auditID, s] of stages)
      if (s.has('ResponseStarted') && !s.has('ResponseComplete'))
        open.push({ apiserver: `apiserver-${i}`, auditID });
  }
  return open;
}

const h2 = adminH2();
let informer: k8s.ListWatch<k8s.V1ConfigMap> | null = null;
let victimRestarted = true;

after(async () => {
  closing = true;
  for (const wake of [...wakeups]) wake();
  await informer?.stop();
  if (!victimRestarted) process.kill(devState().pids.kubegate, 'SIGHUP');
  await call(h2, 'DELETE', `/api/v1/namespaces/${NS}`);
  h2.close();
});

test('an informer through the gateway misses no change while the apiserver holding its watch is killed and restarted', async () => {
  const started = Date.now();
  assert.equal((await call(h2, 'POST', '/api/v1/namespaces', { metadata: { name: NS } })).status, 201);

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(devDir(), 'gateway.kubeconfig'));
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const inf = new k8s.ListWatch<k8s.V1ConfigMap>(
    PREFIX,
    new ClosableWatch(kc),
    () => core.listNamespacedConfigMap({ namespace: NS }),
    false,
    undefined,
    undefined,
    { delayFn: delay },
  );
  informer = inf;
  const seen: Seen[] = [];
  const errors: string[] = [];
  let connects = 0;
  const record = (type: Seen['type']) => (o: k8s.V1ConfigMap) =>
    seen.push({ type, name: o.metadata!.name!, rv: o.metadata!.resourceVersion! });
  inf.on('add', record('add'));
  inf.on('update', record('update'));
  inf.on('delete', record('delete'));
  inf.on('connect', () => connects++);
  // After an error the informer stays stopped until start() (see above): restart it, bounded.
  inf.on('error', (err: unknown) => {
    errors.push(String((err as Error)?.message ?? err));
    if (closing || errors.length > 50) return;
    void sleep(200).then(() => (closing ? undefined : inf.start().catch((e) => errors.push(String(e)))));
  });
  await withTimeout(inf.start(), 15_000, 'informer start');

  const writes: Writes[] = [];
  let stopWriting = false;
  const writers = Array.from({ length: WRITERS }, (_, i) => {
    const w: Writes = {
      created: new Map(),
      updated: [],
      deleted: new Set(),
      uncertain: new Set(),
      failed: [],
    };
    writes.push(w);
    return writer(h2, i, () => stopWriting, w);
  });

  // Phase 1: writes flow; then kill the apiserver that serves the informer's watch.
  await sleep(3000);
  let holders = watchHolders();
  for (let i = 0; i < 50 && holders.length !== 1; i++) {
    await sleep(100);
    holders = watchHolders();
  }
  assert.equal(holders.length, 1, `open watches of ${NS}: ${JSON.stringify(holders)}`);
  const victim = holders[0];
  const connectsBeforeKill = connects;
  const eventsBeforeKill = seen.length;
  const killedAt = Date.now();
  victimRestarted = false;
  process.kill(devState().pids[`kube-${victim.apiserver}`], 'SIGKILL');

  // Phase 2: writes continue against the two survivors; the informer must resume its watch.
  await sleep(6000);
  const connectsAfterKill = connects - connectsBeforeKill;
  const eventsWhileDown = seen.length - eventsBeforeKill;
  process.kill(devState().pids.kubegate, 'SIGHUP');
  victimRestarted = true;

  // Phase 3: the victim comes back (health line in logs/kubegate.log); writes continue a little.
  const log = join(devDir(), 'logs', 'kubegate.log');
  const back = () =>
    jsonLines(log).some(
      (l) =>
        l.kind === 'health' &&
        l.endpoint === victim.apiserver &&
        l.healthy === true &&
        Number(l.time) > killedAt,
    );
  for (let i = 0; i < 900 && !back(); i++) await sleep(100);
  assert.ok(back(), `${victim.apiserver} healthy again within 90 s`);
  const restartedAfterMs = Date.now() - killedAt;
  await sleep(2000);
  stopWriting = true;
  await withTimeout(Promise.all(writers), 30_000, 'writers');
  const writesStoppedAt = Date.now();

  // The gateway ended the killed watch; how, the access log says.
  const killedWatch = (
    jsonLines(log) as { kind: string; auditID: string; upstream: string; status: number; error?: string }[]
  ).find((l) => l.kind === 'access' && l.auditID === victim.auditID);
  assert.ok(killedWatch, 'access log line of the killed watch');
  assert.equal(killedWatch.upstream, victim.apiserver);

  // Convergence: the informer's cache equals the server's list, names and resourceVersions.
  const key = (o: k8s.V1ConfigMap) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`;
  let server: string[];
  let cached: string[];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await call(h2, 'GET', PREFIX);
    assert.equal(list.status, 200);
    server = list.body.items!.map(key).sort();
    cached = inf.list(NS).map(key).sort();
    if (JSON.stringify(server) === JSON.stringify(cached) || Date.now() > deadline) break;
    await sleep(200);
  }
  const convergedAfterMs = Date.now() - writesStoppedAt;
  assert.deepEqual(cached, server, 'informer cache equals the server list');

  // Missing no change: every create seen as an add at its resourceVersion, every update's
  // resourceVersion seen, every delete seen; uncertain writes are judged by the final list only.
  const adds = new Map(seen.filter((s) => s.type === 'add').map((s) => [s.name, s.rv]));
  const versions = new Set(seen.filter((s) => s.type !== 'delete').map((s) => `${s.name}@${s.rv}`));
  const deletes = new Set(seen.filter((s) => s.type === 'delete').map((s) => s.name));
  const missing: string[] = [];
  let created = 0;
  let updated = 0;
  let deleted = 0;
  for (const w of writes) {
    for (const [name, rv] of w.created) {
      created++;
      if (adds.get(name) !== rv) missing.push(`add ${name}@${rv} (seen ${adds.get(name)})`);
    }
    for (const u of w.updated) {
      updated++;
      if (!versions.has(`${u.name}@${u.rv}`)) missing.push(`update ${u.name}@${u.rv}`);
    }
    for (const name of w.deleted) {
      deleted++;
      if (!deletes.has(name)) missing.push(`delete ${name}`);
    }
  }
  const failed = writes.flatMap((w) => w.failed);
  console.log(
    `# writes: ${created} creates, ${updated} updates, ${deleted} deletes, ${failed.length} without answer ` +
      `(${failed.join(', ')}); informer events: ${seen.length} (${eventsWhileDown} while ${victim.apiserver} was down); ` +
      `connects: ${connects} (${connectsAfterKill} after the kill); errors: ${errors.length} (${errors.join(' | ')}); ` +
      `killed watch: status ${killedWatch.status}, error ${killedWatch.error ?? 'none'}; ` +
      `${victim.apiserver} healthy again ${restartedAfterMs} ms after the kill; converged ${convergedAfterMs} ms after the last write; ` +
      `total ${Date.now() - started} ms`,
  );
  assert.deepEqual(missing, []);
  assert.ok(created >= 50 && updated >= 50, `enough traffic: ${created} creates, ${updated} updates`);
  assert.ok(eventsWhileDown > 0, 'events reached the informer while the victim was down');
  assert.ok(connectsAfterKill >= 1, 'the informer re-watched after the kill');
  assert.ok(failed.length <= WRITERS, `at most one write in flight per writer lost: ${failed.join(', ')}`);
  // The gateway ends a watch whose apiserver died cleanly, so the informer resumes on its own; a cut
  // body would have stopped it (only the restart handler above would have brought it back).
  assert.deepEqual(errors, [], 'the informer saw no error');
  assert.ok(killedWatch.status === 200 && killedWatch.error, 'the access log says why the watch ended');
});
