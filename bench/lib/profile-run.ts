import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../src/dev/ports.ts';
import { topSelfTime, type SelfTime } from './cpu-profile.ts';
import { Gateway, type GatewayOptions } from './gateway.ts';
import { runLoad, type LoadResult } from './h2load.ts';
import { RESULTS_DIR, runDate } from './results.ts';

/** A kubegate started with --cpu-prof under max load once; the top self-time functions. */
export async function profileUnderMaxLoad(
  base: Omit<GatewayOptions, 'port' | 'adminPort' | 'cpuProfDir'>,
  o: { path: string; headers: readonly string[]; seconds: number; name: string },
): Promise<{ load: LoadResult; top: SelfTime[]; file: string | null }> {
  const profDir = join(base.dir, 'cpuprof');
  await mkdir(profDir, { recursive: true });
  const gw = new Gateway({
    ...base,
    port: await freePort(),
    adminPort: await freePort(),
    cpuProfDir: profDir,
  });
  let load: LoadResult;
  try {
    await gw.start();
    load = await runLoad(
      { url: gw.url + o.path, rate: 'max', durationSeconds: o.seconds, warmupSeconds: 1, headers: o.headers },
      base.dir,
    );
  } finally {
    await gw.stop();
  }
  const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) return { load, top: [], file: null };
  // One profile per thread (CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile): with worker
  // threads the main thread (id 0) serves no requests, so take the largest worker's (they look alike).
  const workers = files.filter((f) => f.split('.')[4] !== '0');
  const pool = workers.length > 0 ? workers : files;
  const sizes = await Promise.all(pool.map(async (f) => (await stat(join(profDir, f))).size));
  const src = join(profDir, pool[sizes.indexOf(Math.max(...sizes))]!);
  const top = await topSelfTime(src, 15);
  // Kept next to the results, but git-ignored: profiles are megabytes.
  await mkdir(RESULTS_DIR, { recursive: true });
  const dest = join(RESULTS_DIR, `${runDate()}-${o.name}.cpuprofile`);
  await copyFile(src, dest);
  console.log(`  profile ${dest} (${Math.round((await stat(dest)).size / 1024)} KiB)`);
  return { load, top, file: dest };
}
