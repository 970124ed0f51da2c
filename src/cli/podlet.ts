import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { Podlet, type PodletConfig } from '../dev/podlet/podlet.ts';
import { UsageError } from './errors.ts';

/** `kubegate podlet --config FILE`: one node of the local cluster (started by `kubegate dev --nodes`). */
export async function podlet(v: Record<string, unknown>): Promise<number> {
  if (typeof v.config !== 'string') throw new UsageError('podlet: --config FILE is required');
  let cfg: PodletConfig;
  try {
    cfg = JSON.parse(readFileSync(v.config, 'utf8')) as PodletConfig;
  } catch (err) {
    throw new UsageError(`podlet: cannot read ${v.config}: ${(err as Error).message}`);
  }
  const log = pino({ base: { node: cfg.nodeName } });
  const p = new Podlet(cfg, log);
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await p.start();
  log.info('podlet ready');
  await stopped;
  log.info('podlet stopping');
  await p.stop();
  return 0;
}
