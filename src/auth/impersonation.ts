import { GatewayError } from '../errors.ts';
import type { Identity } from '../request/types.ts';
import type { AccessAttributes, AccessDecision, AccessReviewer } from './access-review.ts';
import { backendError } from './backend-error.ts';
import { fromHeaderValue, goQuote } from './go-text.ts';
import {
  ALL_AUTHENTICATED,
  ALL_UNAUTHENTICATED,
  ANONYMOUS_USER,
  freezeIdentity,
  serviceAccountGroups,
  splitServiceAccountUsername,
} from './user.ts';

/** Request headers with lowercase names; a string[] keeps repeated lines apart (see `distinctHeaders`). */
export type HeaderMap = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The identity a client asks to act as, exactly as its Impersonate-* headers say (no defaulting). */
export interface ImpersonationRequest {
  user: string;
  uid: string;
  groups: readonly string[];
  extra: Readonly<Record<string, readonly string[]>>;
}

const EXTRA_PREFIX = 'impersonate-extra-';

function lines(v: string | readonly string[] | undefined): string[] {
  if (v === undefined) return [];
  return (typeof v === 'string' ? [v] : [...v]).map(fromHeaderValue);
}

/** url.PathUnescape; kube-apiserver keeps a key that does not unescape as it is. */
export function unescapeExtraKey(key: string): string {
  if (!key.includes('%')) return key;
  const bytes: number[] = [];
  const raw = Buffer.from(key, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x25) {
      bytes.push(raw[i]);
      continue;
    }
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) return key;
    bytes.push(parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

// fmt's %#v of the *user.DefaultInfo kube-apiserver puts in its BadRequest message.
function goDefaultInfo(r: {
  user: string;
  uid: string;
  groups: string[] | null;
  extra: Record<string, string[]> | null;
}) {
  const list = (l: readonly string[]) => `[]string{${l.map(goQuote).join(', ')}}`;
  const groups = r.groups === null ? '[]string(nil)' : list(r.groups);
  const e = r.extra;
  const extra =
    e === null
      ? 'map[string][]string(nil)'
      : `map[string][]string{${Object.keys(e)
          .sort()
          .map((k) => `${goQuote(k)}:${list(e[k])}`)
          .join(', ')}}`;
  return `&user.DefaultInfo{Name:${goQuote(r.user)}, UID:${goQuote(r.uid)}, Groups:${groups}, Extra:${extra}}`;
}

/**
 * Reads a client's Impersonate-User / -Uid / -Group / -Extra-<key> headers like kube-apiserver:
 * first line of user and uid, every line of group, extra keys lowercased then %-unescaped.
 * Returns null when no impersonation is asked for; throws 400 when a uid, group or extra comes
 * without a user.
 */
export function readImpersonation(headers: HeaderMap): ImpersonationRequest | null {
  const user = lines(headers['impersonate-user'])[0] ?? '';
  const uid = lines(headers['impersonate-uid'])[0] ?? '';
  const groupLines = headers['impersonate-group'];
  const groups = groupLines === undefined ? null : lines(groupLines);
  let extra: Record<string, string[]> | null = null;
  let hasExtra = false;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (!lower.startsWith(EXTRA_PREFIX) || value === undefined) continue;
    hasExtra = true;
    const values = lines(value);
    if (values.length === 0) continue;
    const key = unescapeExtraKey(lower.slice(EXTRA_PREFIX.length));
    extra ??= {};
    (extra[key] ??= []).push(...values);
  }
  const hasGroups = groups !== null && groups.length > 0;
  if (user === '') {
    if (uid !== '' || hasGroups || hasExtra) {
      const wanted = goDefaultInfo({ user, uid, groups: hasGroups ? groups : null, extra });
      throw new GatewayError(
        'KG_BAD_REQUEST',
        'BadRequest',
        `requested ${wanted} without impersonating a user name`,
      );
    }
    return null;
  }
  return { user, uid, groups: hasGroups ? groups : [], extra: extra ?? {} };
}

const sanitize = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

// responsewriters.ForbiddenStatusError, as an apierrors.NewForbidden message.
function forbidden(requester: Identity, a: AccessAttributes, d: AccessDecision): GatewayError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace ${goQuote(a.namespace)}` : 'at the cluster scope';
  let msg = sanitize(
    `User ${goQuote(requester.user)} cannot ${a.verb} resource ${goQuote(resource)} in API group ${goQuote(a.group)} ${scope}`,
  );
  const why = d.error && d.reason ? `${d.error}: ${d.reason}` : (d.error ?? d.reason ?? '');
  if (why) msg += `: ${why}`;
  const qualified = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${qualified} ${goQuote(a.name)}` : qualified;
  return new GatewayError('KG_IMPERSONATION_FORBIDDEN', 'Forbidden', `${subject} is forbidden: ${msg}`);
}

/**
 * Checks, in kube-apiserver's order (legacy `impersonate` verb), that `requester` may become
 * `requested`: the user (`users`, or `serviceaccounts` in its namespace for service-account
 * names), the uid (`uids`), each group (`groups`), each extra value (`userextras/<key>`). Stops
 * at the first denial with a 403 worded like kube-apiserver's. Returns the impersonated identity
 * with kube-apiserver's defaulting: a service account without requested groups gets its fixed
 * groups; `system:anonymous` gets `system:unauthenticated`; anyone else gets
 * `system:authenticated` unless `system:unauthenticated` was requested.
 */
export async function authorizeImpersonation(
  requester: Identity,
  requested: ImpersonationRequest,
  reviewer: AccessReviewer,
): Promise<Identity> {
  const check = async (attrs: AccessAttributes): Promise<void> => {
    let answer: boolean | AccessDecision;
    try {
      answer = await reviewer.allowed(requester, attrs);
    } catch (err) {
      throw backendError('access review', err);
    }
    const decision = typeof answer === 'boolean' ? { allowed: answer } : answer;
    if (!decision.allowed) throw forbidden(requester, attrs, decision);
  };
  const core = { verb: 'impersonate', group: '', version: 'v1' };
  const auth = { verb: 'impersonate', group: 'authentication.k8s.io', version: 'v1' };

  let groups = [...requested.groups];
  const sa = splitServiceAccountUsername(requested.user);
  if (sa) {
    if (groups.length === 0) groups = serviceAccountGroups(sa.namespace);
    await check({ ...core, resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name });
  } else {
    await check({ ...core, resource: 'users', name: requested.user });
  }
  if (requested.uid !== '') await check({ ...auth, resource: 'uids', name: requested.uid });
  for (const group of requested.groups) await check({ ...core, resource: 'groups', name: group });
  for (const [key, values] of Object.entries(requested.extra)) {
    for (const value of values)
      await check({ ...auth, resource: 'userextras', subresource: key, name: value });
  }

  if (requested.user === ANONYMOUS_USER) {
    if (!groups.includes(ALL_UNAUTHENTICATED)) groups.push(ALL_UNAUTHENTICATED);
  } else if (!groups.includes(ALL_UNAUTHENTICATED) && !groups.includes(ALL_AUTHENTICATED)) {
    groups.push(ALL_AUTHENTICATED);
  }
  return freezeIdentity({ user: requested.user, uid: requested.uid, groups, extra: requested.extra });
}
