import { pino } from 'pino';
import { loadConfig } from '../config/config.ts';
import { RunningGateway } from '../gateway.ts';
import { UsageError } from './errors.ts';

/** `kubegate serve -f FILE`: runs the gateway until SIGINT/SIGTERM. */
export async function serve(v: Record<string, unknown>): Promise<number> {
  const file = v.file;
  if (typeof file !== 'string') throw new UsageError('serve: -f FILE is required');
  const cfg = await loadConfig(file);
  const log = pino(
    cfg.accessLog.path ? pino.destination({ dest: cfg.accessLog.path, mkdir: true }) : undefined,
  );
  const gw = await RunningGateway.start(cfg, log);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gw.stop();
  log.flush();
  return 0;
}
