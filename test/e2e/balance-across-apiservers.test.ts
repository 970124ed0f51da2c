import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminH2, devDir, jsonLines } from './env.ts';

function get(h2: ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = h2.request({ ':path': path });
    let status = 0;
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('error', reject);
    s.resume();
    s.on('end', () => resolve(status));
  });
}

function auditCount(i: number, marker: string): number {
  return jsonLines(join(devDir(), 'audit', `apiserver-${i}.log`)).filter((e) =>
    String(e.requestURI).includes(marker),
  ).length;
}

test('3000 short requests from one HTTP/2 client land within ±10% on each of the 3 apiservers', async () => {
  const h2 = adminH2();
  const marker = `balance-${process.pid}`;
  try {
    for (let batch = 0; batch < 30; batch++) {
      const codes = await Promise.all(
        Array.from({ length: 100 }, () =>
          get(h2, `/api/v1/namespaces/default/configmaps?labelSelector=${marker}`),
        ),
      );
      assert.ok(codes.every((c) => c === 200));
    }
  } finally {
    h2.close();
  }
  const counts = [0, 1, 2].map((i) => auditCount(i, marker));
  assert.equal(
    counts.reduce((a, b) => a + b),
    3000,
    `audit events: ${counts}`,
  );
  for (const n of counts) assert.ok(n >= 900 && n <= 1100, `per-apiserver counts ${counts}`);
});
