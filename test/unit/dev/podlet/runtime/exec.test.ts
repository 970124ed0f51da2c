import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import {
  DEFAULT_PATH,
  execInContainer,
  startContainer,
} from '../../../../../src/dev/podlet/runtime/index.ts';
import type { ContainerProcess, ExecProcess } from '../../../../../src/dev/podlet/types.ts';
import { podLab, readAll, root, type PodLab } from './pod-lab.ts';

const skip = !root && 'needs root (namespaces, mounts)';
let env: PodLab;
let c: ContainerProcess;
let tty: ContainerProcess;
const blob = randomBytes(3 * 1024 * 1024 + 17);
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  if (!root) return;
  env = await podLab('exe');
  const vol = join(env.dir, 'vol');
  mkdirSync(vol);
  writeFileSync(join(vol, 'blob'), blob);
  const common = {
    sandbox: env.pods[0],
    env: { FROM: 'container' },
    logPath: join(env.dir, 'c.log'),
    stdin: false,
    stdinOnce: false,
    hostname: 'exec-pod',
    workingDir: '/tmp',
  };
  c = startContainer({
    ...common,
    id: 'main',
    argv: ['/bin/sleep', '1000'],
    mounts: [{ hostPath: vol, mountPath: `/srv/${env.prefix}/data`, readOnly: true }],
    tty: false,
  });
  tty = startContainer({ ...common, id: 'tty', argv: ['/bin/sleep', '1000'], mounts: [], tty: true });
  await new Promise((r) => setTimeout(r, 300));
});
after(async () => {
  if (!root) return;
  try {
    await c.stop(1000);
    await tty.stop(1000);
  } finally {
    await env.close();
  }
});

async function run(p: ExecProcess): Promise<{ code: number; out: Buffer; err: string }> {
  const [out, err, s] = await Promise.all([
    readAll(p.stdout),
    p.stderr ? readAll(p.stderr) : Buffer.alloc(0),
    p.exited,
  ]);
  return { code: s.code, out, err: err.toString() };
}

test('exec: binary output intact, from a mount only the container sees', { skip }, async () => {
  const r = await run(
    execInContainer(c, {}, { argv: ['cat', `/srv/${env.prefix}/data/blob`], stdin: false, tty: false }),
  );
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.length, blob.length);
  assert.equal(sha(r.out), sha(blob));
});

test(
  'exec: output a slow client has not taken when the command exits is kept',
  { skip, timeout: 20_000 },
  async () => {
    // As the podlet's server does: the output goes into a small buffer nobody reads for 5 s, so the
    // pipe waits on the client (paused) when the command exits, with data still in it.
    const part = blob.subarray(0, 200_000);
    const p = execInContainer(
      c,
      {},
      { argv: ['head', '-c', String(part.length), `/srv/${env.prefix}/data/blob`], stdin: false, tty: false },
    );
    const slow = p.stdout.pipe(new PassThrough({ highWaterMark: 1024 }));
    await new Promise((r) => setTimeout(r, 5000));
    const [out, s] = await Promise.all([readAll(slow), p.exited]);
    assert.equal(s.code, 0);
    assert.equal(out.length, part.length);
    assert.equal(sha(out), sha(part));
  },
);

test(
  'exec: a background process holding the output does not hold the exec up',
  { skip, timeout: 20_000 },
  async () => {
    const t0 = Date.now();
    const p = execInContainer(
      c,
      {},
      { argv: ['/bin/sh', '-c', 'echo hi; sleep 10 &'], stdin: false, tty: false },
    );
    const out = await untilClosed(p.stdout);
    const s = await p.exited;
    assert.equal(s.code, 0);
    assert.equal(out.toString(), 'hi\n');
    assert.ok(Date.now() - t0 < 7000, `over after ${Date.now() - t0} ms`);
  },
);

/** What a stream gave until it closed, ended or destroyed. */
function untilClosed(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (b: Buffer) => chunks.push(Buffer.from(b)));
  return new Promise((resolve) => s.once('close', () => resolve(Buffer.concat(chunks))));
}

test('exec: binary stdin in, stdout and stderr apart, exit code', { skip }, async () => {
  const p = execInContainer(
    c,
    {},
    { argv: ['/bin/sh', '-c', 'cat; echo oops >&2; exit 3'], stdin: true, tty: false },
  );
  p.stdin!.end(blob);
  const r = await run(p);
  assert.equal(r.code, 3);
  assert.equal(sha(r.out), sha(blob));
  assert.equal(r.err, 'oops\n');
});

test('exec: the container namespaces, env exactly as given, working dir', { skip }, async () => {
  const r = await run(
    execInContainer(
      c,
      { X: 'y' },
      {
        argv: ['/bin/sh', '-c', 'hostname; pwd; ip -o addr show eth0 | grep -o "inet [0-9.]*"; env | sort'],
        stdin: false,
        tty: false,
      },
    ),
  );
  assert.equal(r.code, 0, r.err);
  const [host, wd, inet, ...vars] = r.out.toString().trimEnd().split('\n');
  assert.equal(host, 'exec-pod');
  assert.equal(wd, '/tmp');
  assert.equal(inet, `inet ${env.pods[0].ip}`);
  assert.deepEqual(vars, ['HOSTNAME=exec-pod', `PATH=${DEFAULT_PATH}`, 'PWD=/tmp', 'X=y']);
});

test('exec: a missing command fails with 127 and a message', { skip }, async () => {
  const r = await run(execInContainer(c, {}, { argv: ['no-such-command'], stdin: false, tty: false }));
  assert.equal(r.code, 127);
  assert.match(r.err, /no-such-command/);
});

test('exec with a TTY: terminal on stdout, no stderr; resize reaches it', { skip }, async () => {
  const p = execInContainer(
    tty,
    {},
    { argv: ['/bin/sh', '-c', 'test -t 1 && echo tty-yes; sleep 1; stty size'], stdin: true, tty: true },
  );
  assert.equal(p.stderr, null);
  setTimeout(() => p.resize(123, 45), 400);
  const r = await run(p);
  assert.equal(r.code, 0);
  assert.match(r.out.toString(), /tty-yes\r?\n45 123/);
});

test('a TTY container gets SIGTERM itself on stop (exit 143)', { skip }, async () => {
  const t0 = Date.now();
  const s = await tty.stop(5000);
  assert.ok(Date.now() - t0 < 1500, 'stopped at once');
  assert.deepEqual([s.code, s.signal], [143, 'SIGTERM']);
});

test('exec kill ends the command', { skip }, async () => {
  const p = execInContainer(c, {}, { argv: ['/bin/sleep', '100'], stdin: false, tty: false });
  setTimeout(() => p.kill(), 200);
  const s = await p.exited;
  assert.equal(s.code, 137);
});
