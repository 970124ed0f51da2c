import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, issueCert } from '../../../src/dev/pki.ts';

/** PEM text of a certificate and its key. */
export interface KeyPair {
  cert: string;
  key: string;
}

/**
 * The files `fakeClusterConfiguration` names, in a new temp folder: one CA (`ca.crt`), a fake
 * apiserver's and the gateway's serving certificates for localhost and 127.0.0.1
 * (`gateway.crt`/`.key`), and a client certificate for user `alice`. The caller removes `dir`.
 */
export async function fakeClusterPKI(name: string): Promise<{
  dir: string;
  apiserver: KeyPair;
  /** alice's client TLS options for the gateway: `ca`, `cert`, `key`. */
  client: KeyPair & { ca: string };
}> {
  const dir = await mkdtemp(join(tmpdir(), `kubegate-${name}-`));
  const ca = await createCA(dir, 'ca', `${name}-test-ca`);
  const local = { dns: ['localhost'], ips: ['127.0.0.1'] };
  const [apiserver, , alice] = await Promise.all([
    issueCert(dir, 'apiserver', ca, { cn: 'fake-apiserver', usage: 'server', ...local }),
    issueCert(dir, 'gateway', ca, { cn: 'kubegate', usage: 'server', ...local }),
    issueCert(dir, 'alice', ca, { cn: 'alice', usage: 'client' }),
  ]);
  const pem = (f: string) => readFile(f, 'utf8');
  return {
    dir,
    apiserver: { cert: await pem(apiserver.cert), key: await pem(apiserver.key) },
    client: { ca: await pem(ca.cert), cert: await pem(alice.cert), key: await pem(alice.key) },
  };
}
