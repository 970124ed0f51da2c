import { hostname } from 'node:os';

/** PATH a container gets when its spec sets none (as container runtimes default it). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The container's exact environment: the spec's, plus PATH and HOSTNAME when it does not set them. */
export function containerEnv(env: Readonly<Record<string, string>>, host?: string): Record<string, string> {
  return { PATH: DEFAULT_PATH, HOSTNAME: host ?? hostname(), ...env };
}

export class InvalidEnvError extends Error {
  override name = 'InvalidEnvError';
}

/** `env -i -- K=V… ` argv prefix that starts a program with exactly `env`. */
export function exactEnvArgv(env: Readonly<Record<string, string>>): string[] {
  for (const k of Object.keys(env)) {
    if (!k || k.includes('=') || k.includes('\0'))
      throw new InvalidEnvError(`invalid environment variable name ${JSON.stringify(k)}`);
  }
  return ['/usr/bin/env', '-i', '--', ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
}
