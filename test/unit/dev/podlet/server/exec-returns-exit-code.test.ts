import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  FakeBackend,
  makePki,
  readAll,
  removePki,
  startKubelet,
  upgrade,
  UpgradeRefused,
  type TestPki,
} from './fixtures.ts';

let pki: TestPki;
let kubelet: { server: Server; port: number };
const backend = new FakeBackend();

before(async () => {
  pki = await makePki();
  kubelet = await startKubelet(pki, backend);
});

after(async () => {
  kubelet.server.closeAllConnections();
  await new Promise((r) => kubelet.server.close(r));
  await removePki(pki);
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const V4 = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

function execPath(argv: string[], q: string): string {
  return `/exec/ns1/pod1/c1?${argv.map((a) => `command=${encodeURIComponent(a)}`).join('&')}&${q}`;
}

test('exec pipes stdin in, returns 1 MiB of binary stdout byte for byte, stderr, and exit 0 as v4 Success', async () => {
  const data = randomBytes(1024 * 1024);
  const file = join(pki.dir, 'blob');
  await writeFile(file, data);
  // stdout: the file and then what came in on stdin; stderr: a marker.
  const script = `cat ${file}; cat; echo done >&2`;
  const { session, protocol } = await upgrade(
    kubelet.port,
    pki,
    execPath(['sh', '-c', script], 'input=1&output=1&error=1'),
    V4,
  );
  assert.equal(protocol, 'v4.channel.k8s.io');
  const error = await session.openStream({ streamtype: 'error' });
  const stdin = await session.openStream({ streamtype: 'stdin' });
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const stderr = await session.openStream({ streamtype: 'stderr' });
  error.end();
  const [out, err, status] = [readAll(stdout), readAll(stderr), readAll(error)];
  stdin.end(Buffer.from('from stdin\n'));
  const expected = Buffer.concat([data, Buffer.from('from stdin\n')]);
  const got = await out;
  assert.equal(got.length, expected.length);
  assert.equal(sha(got), sha(expected));
  assert.equal((await err).toString(), 'done\n');
  assert.deepEqual(JSON.parse((await status).toString()), { metadata: {}, status: 'Success' });
  await session.closed;
});

test('a non-zero exit is a v4 Failure with reason NonZeroExitCode and the code as ExitCode cause', async () => {
  const { session } = await upgrade(kubelet.port, pki, execPath(['sh', '-c', 'exit 3'], 'output=1'), V4);
  const error = await session.openStream({ streamtype: 'error' });
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const [status] = await Promise.all([readAll(error), readAll(stdout)]);
  assert.deepEqual(JSON.parse(status.toString()), {
    metadata: {},
    status: 'Failure',
    message:
      'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: '3' }] },
  });
});

test('the output of a command that exits at once is all delivered', async () => {
  const script = 'echo out; echo oops >&2; exit 4';
  const { session } = await upgrade(
    kubelet.port,
    pki,
    execPath(['sh', '-c', script], 'output=1&error=1'),
    V4,
  );
  const error = await session.openStream({ streamtype: 'error' });
  await new Promise((r) => setTimeout(r, 100)); // a slow client
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const stderr = await session.openStream({ streamtype: 'stderr' });
  const [status, out, err] = await Promise.all([readAll(error), readAll(stdout), readAll(stderr)]);
  assert.equal(out.toString(), 'out\n');
  assert.equal(err.toString(), 'oops\n');
  assert.equal(JSON.parse(status.toString()).details.causes[0].message, '4');
});

test('v2 writes the failure as plain text on the error stream', async () => {
  const { session, protocol } = await upgrade(
    kubelet.port,
    pki,
    execPath(['sh', '-c', 'exit 5'], 'output=1'),
    ['v2.channel.k8s.io'],
  );
  assert.equal(protocol, 'v2.channel.k8s.io');
  const error = await session.openStream({ streamtype: 'error' });
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const [status] = await Promise.all([readAll(error), readAll(stdout)]);
  assert.equal(
    status.toString(),
    'command terminated with non-zero exit code: error executing command [sh -c exit 5], exit code 5',
  );
});

test('tty exec waits for the resize stream and delivers its sizes', async () => {
  const { session } = await upgrade(
    kubelet.port,
    pki,
    execPath(['sh', '-c', 'sleep 1; echo hi'], 'output=1&tty=1'),
    V4,
  );
  const error = await session.openStream({ streamtype: 'error' });
  const stdout = await session.openStream({ streamtype: 'stdout' });
  const resize = await session.openStream({ streamtype: 'resize' });
  resize.write(JSON.stringify({ Width: 120, Height: 40 }) + '\n');
  const [status, out] = await Promise.all([readAll(error), readAll(stdout)]);
  assert.equal(out.toString(), 'hi\n');
  assert.equal(JSON.parse(status.toString()).status, 'Success');
  assert.equal(backend.lastExec?.tty, true);
  assert.deepEqual(backend.resizes, [[120, 40]]);
});

test('an unknown pod is answered before the upgrade with the lookup status', async () => {
  await assert.rejects(
    upgrade(kubelet.port, pki, '/exec/ns1/missing/c1?command=true&output=1', V4),
    (err: unknown) => err instanceof UpgradeRefused && err.status === 404,
  );
});

test('no common protocol is 403; no channel requested is 400', async () => {
  await assert.rejects(
    upgrade(kubelet.port, pki, execPath(['true'], 'output=1'), ['v9.channel.k8s.io']),
    (err: unknown) => err instanceof UpgradeRefused && err.status === 403,
  );
  await assert.rejects(
    upgrade(kubelet.port, pki, execPath(['true'], ''), V4),
    (err: unknown) => err instanceof UpgradeRefused && err.status === 400,
  );
});
