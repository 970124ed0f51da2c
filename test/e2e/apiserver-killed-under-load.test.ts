import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminH2, devDir, devState, jsonLines } from './env.ts';

function get(h2: ClientHttp2Session, path: string): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const s = h2.request({ ':path': path });
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.resume();
    s.on('end', () => resolve({ status }));
    s.on('error', (err) => resolve({ status: 0, error: err.message }));
  });
}

test('an apiserver killed under 200 req/s of GET/LIST fails no request, and takes traffic again after restart', async (t) => {
  const h2 = adminH2();
  t.after(() => h2.close()); // whatever fails below, the session must not keep the file alive
  const marker = `fault-${process.pid}`;
  const failures: string[] = [];
  let sent = 0;
  const inflight: Promise<void>[] = [];
  const victim = devState().pids['kube-apiserver-2'];
  const start = Date.now();
  let killed = false;
  // 200 req/s for 20 s, open loop (requests go out on schedule even when timers run late on a busy
  // machine): a GET or a LIST every 5 ms; apiserver-2 gets SIGKILL after 5 s.
  while (Date.now() - start < 20_000) {
    if (!killed && Date.now() - start > 5000) {
      process.kill(victim, 'SIGKILL');
      killed = true;
    }
    const due = Math.floor((Date.now() - start) / 5);
    for (; sent < due;) {
      const path =
        sent % 2 === 0
          ? `/api/v1/namespaces/default/configmaps?labelSelector=${marker}`
          : '/api/v1/namespaces/default';
      sent++;
      inflight.push(
        get(h2, path).then((r) => {
          if (r.status !== 200) failures.push(`${path}: ${r.status} ${r.error ?? ''}`);
        }),
      );
    }
    await sleep(5);
  }
  await Promise.all(inflight);
  const rate = sent / 20;
  // Restart apiserver-2 whatever happened above, so later tests see three replicas.
  process.kill(devState().pids.kubegate, 'SIGHUP');
  if (failures.length > 0 || rate < 150) h2.close();
  assert.ok(rate >= 150, `offered ${rate.toFixed(0)} req/s`);
  assert.deepEqual(failures, [], `${failures.length} of ${sent} failed`);

  // kubegate dev restarted it on SIGHUP (above): see it take traffic again.
  const healthIntervalMs = 1000;
  const deadline = Date.now() + 90_000;
  let readyAt = 0;
  const direct = readFileSync(join(devDir(), 'apiserver-2.kubeconfig'), 'utf8');
  const port = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(direct)![1];
  while (Date.now() < deadline && readyAt === 0) {
    const r = await fetchReadyz(Number(port));
    if (r) readyAt = Date.now();
    else await sleep(100);
  }
  assert.ok(readyAt > 0, 'apiserver-2 came back');
  await sleep(2 * healthIntervalMs);
  const tag = `back-${process.pid}`;
  try {
    for (let i = 0; i < 30; i++)
      assert.equal((await get(h2, `/api/v1/namespaces/default/configmaps?labelSelector=${tag}`)).status, 200);
  } finally {
    h2.close();
  }
  const back = jsonLines(join(devDir(), 'audit', 'apiserver-2.log')).filter((e) =>
    String(e.requestURI).includes(tag),
  ).length;
  assert.ok(back >= 5, `apiserver-2 served ${back} of 30 requests within 2 health intervals of being ready`);
});

async function fetchReadyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const h2 = adminH2(`https://127.0.0.1:${port}`);
    h2.on('error', () => {
      resolve(false);
      h2.destroy();
    });
    const s = h2.request({ ':path': '/readyz' });
    s.on('response', (h) => {
      resolve(h[':status'] === 200);
      h2.close();
    });
    s.on('error', () => {
      resolve(false);
      h2.destroy();
    });
    s.end();
  });
}
