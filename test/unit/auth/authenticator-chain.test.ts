import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { GatewayError } from '../../../src/errors.ts';
import type { Identity } from '../../../src/request/types.ts';
import { Authenticator } from '../../../src/auth/authenticator.ts';
import type { TokenAuthenticator } from '../../../src/auth/authenticator.ts';
import type { AccessReviewer } from '../../../src/auth/access-review.ts';
import { parseBearer } from '../../../src/auth/bearer.ts';

const run = promisify(execFile);

async function clientCert(subj: string): Promise<PeerCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'kg-authn-'));
  try {
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', subj,
    ]); // prettier-ignore
    return new X509Certificate(await readFile(join(dir, 'c.pem'))).toLegacyObject();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const user = (name: string): Identity => ({ user: name, uid: '', groups: ['g'], extra: {} });

// A token authenticator that knows some tokens, rejects some, and logs what it saw.
function tokens(name: string, known: Record<string, string>, rejected: string[] = []) {
  const seen: string[] = [];
  const t: TokenAuthenticator = {
    async authenticateToken(token) {
      seen.push(token);
      if (rejected.includes(token))
        throw new GatewayError('KG_UNAUTHENTICATED', 'Unauthorized', `${name} rejected`);
      return known[token] ? user(known[token]) : null;
    },
  };
  return { t, seen };
}

const is401 = (err: unknown) =>
  err instanceof GatewayError &&
  err.code === 'KG_UNAUTHENTICATED' &&
  err.status === 401 &&
  err.message === 'Unauthorized';

test('a client certificate wins over a bearer token', async () => {
  const review = tokens('review', { tok: 'token-user' });
  const a = new Authenticator({ tokenReview: review.t });
  const identity = await a.authenticate({
    certificate: await clientCert('/O=ops/CN=cert-user'),
    authorization: 'Bearer tok',
  });
  assert.equal(identity.user, 'cert-user');
  assert.deepEqual(identity.groups, ['ops', 'system:authenticated']);
  assert.deepEqual(review.seen, []);
});

test('a certificate without CN falls through to the token', async () => {
  const review = tokens('review', { tok: 'token-user' });
  const a = new Authenticator({ tokenReview: review.t });
  const identity = await a.authenticate({
    certificate: await clientCert('/O=ops'),
    authorization: 'Bearer tok',
  });
  assert.equal(identity.user, 'token-user');
  assert.deepEqual(identity.groups, ['g', 'system:authenticated']);
});

test('the local service-account verifier goes first; TokenReview only when it does not recognise the token', async () => {
  const sa = tokens('sa', { 'sa-tok': 'system:serviceaccount:ns:sa' });
  const review = tokens('review', { 'oidc-tok': 'oidc-user' });
  const a = new Authenticator({ serviceAccountJWT: sa.t, tokenReview: review.t });
  assert.equal(
    (await a.authenticate({ authorization: 'Bearer sa-tok' })).user,
    'system:serviceaccount:ns:sa',
  );
  assert.deepEqual(review.seen, []);
  assert.equal((await a.authenticate({ authorization: 'Bearer oidc-tok' })).user, 'oidc-user');
  assert.deepEqual(sa.seen, ['sa-tok', 'oidc-tok']);
});

test('a token the local verifier rejects is a 401 without asking TokenReview', async () => {
  const sa = tokens('sa', {}, ['expired']);
  const review = tokens('review', { expired: 'someone' });
  const a = new Authenticator({ serviceAccountJWT: sa.t, tokenReview: review.t });
  await assert.rejects(a.authenticate({ authorization: 'Bearer expired' }), is401);
  assert.deepEqual(review.seen, []);
});

test('no credentials: 401, or system:anonymous when anonymous is on', async () => {
  await assert.rejects(new Authenticator().authenticate({}), is401);
  const anon = await new Authenticator({ anonymous: true }).authenticate({});
  assert.deepEqual(anon, {
    user: 'system:anonymous',
    uid: '',
    groups: ['system:unauthenticated'],
    extra: {},
  });
});

test('an invalid token is a 401 even with anonymous on', async () => {
  const a = new Authenticator({ anonymous: true, tokenReview: tokens('review', {}).t });
  await assert.rejects(a.authenticate({ authorization: 'Bearer nope' }), (err: unknown) => {
    return (
      is401(err) && /invalid bearer token/.test(String(((err as Error).cause as AggregateError).errors[0]))
    );
  });
});

test('a certificate that failed verification blocks anonymous access', async () => {
  const a = new Authenticator({ anonymous: true });
  await assert.rejects(
    a.authenticate({ certificateError: new Error('UNABLE_TO_VERIFY_LEAF_SIGNATURE') }),
    is401,
  );
});

test('a malformed certificate (two UIDs) does not stop a valid token', async () => {
  const a = new Authenticator({ anonymous: true, tokenReview: tokens('review', { tok: 'bob' }).t });
  const cert = await clientCert('/CN=x/UID=1/UID=2');
  assert.equal((await a.authenticate({ certificate: cert, authorization: 'Bearer tok' })).user, 'bob');
  await assert.rejects(a.authenticate({ certificate: cert }), is401);
});

test('headers that carry no bearer token leave room for anonymous', async () => {
  const review = tokens('review', {});
  const a = new Authenticator({ anonymous: true, tokenReview: review.t });
  const warnings: string[] = [];
  for (const authorization of ['', '   ', 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer  tok']) {
    const identity = await a.authenticate({ authorization, warn: (w) => warnings.push(w) });
    assert.equal(identity.user, 'system:anonymous', JSON.stringify(authorization));
  }
  assert.deepEqual(review.seen, []);
  assert.deepEqual(warnings, [
    'the provided Authorization header contains extra space before the bearer token, and is ignored',
  ]);
});

test('with no token authenticator configured a bearer token is ignored', async () => {
  const identity = await new Authenticator({ anonymous: true }).authenticate({ authorization: 'Bearer tok' });
  assert.equal(identity.user, 'system:anonymous');
});

test('bearer parsing matches kube-apiserver', () => {
  assert.deepEqual(parseBearer('Bearer abc'), { token: 'abc' });
  assert.deepEqual(parseBearer('bEaReR abc'), { token: 'abc' });
  assert.deepEqual(parseBearer('  Bearer abc \t'), { token: 'abc' });
  assert.deepEqual(parseBearer('Bearer abc def'), { token: 'abc' }); // the rest is ignored
  assert.deepEqual(parseBearer('Bearer\tabc'), { token: null }); // only a space separates
  // Go trims Unicode spaces of the UTF-8 text; Node hands the header bytes over as latin1
  const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
  assert.deepEqual(parseBearer(utf8('\u00a0Bearer abc\u0085')), { token: 'abc' });
  assert.deepEqual(parseBearer('\u00a0Bearer abc'), { token: null }); // a lone 0xA0 byte is not UTF-8 space
  assert.deepEqual(parseBearer(undefined), { token: null });
});

test('a backend failure is not turned into a 401', async () => {
  const failing: TokenAuthenticator = {
    async authenticateToken() {
      throw new GatewayError('KG_AUTH_BACKEND', 'ServiceUnavailable', 'token review backend unavailable');
    },
  };
  await assert.rejects(
    new Authenticator({ tokenReview: failing, anonymous: true }).authenticate({ authorization: 'Bearer x' }),
    (err: unknown) => err instanceof GatewayError && err.code === 'KG_AUTH_BACKEND',
  );
});

test('impersonation is applied after authentication, as the authenticated user', async () => {
  const asked: Array<{ user: string; resource: string; name: string }> = [];
  const access: AccessReviewer = {
    async allowed(u, attrs) {
      asked.push({ user: u.user, resource: attrs.resource, name: attrs.name });
      return true;
    },
  };
  const a = new Authenticator({ tokenReview: tokens('review', { tok: 'alice' }).t, accessReviewer: access });
  const identity = await a.authenticate({
    authorization: 'Bearer tok',
    headers: { 'impersonate-user': 'bob', 'impersonate-group': ['devs'] },
  });
  assert.deepEqual(identity, { user: 'bob', uid: '', groups: ['devs', 'system:authenticated'], extra: {} });
  assert.deepEqual(asked, [
    { user: 'alice', resource: 'users', name: 'bob' },
    { user: 'alice', resource: 'groups', name: 'devs' },
  ]);
});

test('impersonation errors: 401 before 400, 400 for a group without user, 403 without a reviewer', async () => {
  const review = tokens('review', { tok: 'alice' }).t;
  const bad = { 'impersonate-group': 'devs' };
  await assert.rejects(new Authenticator({ tokenReview: review }).authenticate({ headers: bad }), is401);
  await assert.rejects(
    new Authenticator({ tokenReview: review }).authenticate({ authorization: 'Bearer tok', headers: bad }),
    (err: unknown) => err instanceof GatewayError && err.code === 'KG_BAD_REQUEST',
  );
  await assert.rejects(
    new Authenticator({ tokenReview: review }).authenticate({
      authorization: 'Bearer tok',
      headers: { 'impersonate-user': 'bob' },
    }),
    (err: unknown) => err instanceof GatewayError && err.code === 'KG_IMPERSONATION_FORBIDDEN',
  );
});

test('a denied impersonation is a 403 shaped like kube-apiserver’s', async () => {
  const a = new Authenticator({
    tokenReview: tokens('review', { tok: 'alice' }).t,
    accessReviewer: { allowed: async () => false },
  });
  await assert.rejects(
    a.authenticate({ authorization: 'Bearer tok', headers: { 'impersonate-user': 'system:admin' } }),
    (err: unknown) =>
      err instanceof GatewayError &&
      err.status === 403 &&
      err.message ===
        'users "system:admin" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
  );
});
