import { execFileSync } from 'node:child_process';

/** The kubegate commit measured: KUBEGATE_COMMIT (a run from an exported tree), else git's HEAD. */
export function measuredCommit(): string | null {
  if (process.env.KUBEGATE_COMMIT) return process.env.KUBEGATE_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}
