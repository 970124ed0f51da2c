import { execFileSync } from 'node:child_process';

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Installs h2load (nghttp2-client), haproxy and ss (iproute2) with apt-get when missing, as .ci/run does. */
export function ensureTools(): void {
  const need = [
    ['h2load', 'nghttp2-client'],
    ['haproxy', 'haproxy'],
    ['ss', 'iproute2'],
  ]
    .filter(([cmd]) => !has(cmd!))
    .map(([, pkg]) => pkg!);
  if (need.length === 0) return;
  if (!has('apt-get'))
    throw new Error(`bench needs ${need.join(', ')} and there is no apt-get to install them`);
  console.log(`bench: installing ${need.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...need], { stdio: 'inherit', env });
}
