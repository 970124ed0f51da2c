import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { devDir, kubectlPath } from '../env.ts';
import {
  apply,
  createNamespace,
  deleteNamespace,
  KUBECONFIGS,
  kubectlRun,
  pod,
  waitFor,
  waitPodReady,
} from './pods.ts';

let ns = '';
const tmp = mkdtempSync(join(tmpdir(), 'podlet-streams-'));

before(async () => {
  ns = await createNamespace('podlet-streams');
  const data = { name: 'data', emptyDir: {} };
  await apply(
    // A line every 200 ms, numbered, so `logs -f` can be seen streaming.
    {
      ...pod('ticker', ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done']),
      metadata: { name: 'ticker', namespace: ns },
    },
    // A TCP echo server on the pod's loopback only: port-forward must enter the pod's namespace.
    {
      ...pod('echo', ['socat', 'TCP-LISTEN:9000,bind=127.0.0.1,reuseaddr,fork', 'EXEC:cat']),
      metadata: { name: 'echo', namespace: ns },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'files', namespace: ns },
      spec: {
        volumes: [data],
        containers: [
          {
            name: 'main',
            image: 'registry.k8s.io/pause:3.10',
            volumeMounts: [{ name: 'data', mountPath: '/srv/data' }],
          },
        ],
      },
    },
  );
  await Promise.all(['ticker', 'echo', 'files'].map((p) => waitPodReady(ns, p)));
});

after(async () => {
  await deleteNamespace(ns);
  rmSync(tmp, { recursive: true, force: true });
});

for (const kc of KUBECONFIGS) {
  test(`kubectl logs -f streams lines as they are written (${kc})`, { timeout: 60_000 }, async () => {
    const child = spawn(kubectlPath(), [
      '--kubeconfig',
      join(devDir(), kc),
      '-n',
      ns,
      'logs',
      '-f',
      '--tail=1',
      'ticker',
    ]);
    const seen: { n: number; at: number }[] = [];
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const m = /^tick (\d+)$/.exec(buf.slice(0, nl));
        if (m) seen.push({ n: Number(m[1]), at: Date.now() });
        buf = buf.slice(nl + 1);
      }
    });
    await waitFor(async () => seen.length >= 6, 20_000, 'six streamed lines');
    child.kill();
    for (let i = 1; i < seen.length; i++)
      assert.equal(seen[i].n, seen[i - 1].n + 1, 'no line lost or repeated');
    // Lines arrive as written (about 200 ms apart), not in one burst at the end.
    assert.ok(seen[5].at - seen[1].at >= 400, `lines arrived spread over time: ${JSON.stringify(seen)}`);
  });

  test(
    `kubectl exec returns stdout byte for byte, takes stdin, and gives the exit code (${kc})`,
    { timeout: 60_000 },
    async () => {
      const input = randomBytes(1 << 20);
      const r = await kubectlRun(kc, ['-n', ns, 'exec', '-i', 'ticker', '--', 'cat'], { input });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, input.length);
      assert.ok(r.stdout.equals(input), '1 MiB of binary stdin came back unchanged');
      const exit = await kubectlRun(kc, [
        '-n',
        ns,
        'exec',
        'ticker',
        '--',
        'sh',
        '-c',
        'printf out; printf err >&2; exit 7',
      ]);
      assert.equal(exit.code, 7);
      assert.equal(exit.stdout.toString(), 'out');
      assert.match(exit.stderr, /^err/);
    },
  );

  test(
    `kubectl port-forward carries 10 MiB both ways with the same checksum (${kc})`,
    { timeout: 90_000 },
    async () => {
      const child = spawn(kubectlPath(), [
        '--kubeconfig',
        join(devDir(), kc),
        '-n',
        ns,
        'port-forward',
        'pod/echo',
        ':9000',
      ]);
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', (code) => reject(new Error(`port-forward exited ${code}`)));
        });
        const payload = randomBytes(10 << 20);
        const sock = connect(port, '127.0.0.1');
        const hash = createHash('sha256');
        let received = 0;
        await new Promise<void>((resolve, reject) => {
          sock.on('data', (c: Buffer) => {
            hash.update(c);
            received += c.length;
            if (received >= payload.length) resolve();
          });
          sock.on('error', reject);
          sock.write(payload);
        });
        sock.destroy();
        assert.equal(received, payload.length);
        assert.equal(hash.digest('hex'), createHash('sha256').update(payload).digest('hex'));
      } finally {
        child.kill();
      }
    },
  );

  test(
    `kubectl cp round-trips a file into a pod's volume and back (${kc})`,
    { timeout: 60_000 },
    async () => {
      const src = join(tmp, `in-${kc}`);
      const back = join(tmp, `out-${kc}`);
      writeFileSync(src, randomBytes(256 << 10));
      const up = await kubectlRun(kc, ['-n', ns, 'cp', src, `files:/srv/data/${kc}`]);
      assert.equal(up.code, 0, up.stderr);
      const down = await kubectlRun(kc, ['-n', ns, 'cp', `files:/srv/data/${kc}`, back]);
      assert.equal(down.code, 0, down.stderr);
      assert.ok(readFileSync(back).equals(readFileSync(src)));
    },
  );
}
