import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../tools/control-plane/provide.sh', import.meta.url));

/** The binary could not be provided; the script already printed why (one line). */
export class BinariesError extends Error {
  override name = 'BinariesError';
}

/**
 * Runs tools/control-plane/provide.sh (KUBEBUILDER_ASSETS, cache, or a build) and returns the
 * folder holding the binaries. Its progress goes to our stderr as it comes.
 */
export function provideBinaries(names: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [SCRIPT, ...names], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let lastErr = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      // Progress goes through as it comes; the error line is the caller's to report, once.
      for (const line of c.toString().split('\n')) {
        if (line.startsWith('control-plane: error: ')) lastErr = line;
        else if (line !== '') process.stderr.write(`${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out.trim().split('\n').pop()!);
      else
        reject(
          new BinariesError(
            lastErr.replace(/^control-plane: error: /, '') || `provide.sh exited with ${code}`,
          ),
        );
    });
  });
}
