import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir, kubectl } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';
import { x509User } from './users.ts';

const ADMIN = 'apiserver-0.kubeconfig';
const NS = `watch-slots-${process.pid}`;
const USER = `watch-slots-${process.pid}`;
const WATCHES = 1000;
const SESSIONS = 2; // the listener allows 1000 streams per HTTP/2 session
const CAP = 10;
// Enough bytes (20 × 50 KB) that a list the client does not read stalls on flow control and holds its slot.
const BIG = { count: 20, bytes: 50_000 };

let gw: OwnGateway;
let userFiles: { cert: string; key: string };
const sessions: ClientHttp2Session[] = [];
const watches: ClientHttp2Stream[] = [];

before(
  async () => {
    await kubectl(ADMIN, ['create', 'namespace', NS]);
    await kubectl(ADMIN, ['-n', NS, 'create', 'rolebinding', 'view', '--clusterrole=view', `--user=${USER}`]);
    await kubectl(ADMIN, ['-n', NS, 'create', 'configmap', 'small', '--from-literal=k=v']);
    const items = Array.from({ length: BIG.count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `big-${i}` },
      data: { blob: 'x'.repeat(BIG.bytes) },
    }));
    gw = await OwnGateway.start({
      rules: [
        {
          name: 'capped-user',
          match: { users: [USER] },
          limits: { maxInflightReadOnly: CAP, maxInflightMutating: CAP },
        },
      ],
    });
    const list = join(gw.dir, 'big.json');
    await writeFile(list, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    await kubectl(ADMIN, ['-n', NS, 'create', '-f', list]);
    const name = (await x509User(USER)).replace(/\.kubeconfig$/, '');
    userFiles = { cert: join(devDir(), `${name}.crt`), key: join(devDir(), `${name}.key`) };
  },
  { timeout: 60_000 },
);

after(async () => {
  for (const w of watches) w.close(constants.NGHTTP2_CANCEL);
  for (const s of sessions) s.destroy();
  await gw?.stop();
  await kubectl(ADMIN, ['delete', 'namespace', NS, '--wait=false']).catch(() => {});
});

function session(): ClientHttp2Session {
  const s = gw.session(gw.url, userFiles);
  sessions.push(s);
  return s;
}

test(
  `${WATCHES} open watches do not hold the ${CAP} short read-only slots; the ${CAP + 1}th concurrent short request is refused`,
  { timeout: 60_000 },
  async (t) => {
    // 1. The watches, spread over SESSIONS sessions; each counts once it has its 200 headers. A 429
    // from kube-apiserver's own flow control (API Priority and Fairness, which marks its answers
    // with X-Kubernetes-PF-* headers) is retried after its Retry-After, as client-go does: 1000
    // watches starting in one burst can overflow the user's APF queues on a loaded machine. A 429
    // of the gateway's own is not retried and fails the test.
    const t0 = performance.now();
    const watchSessions = Array.from({ length: SESSIONS }, session);
    let ended = 0;
    let apfRetries = 0;
    const open = (i: number): Promise<number> => {
      const w = watchSessions[i % SESSIONS].request({
        ':path': `/api/v1/namespaces/${NS}/configmaps?watch=true&labelSelector=none%3D${i}`,
      });
      w.resume();
      return new Promise<number>((resolve, reject) => {
        w.once('response', (h) => {
          const status = Number(h[':status']);
          if (
            status === 429 &&
            h['x-kubernetes-pf-prioritylevel-uid'] !== undefined &&
            apfRetries < WATCHES
          ) {
            apfRetries++;
            w.close(constants.NGHTTP2_CANCEL);
            const after = Number(h['retry-after'] ?? 1);
            sleep(after * 1000).then(() => open(i).then(resolve, reject), reject);
            return;
          }
          watches.push(w);
          w.once('close', () => ended++);
          resolve(status);
        });
        w.once('error', reject);
      });
    };
    const opened = Array.from({ length: WATCHES }, (_, i) => open(i));
    const statuses = await Promise.all(opened);
    const openMs = performance.now() - t0;
    t.diagnostic(
      `${WATCHES} watches over ${SESSIONS} sessions had their headers after ${Math.round(openMs)} ms` +
        ` (${apfRetries} retried after kube-apiserver's flow control answered 429)`,
    );
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'every watch opened with 200',
    );

    // 2. 50 short GETs, ten at a time, while every watch is open.
    const s = session();
    const path = `/api/v1/namespaces/${NS}/configmaps/small`;
    const t1 = performance.now();
    const shortStatuses: number[] = [];
    for (let wave = 0; wave < 5; wave++) {
      const answers = await Promise.all(Array.from({ length: CAP }, () => h2request(s, path)));
      shortStatuses.push(...answers.map((a) => a.status));
    }
    const shortMs = performance.now() - t1;
    t.diagnostic(`50 short GETs (5 waves of ${CAP}) with the watches open: ${Math.round(shortMs)} ms`);
    assert.deepEqual(
      shortStatuses.filter((c) => c !== 200),
      [],
      'every short GET was served',
    );

    // 3. The cap is live: CAP lists the client does not read stall on flow control and keep their
    // slots, so one more short request is refused at once (no queue).
    const holding = session();
    const held = Array.from({ length: CAP }, () => {
      const r = holding.request({ ':path': `/api/v1/namespaces/${NS}/configmaps` });
      r.pause();
      let done = false;
      r.once('end', () => (done = true));
      r.once('close', () => (done = true));
      return {
        r,
        done: () => done,
        status: new Promise<number>((resolve, reject) => {
          r.once('response', (h) => resolve(Number(h[':status'])));
          r.once('error', reject);
        }),
      };
    });
    assert.deepEqual(await Promise.all(held.map((h) => h.status)), Array(CAP).fill(200));
    await sleep(200);
    const t2 = performance.now();
    const refused = await h2request(s, path);
    const refusedMs = performance.now() - t2;
    assert.equal(held.filter((h) => h.done()).length, 0, 'the held lists were still in flight');
    t.diagnostic(`request ${CAP + 1} with ${CAP} held: ${refused.status} after ${refusedMs.toFixed(1)} ms`);
    assert.equal(refused.status, 429);
    const status = JSON.parse(refused.body) as Record<string, unknown>;
    assert.equal(status.reason, 'TooManyRequests');
    assert.match(String(status.message), /capped-user/);

    for (const h of held) h.r.close(constants.NGHTTP2_CANCEL);
    await sleep(200);
    assert.equal((await h2request(s, path)).status, 200, 'the slots are free again once the lists end');

    // 4. The watches stayed open throughout.
    assert.equal(ended, 0, 'no watch ended');
    t.diagnostic(`total ${Math.round(performance.now() - t0)} ms`);
  },
);
