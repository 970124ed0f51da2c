import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError, runCommand } from './command.ts';

// Thin wrappers over `ip netns` that the lab and the pod runtime share.

/** Names of all named network namespaces (`ip netns list`). */
export async function listNetns(): Promise<string[]> {
  const out = await runCommand('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n): n is string => !!n);
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

export async function addNetns(name: string): Promise<void> {
  await runCommand('ip', ['netns', 'add', name]);
  await ipBatch(name, [['link', 'set', 'lo', 'up']]);
}

/**
 * Runs several `ip` commands in namespace `name` with one process (`ip -batch`): a pod sandbox
 * needs about ten, and a hundred pods starting at once made a thousand processes of them.
 */
export async function ipBatch(name: string, commands: readonly (readonly string[])[]): Promise<void> {
  await runCommand('ip', ['-n', name, '-batch', '-'], commands.map((c) => c.join(' ')).join('\n') + '\n');
}

/** SIGKILLs every process whose network namespace is `name`, and waits (up to 5 s) until none is left. */
export async function killNetnsProcesses(name: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const pids = await netnsPids(name);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
}

export async function netnsPids(name: string): Promise<number[]> {
  if (!netnsExists(name)) return [];
  try {
    const out = await runCommand('ip', ['netns', 'pids', name]);
    return out
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch (err) {
    if (!netnsExists(name)) return [];
    throw err;
  }
}

/** Kills what runs inside, then deletes the namespace (and with it its interfaces). Idempotent. */
export async function deleteNetns(name: string): Promise<void> {
  if (!netnsExists(name)) return;
  await killNetnsProcesses(name);
  try {
    await runCommand('ip', ['netns', 'delete', name]);
  } catch (err) {
    if (err instanceof CommandError && !netnsExists(name)) return;
    throw err;
  }
}

/** Sets a sysctl inside a namespace (`key` as a /proc/sys path below it, e.g. `net/ipv4/ip_forward`). */
export async function setNetnsSysctl(name: string, key: string, value: string): Promise<void> {
  await runCommand('ip', [
    'netns',
    'exec',
    name,
    'sh',
    '-c',
    'printf %s "$2" > "/proc/sys/$1"',
    'sh',
    key,
    value,
  ]);
}

/** `ip -n name args…` */
export function ipIn(name: string, ...args: string[]): Promise<string> {
  return runCommand('ip', ['-n', name, ...args]);
}
