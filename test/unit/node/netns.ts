// Network namespaces for tests that program real nftables: created with a unique name, deleted
// (with everything in them) when the test ends.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { NftCommand } from '../../../src/node/nft/exec.ts';

const run = promisify(execFile);
let counter = 0;

export interface TestNetns {
  readonly name: string;
  /** `nft` inside the namespace, as the applier's argv prefix. */
  readonly nft: NftCommand;
  /** Runs a command inside the namespace; resolves with stdout. */
  exec(cmd: string, ...args: string[]): Promise<string>;
  delete(): Promise<void>;
}

export async function createNetns(tag: string): Promise<TestNetns> {
  const name = `kgn1-${tag}-${process.pid}-${counter++}`;
  await run('ip', ['netns', 'add', name]);
  const ns: TestNetns = {
    name,
    nft: ['ip', 'netns', 'exec', name, 'nft'],
    exec: async (cmd, ...args) =>
      (await run('ip', ['netns', 'exec', name, cmd, ...args], { timeout: 30_000 })).stdout,
    delete: async () => {
      await run('ip', ['netns', 'delete', name]).catch(() => {});
    },
  };
  await ns.exec('ip', 'link', 'set', 'lo', 'up');
  return ns;
}
