import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { join, type ConfigIssue } from './issues.ts';
import type { ClusterMaterial, ListenerMaterial, MaterialKind, SourceFile } from './model.ts';
import type { FileCluster } from './schema/cluster.ts';
import type { GatewayConfiguration } from './schema/gateway-configuration.ts';
import { checkCABundle, checkKeyPair } from './tls-material.ts';

// The certificate, key, CA and token files a configuration file names: read with it, checked
// before anything is swapped in, recorded (path, kind, content) for the file source's hash and
// watches, and compared between reloads for logs and metrics.

/** Reads one named file (relative to `baseDir`) into `read`; a failure is an issue at `field`. */
function loader(baseDir: string, at: string, issues: ConfigIssue[], read: SourceFile[]) {
  return (file: string | undefined, field: string, kind: MaterialKind): string | undefined => {
    if (file === undefined) return undefined;
    const full = resolve(baseDir, file);
    try {
      const content = readFileSync(full, 'utf8');
      read.push({ path: full, kind, content });
      return content;
    } catch (err) {
      issues.push({
        path: join(at, field),
        message: `cannot read ${full}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
      return undefined;
    }
  };
}

/**
 * Checks of what was read, before anything is swapped in: each CA file holds certificates, each
 * key is its certificate's (a pair caught half-rotated is refused; the next change of either file
 * reads both again). Messages name the file; never its content.
 */
function checkMaterial(
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
  pair: {
    cert?: string;
    key?: string;
    certFile?: string;
    keyFile?: string;
    certField: string;
    keyField: string;
  },
  cas: readonly [content: string | undefined, file: string | undefined, field: string][],
): void {
  for (const [content, file, field] of cas) {
    if (content === undefined || file === undefined) continue;
    const problem = checkCABundle(content);
    if (problem) issues.push({ path: join(at, field), message: `${resolve(baseDir, file)}: ${problem}` });
  }
  if (pair.cert === undefined || pair.key === undefined) return;
  const problem = checkKeyPair(pair.cert, pair.key);
  if (!problem) return;
  const [file, field] =
    problem.file === 'cert' ? [pair.certFile!, pair.certField] : [pair.keyFile!, pair.keyField];
  issues.push({ path: join(at, field), message: `${resolve(baseDir, file)}: ${problem.message}` });
}

/** A listener's serving pair and client CA, read and checked like a cluster's material. */
export function readListenerMaterial(
  tls: GatewayConfiguration['listeners'][number]['tls'],
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
  read: SourceFile[],
): ListenerMaterial | null {
  const load = loader(baseDir, at, issues, read);
  const before = issues.length;
  const cert = load(tls.certFile, 'certFile', 'listener_cert');
  const key = load(tls.keyFile, 'keyFile', 'listener_key');
  const clientCA = load(tls.clientCAFile, 'clientCAFile', 'listener_client_ca');
  checkMaterial(
    baseDir,
    at,
    issues,
    { cert, key, certFile: tls.certFile, keyFile: tls.keyFile, certField: 'certFile', keyField: 'keyFile' },
    [[clientCA, tls.clientCAFile, 'clientCAFile']],
  );
  if (issues.length > before || cert === undefined || key === undefined) return null;
  return { cert, key, clientCA };
}

/**
 * The PEM and token files of a cluster. Read synchronously, as a live reload reads every file: they
 * are a few small local files, while under load each asynchronous read (open, stat, read, close)
 * waits behind four turns of an event loop busy with requests, which made most of a reload's delay.
 * Each file read is appended to `read` with its content.
 */
export function readClusterMaterial(
  c: FileCluster,
  baseDir: string,
  at: string,
  issues: ConfigIssue[],
  read: SourceFile[],
): ClusterMaterial | null {
  const load = loader(baseDir, at, issues, read);
  const before = issues.length;
  const creds = c.credentials;
  const ca = load(c.upstreamCA.file, 'upstreamCA.file', 'upstream_ca');
  const cert = load(creds.certFile, 'credentials.certFile', 'upstream_client_cert');
  const key = load(creds.keyFile, 'credentials.keyFile', 'upstream_client_key');
  const token = load(creds.tokenFile, 'credentials.tokenFile', 'upstream_token');
  const clientCA = load(c.clientCA?.file, 'clientCA.file', 'cluster_client_ca');
  const frontProxyCA = load(c.frontProxy?.clientCAFile, 'frontProxy.clientCAFile', 'front_proxy_ca');
  const servingCert = load(c.serving?.certFile, 'serving.certFile', 'serving_cert');
  const servingKey = load(c.serving?.keyFile, 'serving.keyFile', 'serving_key');
  // The cluster's own serving pair, chosen by SNI: checked like the listener's.
  checkMaterial(
    baseDir,
    at,
    issues,
    {
      cert: servingCert,
      key: servingKey,
      certFile: c.serving?.certFile,
      keyFile: c.serving?.keyFile,
      certField: 'serving.certFile',
      keyField: 'serving.keyFile',
    },
    [],
  );
  checkMaterial(
    baseDir,
    at,
    issues,
    {
      cert,
      key,
      certFile: creds.certFile,
      keyFile: creds.keyFile,
      certField: 'credentials.certFile',
      keyField: 'credentials.keyFile',
    },
    [
      [ca, c.upstreamCA.file, 'upstreamCA.file'],
      [clientCA, c.clientCA?.file, 'clientCA.file'],
      [frontProxyCA, c.frontProxy?.clientCAFile, 'frontProxy.clientCAFile'],
    ],
  );
  // An empty token is a file caught mid-write (or truncated): sending no credential is never meant.
  if (token !== undefined && token.trim() === '')
    issues.push({
      path: join(at, 'credentials.tokenFile'),
      message: `${resolve(baseDir, creds.tokenFile!)}: the file is empty`,
    });
  if (issues.length > before || ca === undefined) return null;
  return { ca, cert, key, token: token?.trim(), clientCA, frontProxyCA, servingCert, servingKey };
}

/** The files of `next` that `previous` did not have with the same content (a kind and path once each). */
export function changedFiles(previous: readonly SourceFile[], next: readonly SourceFile[]): SourceFile[] {
  const before = new Map(previous.map((f) => [`${f.kind}\0${f.path}`, f.content]));
  const seen = new Set<string>();
  return next.filter((f) => {
    const key = `${f.kind}\0${f.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return before.get(key) !== f.content;
  });
}

/** Field names whose issue is about a named file, and what that file is for. */
const FILE_FIELDS: readonly (readonly [suffix: string, kind: MaterialKind])[] = [
  ['tls.certFile', 'listener_cert'],
  ['tls.keyFile', 'listener_key'],
  ['tls.clientCAFile', 'listener_client_ca'],
  ['upstreamCA.file', 'upstream_ca'],
  ['credentials.certFile', 'upstream_client_cert'],
  ['credentials.keyFile', 'upstream_client_key'],
  ['credentials.tokenFile', 'upstream_token'],
  ['clientCA.file', 'cluster_client_ca'],
  ['frontProxy.clientCAFile', 'front_proxy_ca'],
  ['serving.certFile', 'serving_cert'],
  ['serving.keyFile', 'serving_key'],
  ['kubernetes.clusterGatewayProxyConfigurationFile', 'clustergateway_proxy_config'],
];

/** The kinds of file a rejected configuration's issues are about. */
export function materialKindsOf(issues: readonly ConfigIssue[]): Set<MaterialKind> {
  const out = new Set<MaterialKind>();
  for (const i of issues)
    for (const [suffix, kind] of FILE_FIELDS) if (i.path.endsWith(suffix)) out.add(kind);
  return out;
}
