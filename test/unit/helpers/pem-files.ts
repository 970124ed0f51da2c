import { rmSync } from 'node:fs';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCert, type CertFiles } from '../../../src/dev/pki.ts';

/** A small PKI of real PEM files for configuration tests: a CA and leaf pairs it signed. */
export interface TestPKI {
  readonly ca: CertFiles;
  /** A leaf pair (`<name>.crt`/`.key`) signed by the CA, issued on first use of the name. */
  issue(name: string): Promise<CertFiles>;
}

let pki: Promise<TestPKI> | null = null;

/** One PKI per test process (made with openssl on first use, removed at exit). */
export function testPKI(): Promise<TestPKI> {
  pki ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubegate-test-pki-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const ca = await createCA(dir, 'ca', 'kubegate-test-ca');
    const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
    const issued = new Map<string, Promise<CertFiles>>();
    return {
      ca,
      issue: (name: string) => {
        let p = issued.get(name);
        if (!p) issued.set(name, (p = issueCert(dir, name, ca, { cn: name, usage: 'both', ...local })));
        return p;
      },
    };
  })();
  return pki;
}

/** Writes `tls.crt`, `tls.key` (a matching pair), `ca.crt` and `token` into `dir`. */
export async function writeMaterialFiles(dir: string): Promise<void> {
  const p = await testPKI();
  const leaf = await p.issue('first');
  await copyFile(leaf.cert, join(dir, 'tls.crt'));
  await copyFile(leaf.key, join(dir, 'tls.key'));
  await copyFile(p.ca.cert, join(dir, 'ca.crt'));
  await writeFile(join(dir, 'token'), 'token\n');
}
