import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const CA_CONF = `[ca]
default_ca = d
[d]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
`;

/**
 * A client certificate for `cn` valid only between `start` and `end` (openssl dates,
 * YYYYMMDDHHMMSSZ), signed by `ca` — or self-signed (an unknown CA) when `ca` is null.
 */
export async function clientCertificate(
  cn: string,
  ca: { cert: string; key: string } | null,
  start = '20200101000000Z',
  end = '20991231000000Z',
): Promise<{ cert: Buffer; key: Buffer; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-adv-cert-'));
  const o = { cwd: dir, timeout: 30_000 };
  await writeFile(join(dir, 'ca.cnf'), CA_CONF);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '01');
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`];
  if (ca === null) {
    await run('openssl', ['req', '-x509', ...key, '-days', '30', '-keyout', 'c.key', '-out', 'c.crt'], o);
  } else {
    await run('openssl', ['req', '-new', ...key, '-keyout', 'c.key', '-out', 'c.csr'], o);
    await run('openssl', [
      'ca', '-batch', '-config', 'ca.cnf', '-extensions', 'ext', '-cert', ca.cert, '-keyfile', ca.key,
      '-startdate', start, '-enddate', end, '-in', 'c.csr', '-out', 'c.crt', '-notext',
    ], o); // prettier-ignore
  }
  return { cert: await readFile(join(dir, 'c.crt')), key: await readFile(join(dir, 'c.key')), dir };
}
