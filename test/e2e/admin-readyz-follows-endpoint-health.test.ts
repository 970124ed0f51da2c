import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devState } from './env.ts';
import { OwnGateway } from './own-gateway.ts';

// The admin /readyz of a gateway of our own follows its cluster's health across live reloads: all
// endpoints moved to a dead port → 503 with the reason; back → 200. Reloads and rejected files are
// counted in kubegate_config_reloads_total, and kubegate_config_info follows the applied hash.
let gw: OwnGateway;

before(async () => {
  gw = await OwnGateway.start({}, { admin: true });
});
after(() => gw.stop());

async function admin(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${gw.adminURL}${path}`);
  return { status: res.status, body: await res.text() };
}

/** Polls until `check` holds (10 s at most). */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`not within 10 s: ${what}`);
}

function metric(text: string, line: RegExp): number {
  const m = text.split('\n').find((l) => line.test(l));
  return m === undefined ? NaN : Number(m.slice(m.lastIndexOf(' ') + 1));
}

function fileHash(text: string): string {
  return /^kubegate_config_info\{source="file",hash="([0-9a-f]{64})"\} 1$/m.exec(text)?.[1] ?? '';
}

test('/readyz is 503 with the reason while the served cluster has no healthy endpoint', async () => {
  assert.equal((await admin('/readyz')).status, 200);
  const first = fileHash((await admin('/metrics')).body);
  assert.notEqual(first, '');

  await gw.write({ endpoints: [{ name: 'gone', url: 'https://127.0.0.1:1' }] });
  await eventually('readyz 503', async () => (await admin('/readyz')).status === 503);
  assert.match((await admin('/readyz')).body, /cluster "e2e" has no healthy endpoint/);
  const m = (await admin('/metrics')).body;
  assert.equal(metric(m, /^kubegate_upstream_healthy\{cluster="e2e",endpoint="gone"\}/), 0);
  assert.equal(metric(m, /^kubegate_config_reloads_total\{source="file",result="success"\}/), 1);
  assert.notEqual(fileHash(m), first);
  const status = JSON.parse((await admin('/status.json')).body) as {
    clusters: { endpoints: { healthy: boolean; ejectedFor: string | null }[] }[];
  };
  assert.equal(status.clusters[0].endpoints[0].healthy, false);
  assert.notEqual(status.clusters[0].endpoints[0].ejectedFor, null);

  await gw.write({ endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })) });
  await eventually('readyz 200 again', async () => (await admin('/readyz')).status === 200);
  const back = (await admin('/metrics')).body;
  assert.equal(metric(back, /^kubegate_config_reloads_total\{source="file",result="success"\}/), 2);
  assert.equal(fileHash(back), first, 'the same file content has the same hash');
});

test('a rejected file counts as a failure and changes nothing', async () => {
  await writeFile(gw.file, 'apiVersion: kubegate.io/v1alpha1\nkind: GatewayConfiguration\nlisteners: 3\n');
  await eventually('a failure counted', async () => {
    const m = (await admin('/metrics')).body;
    return metric(m, /^kubegate_config_reloads_total\{source="file",result="failure"\}/) === 1;
  });
  assert.equal((await admin('/readyz')).status, 200);
});
