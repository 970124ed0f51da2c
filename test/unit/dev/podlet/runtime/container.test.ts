import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  DEFAULT_PATH,
  execInContainer,
  startContainer,
} from '../../../../../src/dev/podlet/runtime/index.ts';
import type { ContainerProcess, ContainerStartOptions, Mount } from '../../../../../src/dev/podlet/types.ts';
import { podLab, readAll, root, type PodLab } from './pod-lab.ts';

const skip = !root && 'needs root (namespaces, mounts)';
let env: PodLab;
let n = 0;

before(async () => {
  if (root) env = await podLab('ctr');
});
after(async () => {
  if (root) await env.close();
});

function start(
  argv: string[],
  more: Partial<ContainerStartOptions> = {},
): { c: ContainerProcess; log: () => string; logPath: string } {
  const logPath = join(env.dir, 'logs', `c${++n}`, '0.log');
  const c = startContainer({
    sandbox: env.pods[0],
    id: `c${n}`,
    argv,
    env: {},
    mounts: [],
    logPath,
    stdin: false,
    stdinOnce: false,
    tty: false,
    ...more,
  });
  return { c, logPath, log: () => readFileSync(logPath, 'utf8') };
}

/** The text of a CRI log (joining P pieces), per stream. */
function logText(raw: string, stream = 'stdout'): string {
  let out = '';
  for (const line of raw.split('\n')) {
    const m = /^\S+Z (stdout|stderr) ([FP]) ([^\n]*)$/.exec(line);
    if (m && m[1] === stream) out += m[3] + (m[2] === 'F' ? '\n' : '');
  }
  return out;
}

test(
  'the container gets exactly its env (plus PATH, HOSTNAME), hostname, working dir; same pid',
  { skip },
  async () => {
    const { c, log } = start(['/bin/sh', '-c', 'echo $$; hostname; pwd; exec /usr/bin/env'], {
      env: { A: '1', B: 'two words', EMPTY: '' },
      hostname: 'pod-a',
      workingDir: '/tmp',
    });
    assert.equal((await c.exited).code, 0);
    const [pid, host, wd, ...vars] = logText(log()).trimEnd().split('\n');
    assert.equal(Number(pid), c.pid);
    assert.equal(host, 'pod-a');
    assert.equal(wd, '/tmp');
    assert.deepEqual(vars.sort(), [
      'A=1',
      'B=two words',
      'EMPTY=',
      'HOSTNAME=pod-a',
      `PATH=${DEFAULT_PATH}`,
      'PWD=/tmp',
    ]);
    const mine = start(['/usr/bin/env'], { env: { PATH: '/bin', HOSTNAME: 'h' }, hostname: 'pod-a' });
    await mine.c.exited;
    assert.deepEqual(logText(mine.log()).trimEnd().split('\n').sort(), ['HOSTNAME=h', 'PATH=/bin']);
  },
);

test(
  'mounts appear at absent paths only inside the container; read-only ones are read-only',
  { skip },
  async () => {
    const vol = join(env.dir, 'vol');
    mkdirSync(vol);
    writeFileSync(join(vol, 'key'), 'value');
    const file = join(env.dir, 'single.conf');
    writeFileSync(file, 'single');
    const etcDir = `/etc/${env.prefix}`;
    const sa = `/var/run/secrets/${env.prefix}/serviceaccount`;
    const etcFile = `/etc/${env.prefix}.conf`;
    const wd = `/opt/${env.prefix}/work`;
    const mounts: Mount[] = [
      { hostPath: vol, mountPath: `${etcDir}/config`, readOnly: true },
      { hostPath: vol, mountPath: sa, readOnly: false },
      { hostPath: file, mountPath: etcFile, readOnly: true },
    ];
    const script = [
      `cat ${etcDir}/config/key; echo`,
      `cat ${sa}/key; echo`,
      `cat ${etcFile}; echo`,
      `touch ${etcDir}/config/new 2>/dev/null && echo ro-writable || echo ro-refused`,
      `echo written > ${sa}/new && echo rw-ok`,
      // Mounts below an overlaid folder are still there (/run/netns under /var/run -> /run).
      `ls /run/netns | grep -qx ${env.pods[0].netns} && echo submounts-kept`,
      'pwd',
      'read x',
    ].join('; ');
    const { c, log } = start(['/bin/sh', '-c', script], { mounts, workingDir: wd, stdin: true });
    const streams = c.attach();
    const out = readAll(streams.stdout);
    await new Promise((r) => setTimeout(r, 500));
    for (const p of [etcDir, `/var/run/secrets/${env.prefix}`, etcFile, `/opt/${env.prefix}`]) {
      assert.equal(existsSync(p), false, `${p} appeared on the host`);
    }
    streams.stdin!.end('\n');
    assert.equal((await c.exited).code, 0, log());
    assert.equal(
      (await out).toString(),
      ['value', 'value', 'single', 'ro-refused', 'rw-ok', 'submounts-kept', wd, ''].join('\n'),
    );
    assert.equal(readFileSync(join(vol, 'new'), 'utf8'), 'written\n');
    for (const p of [etcDir, `/var/run/secrets/${env.prefix}`, etcFile, `/opt/${env.prefix}`]) {
      assert.equal(existsSync(p), false, `${p} appeared on the host`);
    }
  },
);

test('a mount point missing inside a volume is made in the volume (as runc does)', { skip }, async () => {
  const outer = join(env.dir, 'outer');
  const inner = join(env.dir, 'inner dir');
  mkdirSync(outer);
  mkdirSync(inner);
  writeFileSync(join(inner, 'f'), 'inner');
  const base = `/etc/${env.prefix} nested`;
  const { c, log } = start(
    ['/bin/sh', '-c', `cat "${base}/sub/deeper/f"; touch "${base}/w" && echo outer-rw`],
    {
      mounts: [
        { hostPath: outer, mountPath: base, readOnly: false },
        { hostPath: inner, mountPath: `${base}/sub/deeper`, readOnly: true },
      ],
    },
  );
  assert.equal((await c.exited).code, 0, log());
  assert.equal(logText(log()), 'inner' + 'outer-rw\n');
  assert.equal(existsSync(join(outer, 'sub', 'deeper')), true, 'the mount point is made in the volume');
  assert.equal(existsSync(join(inner, 'sub')), false);
  assert.equal(existsSync(join(outer, 'w')), true, 'the volume itself stays writable');
  assert.equal(existsSync(base), false);
});

test(
  'a mount under a top-level folder the host lacks is made in a new root; exec enters that root',
  { skip },
  async () => {
    const vol = join(env.dir, 'top-vol');
    mkdirSync(vol);
    writeFileSync(join(vol, 'f'), 'in the volume');
    const top = `/${env.prefix}-top`;
    const { c, log } = start(
      ['/bin/sh', '-c', `pwd; cat ${top}/x/f; echo; echo written > ${top}/x/w; ls /proc/self/ns/net; read x`],
      {
        mounts: [{ hostPath: vol, mountPath: `${top}/x`, readOnly: false }],
        workingDir: `${top}/work`,
        stdin: true,
      },
    );
    const streams = c.attach();
    const out = readAll(streams.stdout);
    for (let i = 0; i < 200 && !existsSync(join(vol, 'w')); i++) await new Promise((r) => setTimeout(r, 50));
    const e = execInContainer(
      c,
      {},
      { argv: ['/bin/sh', '-c', `pwd; cat ${top}/x/w`], stdin: false, tty: false },
    );
    assert.equal((await readAll(e.stdout)).toString(), `${top}/work\nwritten\n`);
    assert.equal(existsSync(top), false, `${top} appeared on the host`);
    streams.stdin!.end('\n');
    assert.equal((await c.exited).code, 0, log());
    assert.equal((await out).toString(), `${top}/work\nin the volume\n/proc/self/ns/net\n`);
    assert.equal(readFileSync(join(vol, 'w'), 'utf8'), 'written\n');
    assert.equal(existsSync(top), false, `${top} appeared on the host`);
  },
);

test('exit codes: plain exit, and 128+signal when signalled', { skip }, async () => {
  const a = start(['/bin/sh', '-c', 'exit 7']);
  assert.deepEqual([(await a.c.exited).code, (await a.c.exited).signal], [7, null]);
  const b = start(['/bin/sh', '-c', 'kill -TERM $$']);
  assert.deepEqual([(await b.c.exited).code, (await b.c.exited).signal], [143, 'SIGTERM']);
  const missing = start(['/bin/sh', '-c', 'exit 0'], {
    mounts: [{ hostPath: '/nonexistent/x', mountPath: '/x', readOnly: true }],
  });
  assert.equal((await missing.c.exited).code, 128);
  assert.match(missing.log(), /stderr F kubegate runtime: mount source \/nonexistent\/x does not exist/);
});

test(
  'stop: SIGTERM ends a normal program; one trapping it gets SIGKILL after the grace period',
  { skip },
  async () => {
    const plain = start(['/bin/sleep', '1000']);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const s = await plain.c.stop(5000);
    assert.deepEqual([s.code, s.signal], [143, 'SIGTERM']);
    assert.ok(Date.now() - t0 < 2000);

    const stubborn = start([
      '/bin/sh',
      '-c',
      'trap "echo got-term" TERM; echo ready; while :; do sleep 0.1; done',
    ]);
    while (!stubborn.log().includes('ready')) await new Promise((r) => setTimeout(r, 50));
    const t1 = Date.now();
    const k = await stubborn.c.stop(700);
    assert.deepEqual([k.code, k.signal], [137, 'SIGKILL']);
    assert.ok(Date.now() - t1 >= 650, `killed after ${Date.now() - t1} ms`);
    assert.match(stubborn.log(), /stdout F got-term/);
  },
);

test('output goes to the CRI log and to attachers, stdout and stderr apart', { skip }, async () => {
  const { c, log, logPath } = start(['/bin/sh', '-c', 'read x; echo out; echo err >&2; printf tail'], {
    stdin: true,
  });
  const a = c.attach();
  const [out, err] = [readAll(a.stdout), readAll(a.stderr!)];
  a.stdin!.end('go\n');
  await c.exited;
  assert.equal((await out).toString(), 'out\ntail');
  assert.equal((await err).toString(), 'err\n');
  assert.ok(logPath.endsWith('/0.log'));
  const lines = log().trimEnd().split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out$/);
  assert.ok(lines.some((l) => / stderr F err$/.test(l)));
  assert.match(lines[2], / stdout P tail$/);
});

test('stdinOnce: the container stdin closes when the first attacher detaches', { skip }, async () => {
  const { c } = start(['/bin/cat'], { stdin: true, stdinOnce: true });
  const a = c.attach();
  const got = new Promise<string>((resolve) => a.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  a.stdin!.write('ping\n');
  assert.equal(await got, 'ping\n');
  a.detach();
  assert.equal((await c.exited).code, 0, 'cat saw EOF');
  assert.equal(c.attach().stdin, null);
});

test('a stdin (not once) container keeps stdin across attachers', { skip }, async () => {
  const { c, log } = start(['/bin/cat'], { stdin: true });
  const a = c.attach();
  a.stdin!.write('one\n');
  await new Promise((r) => setTimeout(r, 200));
  a.detach();
  const b = c.attach();
  const got = new Promise<string>((resolve) => b.stdout.once('data', (d: Buffer) => resolve(d.toString())));
  b.stdin!.write('two\n');
  assert.equal(await got, 'two\n');
  await c.stop(1000);
  assert.equal(logText(log()), 'one\ntwo\n');
});

test('tty: the program runs on a terminal', { skip }, async () => {
  const { c, log } = start(['/bin/sh', '-c', 'test -t 0 && test -t 1 && echo on-a-tty; tty'], {
    tty: true,
    stdin: true,
  });
  const a = c.attach();
  assert.equal(a.stderr, null);
  assert.equal((await c.exited).code, 0);
  assert.match(logText(log()), /on-a-tty\r?\n\/dev\/pts\/\d+/);
});

test(
  'no container outlives the process that started it (pdeathsig), even with runAsUser or a TTY',
  { skip },
  async () => {
    const runtime = new URL('../../../../../src/dev/podlet/runtime/index.ts', import.meta.url).href;
    const code = `
    const { startContainer } = await import(${JSON.stringify(runtime)});
    const base = { sandbox: { netns: ${JSON.stringify(env.pods[0].netns)}, ip: '', destroy: async () => {} },
      env: {}, mounts: [], stdin: false, stdinOnce: false };
    const a = startContainer({ ...base, id: 'a', argv: ['/bin/sleep', '600'], logPath: ${JSON.stringify(join(env.dir, 'orphan-a.log'))}, tty: false, uid: 65534, gid: 65534 });
    const b = startContainer({ ...base, id: 'b', argv: ['/bin/sleep', '600'], logPath: ${JSON.stringify(join(env.dir, 'orphan-b.log'))}, tty: true });
    setTimeout(() => console.log(a.pid, b.pid), 300);
    setInterval(() => {}, 1000);`;
    const parent = spawn(process.execPath, ['--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pids = await new Promise<number[]>((resolve) =>
      parent.stdout.once('data', (d: Buffer) => resolve(d.toString().trim().split(' ').map(Number))),
    );
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.ok(pids.length === 2 && pids.every(alive));
    parent.kill('SIGKILL');
    const deadline = Date.now() + 3000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], 'containers left running');
  },
);

test('runAsUser / runAsGroup', { skip }, async () => {
  const { c, log } = start(['/usr/bin/id'], { uid: 65534, gid: 65533 });
  await c.exited;
  assert.match(logText(log()), /^uid=65534\b.* gid=65533\b/);
});
