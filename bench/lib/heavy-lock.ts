import { spawn } from 'node:child_process';

/**
 * Runs `fn` holding an exclusive flock(1) on `file` (none when `file` is undefined), so heavy runs
 * of several people on one machine take turns. The lock is held by a `flock` child whose stdin we
 * keep open: it goes when `fn` ends, and also when this process dies.
 */
export async function withHeavyLock<T>(
  file: string | undefined,
  waitSeconds: number,
  fn: () => Promise<T>,
): Promise<T> {
  if (!file) return fn();
  const holder = spawn(
    'flock',
    ['-w', String(waitSeconds), file, 'sh', '-c', 'echo locked; exec cat >/dev/null'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((r) => holder.once('exit', () => r()));
  const locked = await new Promise<boolean>((resolve) => {
    holder.stdout!.once('data', () => resolve(true));
    holder.once('exit', () => resolve(false));
    holder.once('error', () => resolve(false));
  });
  if (!locked) throw new Error(`bench: could not take the lock ${file} within ${waitSeconds} s`);
  try {
    return await fn();
  } finally {
    holder.stdin!.end();
    await exited;
  }
}
