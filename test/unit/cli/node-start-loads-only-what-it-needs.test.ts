import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileCacheDir } from '../../../src/cli/compile-cache.ts';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
const SRC = pathToFileURL(fileURLToPath(new URL('../../../src/', import.meta.url))).href;

const temp = mkdtempSync(join(tmpdir(), 'kubegate-start-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** `node [pre...] src/cli/main.ts args` with env; its exit code and stderr. */
function main(
  args: string[],
  env: NodeJS.ProcessEnv,
  pre: string[] = [],
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...pre, MAIN, ...args], { env, timeout: 60_000 }, (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

test('kubegate node loads neither the gateway, Gateway API, the podlet nor (without --bgp) the BGP speaker', async () => {
  // (The agent, translations and metrics load once the lists are sent, so not on this usage error.)
  // A load hook that writes every module URL it sees to a file at exit.
  const list = join(temp, 'modules.txt');
  const hook = join(temp, 'hook.mjs');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = [];
registerHooks({ load(url, ctx, next) { seen.push(url); return next(url, ctx); } });
process.on('exit', () => writeFileSync(${JSON.stringify(list)}, seen.join('\\n')));
`,
  );
  // No --node-name: a usage error once the node command's module is loaded.
  const r = await main(['node'], { ...process.env, KUBEGATE_CACHE: join(temp, 'cache') }, [
    '--import',
    pathToFileURL(hook).href,
  ]);
  assert.equal(r.code, 2, r.stderr);
  const loaded = readFileSync(list, 'utf8').split('\n');
  const ours = loaded.filter((u) => u.startsWith(SRC)).map((u) => u.slice(SRC.length));
  assert.ok(ours.includes('cli/node.ts'), ours.join(' '));
  const unwanted = ours.filter((p) =>
    /^(gateway\.ts|gatewayapi\/|proxy\/|dev\/|node\/bgp\/|config\/)/.test(p),
  );
  assert.deepEqual(unwanted, []);
});

test('a command fills the compile cache under $KUBEGATE_CACHE', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBEGATE_CACHE: join(temp, 'filled') };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  const r = await main(['node'], env);
  assert.equal(r.code, 2, r.stderr);
  const dir = compileCacheDir(env);
  const versions = readdirSync(dir);
  assert.equal(versions.length, 1, `one directory per Node version and build, got ${versions.join(', ')}`);
  assert.ok(readdirSync(join(dir, versions[0]!)).length > 10, 'entries for the modules it loaded');
});

test('an unusable cache directory changes nothing but speed', async () => {
  const file = join(temp, 'not-a-directory');
  writeFileSync(file, '');
  const env: NodeJS.ProcessEnv = { ...process.env, KUBEGATE_CACHE: file };
  delete env.NODE_COMPILE_CACHE;
  const r = await main(['node'], env);
  assert.equal(r.code, 2);
  assert.equal(
    r.stderr,
    'kubegate: error: node: --node-name is required (the Node object this agent programs for)\n',
  );
});

test('the cache directory follows KUBEGATE_CACHE, then XDG_CACHE_HOME, then HOME', () => {
  assert.equal(
    compileCacheDir({ KUBEGATE_CACHE: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }),
    '/c/compile-cache',
  );
  assert.equal(compileCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/kubegate/compile-cache');
  assert.equal(compileCacheDir({ HOME: '/h' }), '/h/.cache/kubegate/compile-cache');
});
