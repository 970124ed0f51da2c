import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { AdminServer } from '../../../src/observe/admin.ts';
import { GatewayMetrics } from '../../../src/observe/metrics.ts';
import { StatusBoard } from '../../../src/observe/status.ts';

let dir = '';
let admin: AdminServer;
let status: StatusBoard;
let notReady: string | null = null;

before(async () => {
  const root = await mkdtemp(join(tmpdir(), 'kubegate-admin-'));
  dir = join(root, 'page');
  await mkdir(join(dir, 'img'), { recursive: true });
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>kubegate</title>');
  await writeFile(join(dir, 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'style.css'), 'body{}');
  await writeFile(join(dir, 'img', 'logo.svg'), '<svg/>');
  await writeFile(join(root, 'secret.txt'), 'outside');
  const view = { clusters: () => [], listeners: () => [], configSources: () => [] };
  status = new StatusBoard({ clusters: () => [], version: () => 'abc123', draining: false });
  admin = new AdminServer(
    {
      notReady: () => notReady,
      metrics: new GatewayMetrics(view, { processMetrics: true }),
      status,
    },
    { address: '127.0.0.1', port: 0, staticDir: dir },
    pino({ level: 'silent' }),
  );
  await admin.listen();
});

after(async () => {
  status.stop();
  await admin.close();
  await rm(join(dir, '..'), { recursive: true, force: true });
});

function get(path: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${admin.url}${path}`, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type'] ?? ''),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('the admin listener is plain HTTP on loopback with a picked port', () => {
  assert.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+$/);
});

test('/healthz and /livez answer while the process runs; /readyz says why it is not ready', async () => {
  assert.equal((await get('/healthz')).status, 200);
  assert.equal((await get('/livez')).status, 200);
  assert.equal((await get('/readyz')).status, 200);
  notReady = 'cluster "prod" has no healthy endpoint';
  const r = await get('/readyz');
  assert.equal(r.status, 503);
  assert.match(r.body, /cluster "prod" has no healthy endpoint/);
  notReady = null;
});

test('/metrics is the Prometheus text exposition with process metrics under the prefix', async () => {
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  assert.match(r.body, /^# TYPE kubegate_requests_total counter$/m);
  assert.match(r.body, /^kubegate_process_cpu_seconds_total /m);
});

test('/status.json has the documented shape', async () => {
  const r = await get('/status.json?x=1');
  assert.equal(r.status, 200);
  const doc = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(doc.version, 'abc123');
  assert.ok(!Number.isNaN(Date.parse(String(doc.generatedAt))));
  assert.equal(typeof doc.uptimeSeconds, 'number');
  assert.deepEqual(doc.clusters, []);
  assert.deepEqual(doc.recentErrors, []);
});

test('the status page files are served with their content types', async () => {
  const cases: [string, RegExp][] = [
    ['/', /^text\/html/],
    ['/index.html', /^text\/html/],
    ['/app.js', /^text\/javascript/],
    ['/style.css', /^text\/css/],
    ['/img/logo.svg', /^image\/svg\+xml/],
  ];
  for (const [path, type] of cases) {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.match(r.type, type, path);
  }
  assert.equal((await get('/', 'HEAD')).body, '');
});

test('no path leaves the status page folder', async () => {
  for (const path of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/img/..%2f..%2fsecret.txt',
    '/..%5csecret.txt',
    '/%00',
    '/.hidden',
    '/img',
    '/nope.js',
    '/%E0%A4%A',
  ]) {
    const r = await get(path);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /outside/, path);
  }
});

test('only GET and HEAD', async () => {
  assert.equal((await get('/metrics', 'POST')).status, 405);
});
