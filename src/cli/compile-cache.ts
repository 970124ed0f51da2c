import { enableCompileCache, flushCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The directory of Node's module compile cache: `compile-cache/` in the kubegate cache
 * (`$KUBEGATE_CACHE`, else `$XDG_CACHE_HOME/kubegate`, else `~/.cache/kubegate`, as tools/node/ensure.sh).
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache =
    env.KUBEGATE_CACHE || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'kubegate');
  return join(cache, 'compile-cache');
}

/**
 * Turns on Node's module compile cache for the modules loaded from now on. On Node 24 it also keeps
 * the type-stripped source of `.ts` files, so a cached start skips both parsing and stripping (at
 * 1,000 modules, most of `kubegate node`'s start). Entries are keyed by the source's hash, so an
 * edited file is compiled again. `NODE_COMPILE_CACHE` (its own directory) wins, and
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 */
export function enableKubegateCompileCache(): void {
  // A directory that cannot be created or written only costs speed: Node answers status FAILED and
  // runs without the cache (it does not throw), which is not worth a line on every command's stderr.
  enableCompileCache(compileCacheDir());
}

/** Writes what was compiled so far (otherwise only written at a clean exit). */
export function flushKubegateCompileCache(): void {
  flushCompileCache();
}
