import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import { createCA, issueCert, type CertFiles } from '../../src/dev/pki.ts';

/** The certificates a bench run needs: one CA, a serving cert for 127.0.0.1, the gateway's client cert. */
export interface BenchPKI {
  ca: CertFiles;
  server: CertFiles;
  /** cert+key in one file, as HAProxy wants it. */
  serverPem: string;
  gatewayClient: CertFiles;
}

/** Creates the bench PKI in `dir` with openssl. */
export async function createBenchPKI(dir: string): Promise<BenchPKI> {
  const ca = await createCA(dir, 'ca', 'kubegate-bench-ca');
  const server = await issueCert(dir, 'server', ca, {
    cn: 'bench-server',
    usage: 'server',
    dns: ['localhost'],
    ips: ['127.0.0.1'],
  });
  const gatewayClient = await issueCert(dir, 'gateway-upstream', ca, { cn: 'kubegate', usage: 'client' });
  const serverPem = join(dir, 'server.pem');
  await writeFile(serverPem, (await readFile(server.cert, 'utf8')) + (await readFile(server.key, 'utf8')));
  return { ca, server, serverPem, gatewayClient };
}
