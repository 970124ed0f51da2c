// The policy fields of one TrafficPolicy (gateway.kubegate.io/v1alpha1), read into IR values with
// the Secrets they name resolved. Whatever is wrong with a field is a Problem (the policy is not
// Accepted) and the field still applies, closed: no users, no keys, or everyone denied.

import { createHash } from 'node:crypto';
import { parseCIDR } from '../../routing/cidr.ts';
import type {
  APIKeyAuthIR,
  BasicAuthIR,
  ExtAuthIR,
  IPFilterIR,
  JWTAuthIR,
  OIDCIR,
  RateLimitKeyIR,
} from '../ir.ts';
import type { Problem } from './conditions.ts';
import { parseDuration } from './durations.ts';
import { arr, has, int, rec, str, strMap, text, type Meta } from './read.ts';
import { readExtAuth, type ResolveBackend } from './traffic-policy-ext-auth.ts';
import { readJWT } from './traffic-policy-jwt.ts';
import type { CorsIR, PolicyRetryIR, PolicyTimeoutsIR, TransformationIR } from '../ir.ts';
import { readCors } from './traffic-policy-cors.ts';
import { readRetry, readTimeouts } from './traffic-policy-retry.ts';
import { readTransformation } from './traffic-policy-transform.ts';
import { readOIDC } from './traffic-policy-oidc.ts';
import { readRateLimitKey } from './traffic-policy-rate-limit-key.ts';
import { HEADER_NAME } from './header-names.ts';

/** The policy fields a TrafficPolicy sets; an absent field is not set. */
export interface TrafficPolicyFields {
  ipFilter?: IPFilterIR;
  requestBodyLimit?: number;
  basicAuth?: BasicAuthIR;
  apiKeyAuth?: APIKeyAuthIR;
  /** The bucket name is the target's, added when the policy is merged onto a route. */
  localRateLimit?: { tokens: number; fillIntervalMs: number; key?: RateLimitKeyIR };
  jwt?: JWTAuthIR;
  cors?: CorsIR;
  retry?: PolicyRetryIR;
  timeouts?: PolicyTimeoutsIR;
  transformation?: TransformationIR;
  oidc?: OIDCIR;
  extAuth?: ExtAuthIR;
}

/** The field names, in the order the data plane applies them. */
export const FIELD_NAMES = [
  'ipFilter',
  'localRateLimit',
  'basicAuth',
  'apiKeyAuth',
  'jwt',
  'oidc',
  'extAuth',
  'requestBodyLimit',
  'cors',
  'retry',
  'timeouts',
  'transformation',
] as const;

/** The Secret key basicAuth reads its users from. */
export const HTPASSWD_KEY = '.htpasswd';
const DEFAULT_REALM = 'kubegate';
const DEFAULT_API_KEY_HEADER = 'x-api-key';
const DENY_ALL: IPFilterIR = { allow: [], deny: ['0.0.0.0/0', '::/0'] };

/** Reads the policy fields of `raw`, resolving Secrets (`namespace/name` → object) in its namespace. */
export function readPolicyFields(
  raw: unknown,
  m: Meta,
  secrets: ReadonlyMap<string, unknown>,
  resolve: ResolveBackend | null = null,
): { fields: TrafficPolicyFields; problems: Problem[] } {
  const spec = rec(rec(raw).spec);
  const fields: TrafficPolicyFields = {};
  const problems: Problem[] = [];
  const secretData = (field: string, ref: unknown): Record<string, string> | null => {
    const name = text(rec(ref).name);
    const secret = name === undefined ? undefined : secrets.get(`${m.namespace}/${name}`);
    if (secret === undefined) {
      problems.push({
        reason: 'Invalid',
        message:
          name === undefined
            ? `${field}.secretRef.name is missing.`
            : `${field}: Secret ${m.namespace}/${name} not found.`,
      });
      return null;
    }
    const data = strMap(rec(secret).data);
    for (const k of Object.keys(data)) data[k] = Buffer.from(data[k], 'base64').toString('utf8');
    return data;
  };

  if (has(spec.ipFilter)) {
    const f = rec(spec.ipFilter);
    const allow = cidrs(arr(f.allow));
    const deny = cidrs(arr(f.deny));
    const bad = [...allow.bad, ...deny.bad];
    if (bad.length > 0) {
      problems.push({ reason: 'Invalid', message: `ipFilter: not a CIDR: ${bad.slice(0, 3).join(', ')}.` });
      fields.ipFilter = DENY_ALL;
    } else fields.ipFilter = { allow: allow.good, deny: deny.good };
  }

  if (spec.requestBodyLimit !== undefined) {
    const max = int(rec(spec.requestBodyLimit).maxBytes);
    if (max === undefined || max < 0) {
      problems.push({ reason: 'Invalid', message: 'requestBodyLimit.maxBytes must be an integer >= 0.' });
      fields.requestBodyLimit = 0;
    } else fields.requestBodyLimit = max;
  }

  if (has(spec.localRateLimit)) {
    const l = rec(spec.localRateLimit);
    const tokens = int(l.tokens);
    const interval = parseDuration(str(l.fillInterval) ?? '');
    if (tokens === undefined || tokens < 1 || interval === null || interval <= 0) {
      problems.push({
        reason: 'Invalid',
        message: 'localRateLimit needs tokens >= 1 and a fillInterval such as 1s.',
      });
      // Closed: one request per hour.
      fields.localRateLimit = { tokens: 1, fillIntervalMs: 3_600_000 };
    } else fields.localRateLimit = { tokens, fillIntervalMs: interval };
    const key = readRateLimitKey(l.key, has(spec.jwt), problems);
    if (key !== undefined) fields.localRateLimit.key = key;
  }

  if (has(spec.basicAuth)) {
    const b = rec(spec.basicAuth);
    const users: Record<string, string> = Object.create(null) as Record<string, string>;
    const data = secretData('basicAuth', b.secretRef);
    if (data !== null) {
      const htpasswd = data[HTPASSWD_KEY];
      if (htpasswd === undefined)
        problems.push({
          reason: 'Invalid',
          message: `basicAuth: Secret ${m.namespace}/${str(rec(b.secretRef).name)} has no key ${HTPASSWD_KEY}.`,
        });
      else {
        const read = readHtpasswd(htpasswd);
        Object.assign(users, read.users);
        if (read.badLines.length > 0)
          problems.push({
            reason: 'Invalid',
            message: `basicAuth: ${HTPASSWD_KEY} lines ${read.badLines.slice(0, 5).join(', ')} are not user:{SHA}base64.`,
          });
      }
    }
    fields.basicAuth = { realm: realmOf(str(b.realm)), users };
  }

  if (has(spec.apiKeyAuth)) {
    const a = rec(spec.apiKeyAuth);
    const header = (text(a.headerName) ?? DEFAULT_API_KEY_HEADER).toLowerCase();
    const data = secretData('apiKeyAuth', a.secretRef);
    const keys = new Set<string>();
    for (const v of Object.values(data ?? {})) {
      const key = v.trim();
      if (key !== '') keys.add(sha256(key));
    }
    if (!HEADER_NAME.test(header))
      problems.push({ reason: 'Invalid', message: `apiKeyAuth.headerName ${header} is not a header name.` });
    else if (data !== null && keys.size === 0)
      problems.push({ reason: 'Invalid', message: 'apiKeyAuth: the Secret holds no key.' });
    fields.apiKeyAuth = {
      header: HEADER_NAME.test(header) ? header : DEFAULT_API_KEY_HEADER,
      keys: HEADER_NAME.test(header) ? [...keys].sort() : [],
      stripHeader: a.stripHeader === true,
    };
  }

  if (has(spec.jwt)) fields.jwt = readJWT(spec.jwt, secretData, problems);
  if (has(spec.cors)) fields.cors = readCors(spec.cors, problems);
  if (has(spec.retry)) fields.retry = readRetry(spec.retry, problems);
  if (has(spec.timeouts)) fields.timeouts = readTimeouts(spec.timeouts, problems);
  if (has(spec.transformation)) fields.transformation = readTransformation(spec.transformation, problems);
  if (has(spec.oidc)) fields.oidc = readOIDC(spec.oidc, secretData, problems);
  if (spec.extAuth !== undefined) fields.extAuth = readExtAuth(spec.extAuth, m.namespace, resolve, problems);
  return { fields, problems };
}

/** Hex SHA-256 of an API key: the IR and the data plane compare digests, never keys. */
export function sha256(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

// A realm goes into a quoted-string of WWW-Authenticate: keep it to printable characters without quotes.
function realmOf(realm: string | undefined): string {
  const r = (realm ?? '').replace(/[^\x20-\x7e]|["\\]/g, '');
  return r === '' ? DEFAULT_REALM : r;
}

/** `user:{SHA}base64` lines (Apache htpasswd -s); blank lines and `#` comments are skipped. */
export function readHtpasswd(text: string): { users: Record<string, string>; badLines: number[] } {
  const users: Record<string, string> = Object.create(null) as Record<string, string>;
  const badLines: number[] = [];
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    const digest = hash.startsWith('{SHA}') ? Buffer.from(hash.slice(5), 'base64') : null;
    if (colon <= 0 || digest === null || digest.length !== 20) badLines.push(n + 1);
    else users[user] ??= digest.toString('base64');
  });
  return { users, badLines };
}

/** The CIDRs (a plain address is a /32 or /128) in canonical `address/bits` form, and the rest. */
function cidrs(values: readonly unknown[]): { good: string[]; bad: string[] } {
  const good: string[] = [];
  const bad: string[] = [];
  for (const v of values) {
    const c = typeof v === 'string' ? cidr(v) : null;
    if (c === null) bad.push(String(v));
    else good.push(c);
  }
  return { good, bad };
}

/** `value` as the IR keeps it (`a/32` for a bare address), or null when it is not a range. */
function cidr(value: string): string | null {
  const c = parseCIDR(value);
  if (c === null) return null;
  return value.includes('/') ? value : `${value}/${c.family === 4 && !value.includes(':') ? 32 : 128}`;
}
