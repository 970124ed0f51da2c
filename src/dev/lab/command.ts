import { execFile } from 'node:child_process';

/** A command the lab or the runtime ran failed; the message names it and carries its stderr. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly command: readonly string[];
  readonly stderr: string;
  readonly exitCode: number | null;
  constructor(command: readonly string[], exitCode: number | null, stderr: string, detail?: string) {
    const why = detail ?? (exitCode === null ? 'could not run' : `exited with ${exitCode}`);
    super(`\`${command.join(' ')}\` ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** Runs `file args…` to completion and returns its stdout; rejects with a CommandError otherwise. */
export function runCommand(file: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code =
        typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      reject(new CommandError([file, ...args], code, stderr, code === null ? err.message : undefined));
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
