import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its private key, as PEM files on disk. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** What a leaf certificate is for, and who it names. */
export interface CertRequest {
  /** Common name: the user name for client certificates. */
  cn: string;
  /** Organizations: the groups for client certificates. */
  orgs?: readonly string[];
  usage: 'server' | 'client' | 'both';
  /** DNS names and IP addresses (server certificates). */
  dns?: readonly string[];
  ips?: readonly string[];
  /** URI names (server certificates), e.g. a SPIFFE ID. */
  uris?: readonly string[];
  days?: number;
}

// An openssl config of our own, so the defaults of the machine's openssl.cnf (which add CA:TRUE
// to every `req -x509`) never leak into leaf certificates.
function config(req: CertRequest | null): string {
  const lines = ['[req]', 'distinguished_name=dn', 'prompt=no', '[dn]', 'CN=unused', '[ext]'];
  if (req === null) {
    lines.push('basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature');
  } else {
    const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[req.usage];
    lines.push(
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${eku}`,
    );
    const alt = [
      ...(req.dns ?? []).map((d) => `DNS:${d}`),
      ...(req.ips ?? []).map((i) => `IP:${i}`),
      ...(req.uris ?? []).map((u) => `URI:${u}`),
    ];
    if (alt.length > 0) lines.push(`subjectAltName=${alt.join(',')}`);
  }
  return lines.join('\n') + '\n';
}

// openssl's -subj syntax: "/O=a/O=b/CN=c", with '/' and '\' escaped.
function subject(cn: string, orgs: readonly string[] = []): string {
  const esc = (s: string) => s.replace(/[\\/+=]/g, (c) => `\\${c}`);
  return orgs.map((o) => `/O=${esc(o)}`).join('') + `/CN=${esc(cn)}`;
}

async function openssl(dir: string, name: string, conf: string, args: string[]): Promise<void> {
  const cnf = join(dir, `.${name}.cnf`);
  await writeFile(cnf, conf);
  try {
    await run('openssl', [...args, '-config', cnf, '-extensions', 'ext'], { cwd: dir });
  } finally {
    await rm(cnf, { force: true });
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Creates a self-signed certificate authority `<name>.crt`/`<name>.key` in `dir`. */
export async function createCA(dir: string, name: string, cn: string): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(dir, name, config(null), [
    'req', '-x509', '-new', ...KEY, '-days', '3650', '-subj', subject(cn),
    '-keyout', files.key, '-out', files.cert,
  ]); // prettier-ignore
  return files;
}

/** Issues a leaf certificate `<name>.crt`/`<name>.key` in `dir`, signed by `ca`. */
export async function issueCert(
  dir: string,
  name: string,
  ca: CertFiles,
  req: CertRequest,
): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  await openssl(dir, name, config(req), [
    'req', '-x509', '-new', ...KEY, '-days', String(req.days ?? 365), '-subj', subject(req.cn, req.orgs),
    '-CA', ca.cert, '-CAkey', ca.key, '-keyout', files.key, '-out', files.cert,
  ]); // prettier-ignore
  return files;
}

/** Creates the service-account signing key pair `sa.key` / `sa.pub`. */
export async function createSigningKey(dir: string): Promise<{ key: string; pub: string }> {
  const key = join(dir, 'sa.key');
  const pub = join(dir, 'sa.pub');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', ['ec', '-in', key, '-pubout', '-out', pub]);
  return { key, pub };
}

/** Reads a certificate pair into memory, e.g. for TLS options. */
export async function loadCert(files: CertFiles): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([readFile(files.cert, 'utf8'), readFile(files.key, 'utf8')]);
  return { cert, key };
}
