import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { get, type Server } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FakeBackend, makePki, readAll, removePki, startKubelet, type TestPki } from './fixtures.ts';

let pki: TestPki;
let kubelet: { server: Server; port: number };
const backend = new FakeBackend();

const LOG =
  [
    '2026-12-05T08:00:00.100000000Z stdout F first line',
    '2026-12-05T08:00:01.123456789Z stderr P second ',
    '2026-12-05T08:00:01.200000000Z stderr F line, in two parts',
    '2026-12-05T08:00:02Z stdout F third line',
    '2026-12-05T08:00:03.5Z stdout F fourth line',
  ].join('\n') + '\n';

before(async () => {
  pki = await makePki();
  kubelet = await startKubelet(pki, backend);
  backend.logFile = join(pki.dir, 'c1.log');
  await writeFile(backend.logFile, LOG);
});

after(async () => {
  kubelet.server.closeAllConnections();
  await new Promise((r) => kubelet.server.close(r));
  await removePki(pki);
});

function logs(query: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(
      {
        host: '127.0.0.1',
        port: kubelet.port,
        path: `/containerLogs/ns1/pod1/c1?${query}`,
        ca: pki.ca,
        ...pki.client,
        servername: 'localhost',
      },
      (res) =>
        void readAll(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b.toString() }), reject),
    );
    req.once('error', reject);
  });
}

test('the text of every entry, partial entries joined into one line', async () => {
  const { status, body } = await logs('');
  assert.equal(status, 200);
  assert.equal(body, 'first line\nsecond line, in two parts\nthird line\nfourth line\n');
});

test('timestamps=true prefixes each line with its RFC3339Nano time, trailing zeros dropped', async () => {
  const { body } = await logs('timestamps=true');
  assert.equal(
    body,
    '2026-12-05T08:00:00.1Z first line\n' +
      '2026-12-05T08:00:01.123456789Z second line, in two parts\n' +
      '2026-12-05T08:00:02Z third line\n' +
      '2026-12-05T08:00:03.5Z fourth line\n',
  );
});

test('tailLines keeps the last lines; sinceTime drops older entries; limitBytes cuts', async () => {
  assert.equal((await logs('tailLines=2')).body, 'third line\nfourth line\n');
  assert.equal((await logs('tailLines=0')).body, '');
  assert.equal((await logs('sinceTime=2026-12-05T08:00:02Z')).body, 'third line\nfourth line\n');
  assert.equal((await logs('limitBytes=8')).body, 'first li');
});

test('bad values are 400 with a message; an unknown pod is the backend’s status', async () => {
  for (const q of ['tailLines=-1', 'sinceTime=yesterday', 'follow=maybe', 'limitBytes=0', 'sinceSeconds=x']) {
    const { status, body } = await logs(q);
    assert.equal(status, 400, q);
    assert.ok(body.length > 0);
  }
  const missing = await new Promise<number>((resolve, reject) =>
    get(
      {
        host: '127.0.0.1',
        port: kubelet.port,
        path: '/containerLogs/ns1/missing/c1',
        ca: pki.ca,
        ...pki.client,
        servername: 'localhost',
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    ).once('error', reject),
  );
  assert.equal(missing, 404);
});

test('follow streams lines written later and ends once the container exited and the file is drained', async () => {
  let exit!: () => void;
  backend.exitedContainer = new Promise((r) => (exit = r));
  const reading = logs('follow=true&tailLines=1');
  await new Promise((r) => setTimeout(r, 250));
  await appendFile(backend.logFile, '2026-12-05T08:00:04Z stdout F fifth line\n');
  await new Promise((r) => setTimeout(r, 250));
  await appendFile(backend.logFile, '2026-12-05T08:00:05Z stdout F last words\n');
  exit();
  const { body } = await reading;
  assert.equal(body, 'fourth line\nfifth line\nlast words\n');
  backend.exitedContainer = null;
});
