import { isIP } from 'node:net';
import { createSecureContext } from 'node:tls';
import { FRONT_PROXY_DEFAULTS, isFrontProxyHeader } from '../auth/index.ts';
import { checkRules } from '../routing/index.ts';
import { DEFAULT_HEALTH_CHECK } from '../upstream/health-check.ts';
import { join, type ConfigIssue } from './issues.ts';
import type { ClusterConfig, ClusterMaterial } from './model.ts';
import type { CRDClusterSpec, Defaults, FileCluster } from './schema/cluster.ts';
import type { DefaultRule } from './schema/rule.ts';

/** A cluster spec in either form (the fields that matter here are shared). */
export type AnyClusterSpec = Omit<FileCluster, 'name'> | CRDClusterSpec;

/** Problems in a cluster spec that its JSON schema cannot express; paths start at `path`. */
export function checkClusterSpec(spec: AnyClusterSpec, defaults: Defaults, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Set<string>();
  spec.endpoints.forEach((e, i) => {
    if (names.has(e.name))
      issues.push({
        path: join(path, `endpoints[${i}].name`),
        message: `duplicate endpoint name "${e.name}"`,
      });
    names.add(e.name);
  });
  const creds = spec.credentials as Record<string, unknown>;
  if (!('secretRef' in creds)) {
    const has = (k: string) => creds[k] !== undefined;
    if (has('certFile') !== has('keyFile'))
      issues.push({
        path: join(path, has('certFile') ? 'credentials.keyFile' : 'credentials.certFile'),
        message: 'certFile and keyFile go together',
      });
    if (!has('certFile') && !has('tokenFile'))
      issues.push({ path: join(path, 'credentials'), message: 'needs certFile+keyFile or tokenFile' });
  }
  const rules = spec.rules ?? [];
  issues.push(...checkRules(rules, join(path, 'rules')));
  rules.forEach((r, i) => checkSubset(r.upstream, join(path, `rules[${i}].upstream`), names, issues));
  if (spec.defaultRule)
    checkSubset(spec.defaultRule.upstream, join(path, 'defaultRule.upstream'), names, issues);
  else
    checkSubset(defaults.defaultRule?.upstream, `defaults.defaultRule.upstream (for ${path})`, names, issues);
  const limitSets: [string, { limits?: DefaultRule['limits'] } | undefined][] = rules.map((r, i) => [
    `rules[${i}]`,
    r,
  ]);
  limitSets.push(['defaultRule', spec.defaultRule]);
  for (const [field, r] of limitSets) {
    const l = r?.limits;
    if (!l) continue;
    if (l.burst !== undefined && l.qps === undefined)
      issues.push({ path: join(path, `${field}.limits.burst`), message: 'burst needs qps' });
    if (l.perUser !== undefined && l.qps === undefined)
      issues.push({
        path: join(path, `${field}.limits.perUser`),
        message: 'perUser applies qps per user: set qps',
      });
    if (l.queue?.waitForRate === true && l.qps === undefined)
      issues.push({
        path: join(path, `${field}.limits.queue.waitForRate`),
        message: 'waits for a token of qps: set qps',
      });
    else if (
      l.queue !== undefined &&
      l.queue.waitForRate !== true &&
      l.maxInflightReadOnly === undefined &&
      l.maxInflightMutating === undefined
    )
      issues.push({
        path: join(path, `${field}.limits.queue`),
        message:
          'a queue waits for an in-flight slot (or, with waitForRate, a token): set maxInflightReadOnly, maxInflightMutating or waitForRate',
      });
  }
  checkFrontProxy(spec.frontProxy, path, issues);
  if (spec.serving !== undefined && (spec.hosts ?? []).length === 0)
    issues.push({
      path: join(path, 'serving'),
      message: 'a serving certificate is chosen by SNI: list the names it is for in hosts',
    });
  const auto = spec.circuitBreaker?.automatic;
  if (auto?.slowRatio !== undefined && auto.slowCallSeconds === undefined)
    issues.push({ path: join(path, 'circuitBreaker.automatic.slowRatio'), message: 'needs slowCallSeconds' });
  for (const side of ['allow', 'deny'] as const)
    spec.access?.[side]?.clientCIDRs?.forEach((c, i) => {
      if (!validCIDR(c))
        issues.push({
          path: join(path, `access.${side}.clientCIDRs[${i}]`),
          message: `"${c}" is not an address range like 10.0.0.0/8 or 2001:db8::/32`,
        });
    });
  return issues;
}

type FrontProxySpec = NonNullable<AnyClusterSpec['frontProxy']>;

// The forwarder strips X-Remote-User/-Uid/-Group/-Extra-* from every client request; a header
// name outside that set would be forwarded as the client sent it, so it is refused here.
function checkFrontProxy(fp: FrontProxySpec | undefined, path: string, issues: ConfigIssue[]): void {
  if (!fp) return;
  const given =
    'clientCAFile' in fp ? fp.clientCAFile !== undefined : 'clientCA' in fp && fp.clientCA !== undefined;
  const fromCluster = fp.fromExtensionAPIServerAuthentication === true;
  if (given === fromCluster)
    issues.push({
      path: join(path, 'frontProxy'),
      message: given
        ? 'the CA is given (clientCAFile / clientCA) and read from the cluster (fromExtensionAPIServerAuthentication): choose one'
        : 'needs the front-proxy CA: clientCAFile (file) or clientCA (UpstreamCluster), or fromExtensionAPIServerAuthentication: true',
    });
  for (const field of ['usernameHeaders', 'uidHeaders', 'groupHeaders'] as const)
    fp[field]?.forEach((h, i) => {
      if (!isFrontProxyHeader(h))
        issues.push({
          path: join(path, `frontProxy.${field}[${i}]`),
          message: `"${h}" is not one of X-Remote-User, X-Remote-Uid, X-Remote-Group, X-Remote-Extra-*: the headers kubegate strips from forwarded requests`,
        });
    });
  fp.extraHeaderPrefixes?.forEach((h, i) => {
    if (!h.toLowerCase().startsWith('x-remote-extra-'))
      issues.push({
        path: join(path, `frontProxy.extraHeaderPrefixes[${i}]`),
        message: `"${h}" must start with X-Remote-Extra- (the prefix kubegate strips from forwarded requests)`,
      });
  });
}

function checkSubset(
  list: readonly string[] | undefined,
  path: string,
  names: ReadonlySet<string>,
  issues: ConfigIssue[],
): void {
  list?.forEach((n, j) => {
    if (!names.has(n))
      issues.push({
        path: `${path}[${j}]`,
        message: `no endpoint named "${n}" (endpoints: ${[...names].join(', ')})`,
      });
  });
}

/** An IPv4 or IPv6 CIDR (or a single address). */
export function validCIDR(c: string): boolean {
  const [addr, bits, extra] = c.split('/');
  const v = isIP(addr);
  if (v === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (v === 4 ? 32 : 128);
}

/** A checked spec, with defaults applied and material loaded, as the runtime uses it. */
export function resolveCluster(
  name: string,
  origin: string,
  spec: AnyClusterSpec,
  defaults: Defaults,
  material: ClusterMaterial,
): ClusterConfig {
  const pick = <K extends keyof Defaults>(k: K): Defaults[K] => (spec as Defaults)[k] ?? defaults[k];
  const hc = pick('healthCheck') ?? {};
  const auth = pick('authentication') ?? {};
  const tr = auth.tokenReview ?? {};
  const sa = auth.serviceAccountJWT;
  const cb = pick('circuitBreaker') ?? {};
  const a = cb.automatic;
  const fp = spec.frontProxy;
  // Fields the spec sets win over what the cluster's ConfigMap says.
  const rh = material.requestHeader;
  return {
    name,
    origin,
    endpoints: spec.endpoints.map((e) => ({ name: e.name, url: e.url.replace(/\/$/, '') })),
    hosts: [...new Set(spec.hosts ?? [])],
    material,
    balancer: pick('balancer') ?? 'round-robin',
    healthCheck: {
      path: hc.path ?? DEFAULT_HEALTH_CHECK.path,
      intervalMs: (hc.intervalSeconds ?? DEFAULT_HEALTH_CHECK.intervalMs / 1000) * 1000,
      timeoutMs: (hc.timeoutSeconds ?? DEFAULT_HEALTH_CHECK.timeoutMs / 1000) * 1000,
      rise: hc.rise ?? DEFAULT_HEALTH_CHECK.rise,
      fall: hc.fall ?? DEFAULT_HEALTH_CHECK.fall,
    },
    pingIntervalMs: (pick('pingIntervalSeconds') ?? 30) * 1000,
    // kube-apiserver's own --request-timeout is 60 s; a little more so its answer arrives first.
    requestTimeoutMs: (pick('requestTimeoutSeconds') ?? 65) * 1000,
    authentication: {
      anonymous: auth.anonymous ?? false,
      tokenReview: {
        enabled: tr.enabled ?? true,
        successTTLMs: (tr.successTTLSeconds ?? 120) * 1000,
        failureTTLMs: (tr.failureTTLSeconds ?? 10) * 1000,
        maxEntries: tr.maxEntries ?? 10_000,
      },
      serviceAccountJWT: sa && {
        issuers: sa.issuers,
        audiences: sa.audiences ?? sa.issuers,
        refreshMs: (sa.jwksRefreshSeconds ?? 300) * 1000,
      },
      frontProxy: fp && {
        allowedNames: fp.allowedNames ?? rh?.allowedNames ?? [],
        usernameHeaders: fp.usernameHeaders ?? rh?.usernameHeaders ?? FRONT_PROXY_DEFAULTS.usernameHeaders,
        uidHeaders: fp.uidHeaders ?? rh?.uidHeaders ?? FRONT_PROXY_DEFAULTS.uidHeaders,
        groupHeaders: fp.groupHeaders ?? rh?.groupHeaders ?? FRONT_PROXY_DEFAULTS.groupHeaders,
        extraHeaderPrefixes:
          fp.extraHeaderPrefixes ?? rh?.extraHeaderPrefixes ?? FRONT_PROXY_DEFAULTS.extraHeaderPrefixes,
      },
    },
    circuitBreaker: {
      forceOpen: cb.forceOpen ?? false,
      message: cb.message ?? `cluster ${name} is not taking requests (circuit breaker open)`,
      automatic: a && {
        windowMs: (a.windowSeconds ?? 10) * 1000,
        minRequests: a.minRequests ?? 20,
        errorRatio: a.errorRatio ?? 0.5,
        slowCallMs: a.slowCallSeconds === undefined ? undefined : a.slowCallSeconds * 1000,
        slowRatio: a.slowRatio,
        openMs: (a.openSeconds ?? 5) * 1000,
        halfOpenProbes: a.halfOpenProbes ?? 3,
      },
    },
    access: pick('access') ?? {},
    rules: spec.rules ?? [],
    defaultRule: pick('defaultRule') ?? {},
  };
}

/** Why a serving certificate and key cannot be used (unparsable PEM, a key of another certificate); null when they can. */
export function servingPairProblem(cert: string, key: string): string | null {
  try {
    createSecureContext({ cert, key });
    return null;
  } catch (err) {
    return `not a usable certificate and key: ${(err as Error).message}`;
  }
}
