import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// tools/control-plane/provide.sh takes each binary from $KUBEBUILDER_ASSETS first, then from the
// cache (envtest's convention, as the README says). Fake executables that print where they come
// from fill both places, so nothing is built and no Go toolchain is needed.
const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../../tools/control-plane/provide.sh', import.meta.url));
const ALL = ['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'agnhost', 'echo-basic']; // prettier-ignore

const root = mkdtempSync(join(tmpdir(), 'kubegate-provide-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The cache's binary folder, named by the script's own pinned versions. */
function cacheBin(cache: string): string {
  const text = readFileSync(SCRIPT, 'utf8');
  const v = (name: string) => new RegExp(`^${name}=(\\S+)`, 'm').exec(text)?.[1] ?? assert.fail(name);
  return join(cache, `k8s-${v('K8S_VERSION')}-etcd-${v('ETCD_VERSION')}-${v('BUILD_REV')}`, 'bin');
}

function fake(dir: string, names: readonly string[], says: string): void {
  mkdirSync(dir, { recursive: true });
  for (const n of names) {
    writeFileSync(join(dir, n), `#!/bin/sh\necho ${says}\n`);
    chmodSync(join(dir, n), 0o755);
  }
}

async function provide(cache: string, assets: string | undefined, names: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    HOME: root,
    KUBEGATE_CACHE: cache,
    GOROOT: join(root, 'no-go'), // no toolchain: a build attempt fails loudly instead of running
    PATH: '/usr/bin:/bin',
  };
  if (assets !== undefined) env.KUBEBUILDER_ASSETS = assets;
  const { stdout } = await run('sh', [SCRIPT, ...names], { env, timeout: 30_000 });
  return stdout.trim();
}

const says = async (dir: string, name: string) => (await run(join(dir, name), [])).stdout.trim();

test('a binary in KUBEBUILDER_ASSETS wins over the cached one; the others still come from the cache', async () => {
  const cache = join(root, 'cache');
  const assets = join(root, 'assets');
  fake(cacheBin(cache), ALL, 'cache');
  fake(assets, ['kube-apiserver', 'etcd'], 'assets');

  const dir = await provide(cache, assets, ['kube-apiserver', 'etcd', 'kubectl']);
  assert.equal(await says(dir, 'kube-apiserver'), 'assets');
  assert.equal(await says(dir, 'etcd'), 'assets');
  assert.equal(await says(dir, 'kubectl'), 'cache', 'not in KUBEBUILDER_ASSETS: the cache');

  // The cache keeps its own binaries, so a later run without the variable gets them back.
  assert.equal(await says(cacheBin(cache), 'kube-apiserver'), 'cache');
  const plain = await provide(cache, undefined, ['kube-apiserver', 'kubectl']);
  assert.equal(await says(plain, 'kube-apiserver'), 'cache');
  assert.equal(await says(plain, 'kubectl'), 'cache');
});

test('KUBEBUILDER_ASSETS holding every binary is enough on its own: an empty cache builds nothing', async () => {
  const cache = join(root, 'empty-cache');
  const assets = join(root, 'all-assets');
  fake(assets, ALL, 'assets');
  const dir = await provide(cache, assets, []);
  for (const n of ALL) assert.equal(await says(dir, n), 'assets', n);
});
