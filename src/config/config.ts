import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { BalancerKind } from '../upstream/balancers/index.ts';
import { DEFAULT_HEALTH_CHECK, type HealthCheckOptions } from '../upstream/health-check.ts';

/** The gateway's configuration (file form `kubegate.io/v1alpha1 GatewayConfiguration`), validated. */
export interface GatewayConfig {
  listen: { address: string; port: number };
  tls: { certFile: string; keyFile: string; clientCAFile?: string };
  upstream: {
    endpoints: { name: string; url: string }[];
    caFile: string;
    certFile?: string;
    keyFile?: string;
    tokenFile?: string;
    balancer: BalancerKind;
    healthCheck: HealthCheckOptions;
    pingIntervalMs: number;
  };
  authentication: { anonymous: boolean; tokenReview: boolean };
  requestTimeoutMs: number;
  accessLog: { path?: string };
}

/** A configuration error, naming the field and the reason. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`${field}: ${reason}`);
    this.field = field;
  }
}

type Obj = Record<string, unknown>;
const BALANCERS: readonly BalancerKind[] = ['round-robin', 'random', 'least-request'];

function obj(v: unknown, field: string, required = true): Obj {
  if (v === undefined && !required) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ConfigError(field, v === undefined ? 'required' : 'must be an object');
  return v as Obj;
}
function str(v: unknown, field: string): string;
function str(v: unknown, field: string, required: false): string | undefined;
function str(v: unknown, field: string, required = true): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new ConfigError(field, v === undefined ? 'required' : 'must be a non-empty string');
  return v;
}
function num(v: unknown, field: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new ConfigError(field, `must be a number from ${min} to ${max}`);
  return v;
}
function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(field, 'must be true or false');
  return v;
}
function known(o: Obj, field: string, keys: readonly string[]): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k))
      throw new ConfigError(`${field}.${k}`.replace(/^\./, ''), `unknown field (known: ${keys.join(', ')})`);
}

/** Validates a parsed document; relative file paths are resolved against `baseDir`. */
export function validateConfig(doc: unknown, baseDir: string): GatewayConfig {
  const root = obj(doc, '(document)');
  known(root, '', [
    'apiVersion',
    'kind',
    'listen',
    'tls',
    'upstream',
    'authentication',
    'timeouts',
    'accessLog',
  ]);
  if (root.apiVersion !== 'kubegate.io/v1alpha1')
    throw new ConfigError('apiVersion', 'must be kubegate.io/v1alpha1');
  if (root.kind !== 'GatewayConfiguration') throw new ConfigError('kind', 'must be GatewayConfiguration');
  const path = (v: unknown, f: string, req = true) => {
    const s = req ? str(v, f) : str(v, f, false);
    return s === undefined ? undefined : resolve(baseDir, s);
  };

  const listen = obj(root.listen, 'listen');
  known(listen, 'listen', ['address', 'port']);
  const tls = obj(root.tls, 'tls');
  known(tls, 'tls', ['certFile', 'keyFile', 'clientCAFile']);
  const up = obj(root.upstream, 'upstream');
  known(up, 'upstream', [
    'endpoints',
    'caFile',
    'certFile',
    'keyFile',
    'tokenFile',
    'balancer',
    'healthCheck',
    'pingIntervalSeconds',
  ]);
  if (!Array.isArray(up.endpoints) || up.endpoints.length === 0)
    throw new ConfigError('upstream.endpoints', 'must list at least one endpoint');
  const names = new Set<string>();
  const endpoints = up.endpoints.map((e: unknown, i: number) => {
    const f = `upstream.endpoints[${i}]`;
    const o = obj(e, f);
    known(o, f, ['name', 'url']);
    const url = str(o.url, `${f}.url`);
    if (!/^https:\/\/[^/]+\/?$/.test(url)) throw new ConfigError(`${f}.url`, 'must be https://host:port');
    const name = str(o.name ?? `endpoint-${i}`, `${f}.name`);
    if (names.has(name)) throw new ConfigError(`${f}.name`, `duplicate endpoint name "${name}"`);
    names.add(name);
    return { name, url };
  });
  const balancer = (up.balancer ?? 'round-robin') as BalancerKind;
  if (!BALANCERS.includes(balancer))
    throw new ConfigError('upstream.balancer', `must be one of ${BALANCERS.join(', ')}`);
  const hc = obj(up.healthCheck, 'upstream.healthCheck', false);
  known(hc, 'upstream.healthCheck', ['path', 'intervalSeconds', 'timeoutSeconds', 'rise', 'fall']);
  const certFile = path(up.certFile, 'upstream.certFile', false);
  const keyFile = path(up.keyFile, 'upstream.keyFile', false);
  const tokenFile = path(up.tokenFile, 'upstream.tokenFile', false);
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new ConfigError(
      certFile ? 'upstream.keyFile' : 'upstream.certFile',
      'certFile and keyFile go together',
    );
  if (!certFile && !tokenFile)
    throw new ConfigError('upstream', 'needs the gateway credential: certFile+keyFile or tokenFile');

  const auth = obj(root.authentication, 'authentication', false);
  known(auth, 'authentication', ['anonymous', 'tokenReview']);
  const timeouts = obj(root.timeouts, 'timeouts', false);
  known(timeouts, 'timeouts', ['requestSeconds']);
  const log = obj(root.accessLog, 'accessLog', false);
  known(log, 'accessLog', ['path']);

  return {
    listen: {
      address: str(listen.address ?? '127.0.0.1', 'listen.address'),
      port: num(listen.port, 'listen.port', 6443, 0, 65535),
    },
    tls: {
      certFile: path(tls.certFile, 'tls.certFile')!,
      keyFile: path(tls.keyFile, 'tls.keyFile')!,
      clientCAFile: path(tls.clientCAFile, 'tls.clientCAFile', false),
    },
    upstream: {
      endpoints,
      caFile: path(up.caFile, 'upstream.caFile')!,
      certFile,
      keyFile,
      tokenFile,
      balancer,
      healthCheck: {
        path: str(hc.path ?? DEFAULT_HEALTH_CHECK.path, 'upstream.healthCheck.path'),
        intervalMs:
          num(
            hc.intervalSeconds,
            'upstream.healthCheck.intervalSeconds',
            DEFAULT_HEALTH_CHECK.intervalMs / 1000,
            0.1,
            3600,
          ) * 1000,
        timeoutMs:
          num(
            hc.timeoutSeconds,
            'upstream.healthCheck.timeoutSeconds',
            DEFAULT_HEALTH_CHECK.timeoutMs / 1000,
            0.1,
            60,
          ) * 1000,
        rise: num(hc.rise, 'upstream.healthCheck.rise', DEFAULT_HEALTH_CHECK.rise, 1, 100),
        fall: num(hc.fall, 'upstream.healthCheck.fall', DEFAULT_HEALTH_CHECK.fall, 1, 100),
      },
      pingIntervalMs: num(up.pingIntervalSeconds, 'upstream.pingIntervalSeconds', 30, 1, 3600) * 1000,
    },
    authentication: {
      anonymous: bool(auth.anonymous, 'authentication.anonymous', false),
      tokenReview: bool(auth.tokenReview, 'authentication.tokenReview', true),
    },
    // kube-apiserver's own --request-timeout is 60 s; a little more so its answer arrives first.
    requestTimeoutMs: num(timeouts.requestSeconds, 'timeouts.requestSeconds', 65, 0, 86400) * 1000,
    accessLog: { path: path(log.path, 'accessLog.path', false) },
  };
}

/** Reads and validates a configuration file. */
export async function loadConfig(file: string): Promise<GatewayConfig> {
  const text = await readFile(file, 'utf8');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ConfigError('(document)', `not valid YAML: ${(err as Error).message}`);
  }
  return validateConfig(doc, dirname(resolve(file)));
}
