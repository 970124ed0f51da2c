import { spawn } from 'node:child_process';

/** `nft` failed: its exit code and what it printed (the offending line of the script, usually). */
export class NftError extends Error {
  override name = 'NftError';
  readonly code = 'KG_NFT_FAILED';
  readonly exitCode: number | null;
  readonly stderr: string;
  /** `what` names the failed call (default: the `nft` command line and its exit code). */
  constructor(
    args: readonly string[],
    exitCode: number | null,
    stderr: string,
    what = `nft ${args.join(' ')} exited with ${exitCode}`,
  ) {
    super(`${what}: ${stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/**
 * How to run `nft`: the argv prefix (default `['nft']`; tests use `['ip', 'netns', 'exec', NS,
 * 'nft']` to program a namespace they made).
 */
export type NftCommand = readonly string[];

const TIMEOUT_MS = 60_000;

/** Runs `nft ARGS`, writing `stdin` if given; resolves with stdout. */
export function runNft(cmd: NftCommand, args: readonly string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // nft exiting early is reported by its exit code
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new NftError(args, code, Buffer.concat(err).toString('utf8')));
    });
    child.stdin.end(stdin ?? '');
  });
}

/** Applies one script as one transaction (`nft -f -`): all of it or none of it. */
export async function applyScript(cmd: NftCommand, script: string): Promise<void> {
  await runNft(cmd, ['-f', '-'], script);
}

/** The `family name` of every table in the namespace (`nft list tables`). */
export async function listTables(cmd: NftCommand): Promise<{ family: string; name: string }[]> {
  return tablesListed(await runNft(cmd, ['list', 'tables']));
}

/** The tables in what `nft list tables` printed. */
export function tablesListed(text: string): { family: string; name: string }[] {
  const out: { family: string; name: string }[] = [];
  for (const line of text.split('\n')) {
    const m = /^table (\S+) (\S+)$/.exec(line.trim());
    if (m) out.push({ family: m[1]!, name: m[2]! });
  }
  return out;
}

/** Tables this agent owns: their names start with `kubegate-`. */
export function isOwnTableName(name: string): boolean {
  return name.startsWith('kubegate-');
}
