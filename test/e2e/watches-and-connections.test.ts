import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminH2, devDir, devState, jsonLines } from './env.ts';

/** Established TCP connections from the gateway process to each apiserver port (from `ss`). */
function upstreamConnections(): number[] {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established'], { encoding: 'utf8' });
  const pid = devState().pids.kubegate;
  return devState().apiservers.map((url) => {
    const port = new URL(url).port;
    return out
      .split('\n')
      .filter((l) => l.includes(`pid=${pid},`) && new RegExp(`\\s127\\.0\\.0\\.1:${port}\\s`).test(l)).length;
  });
}

test('100 concurrent watches through the gateway spread 33±5 over the 3 apiservers', async () => {
  const h2 = adminH2();
  const marker = `watch-spread-${process.pid}`;
  const streams = Array.from({ length: 100 }, () => {
    const s = h2.request({
      ':path': `/api/v1/namespaces/default/configmaps?watch=true&labelSelector=${marker}`,
    });
    s.resume();
    return new Promise<typeof s>((resolve, reject) => {
      s.once('response', () => resolve(s));
      s.once('error', reject);
    });
  });
  const open = await Promise.all(streams);
  try {
    await sleep(500); // audit events of watches are written at ResponseStarted
    const counts = [0, 1, 2].map(
      (i) =>
        jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`)).filter(
          (e) => e.verb === 'watch' && String(e.requestURI).includes(marker) && e.stage === 'ResponseStarted',
        ).length,
    );
    assert.equal(
      counts.reduce((a, b) => a + b),
      100,
      `watch events ${counts}`,
    );
    for (const n of counts) assert.ok(Math.abs(n - 33) <= 5, `watches per apiserver ${counts}`);
  } finally {
    for (const s of open) s.close();
    h2.close();
  }
});

test('500 concurrent HTTP/2 clients use at most 2 upstream connections per apiserver', async () => {
  const clients = Array.from({ length: 500 }, () => adminH2());
  try {
    const results = await Promise.all(
      clients.map(
        (h2) =>
          new Promise<number>((resolve, reject) => {
            const s = h2.request({ ':path': '/api/v1/namespaces/default/configmaps?limit=1' });
            let status = 0;
            s.on('response', (h) => (status = Number(h[':status'])));
            s.resume();
            s.on('end', () => resolve(status));
            s.on('error', reject);
          }),
      ),
    );
    assert.ok(
      results.every((c) => c === 200),
      'every request succeeded',
    );
    const conns = upstreamConnections();
    for (const n of conns) assert.ok(n >= 1 && n <= 2, `upstream connections per apiserver: ${conns}`);
  } finally {
    for (const h2 of clients) h2.close();
  }
});
