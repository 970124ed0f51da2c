import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { after, before, test } from 'node:test';
import { Authenticator } from '../../../src/auth/authenticator.ts';
import { FrontProxyAuthenticator } from '../../../src/auth/front-proxy.ts';
import { createCA, issueCert } from '../../../src/dev/pki.ts';
import { GatewayError } from '../../../src/errors.ts';

// The certificates are real (openssl); the authenticator sees them as the TLS layer would hand
// them over after verifying the chain against the client CA and the front-proxy CA together.
let dir = '';
let frontProxyCA = '';
let proxy: PeerCertificate; // front-proxy CA, CN front-proxy-client
let stranger: PeerCertificate; // front-proxy CA, CN someone-else
let alice: PeerCertificate; // client CA, CN alice
let forged: PeerCertificate; // a CA named like the front-proxy CA, other key

const peer = async (file: string) => new X509Certificate(await readFile(file)).toLegacyObject();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kg-front-proxy-'));
  const ca = await createCA(dir, 'ca', 'client-ca');
  const fp = await createCA(dir, 'fp', 'front-proxy-ca');
  const fake = await createCA(join(dir, 'fake'), 'fp', 'front-proxy-ca');
  frontProxyCA = await readFile(fp.cert, 'utf8');
  proxy = await peer((await issueCert(dir, 'p', fp, { cn: 'front-proxy-client', usage: 'client' })).cert);
  stranger = await peer((await issueCert(dir, 's', fp, { cn: 'someone-else', usage: 'client' })).cert);
  alice = await peer((await issueCert(dir, 'a', ca, { cn: 'alice', orgs: ['dev'], usage: 'client' })).cert);
  forged = await peer(
    (await issueCert(join(dir, 'fake'), 'p', fake, { cn: 'front-proxy-client', usage: 'client' })).cert,
  );
});

after(() => rm(dir, { recursive: true, force: true }));

const headers = (...lines: string[]) => lines;
const is401 = (err: unknown) => err instanceof GatewayError && err.status === 401;

test('the identity comes from X-Remote-* lines, one group per line, extra keys lowercased then unescaped', () => {
  const a = new FrontProxyAuthenticator({
    ca: frontProxyCA,
    allowedNames: ['front-proxy-client'],
    uidHeaders: ['X-Remote-Uid'],
  });
  assert.ok(a.isFrontProxyCertificate(proxy));
  const id = a.authenticate(
    proxy,
    headers(
      'X-Remote-User', 'hub-user',
      'x-remote-uid', 'u-1',
      'X-Remote-Group', 'ops, dev',
      'X-Remote-Group', 'system:authenticated',
      'X-Remote-Extra-Scopes', 'a',
      'x-remote-extra-scopes', 'b',
      'X-Remote-Extra-Foo%2fBar', 'c',
    ), // prettier-ignore
  );
  assert.deepEqual(id, {
    user: 'hub-user',
    uid: 'u-1',
    groups: ['ops, dev', 'system:authenticated'],
    extra: { scopes: ['a', 'b'], 'foo/bar': ['c'] },
  });
});

test('system:authenticated is added when the proxy did not send it; the first user line counts, as Go’s Header.Get', () => {
  const a = new FrontProxyAuthenticator({ ca: frontProxyCA });
  const id = a.authenticate(proxy, headers('X-Remote-User', 'bob', 'X-Remote-User', 'eve'));
  assert.equal(id?.user, 'bob');
  assert.deepEqual(id?.groups, ['system:authenticated']);
  assert.equal(a.authenticate(proxy, headers('X-Remote-User', '', 'X-Remote-User', 'eve')), null);
});

test('no uid header is believed unless configured (kube-apiserver’s default)', () => {
  const a = new FrontProxyAuthenticator({ ca: frontProxyCA });
  assert.equal(a.authenticate(proxy, headers('X-Remote-User', 'bob', 'X-Remote-Uid', 'u-9'))?.uid, '');
});

test('configured header names are read instead of the defaults', () => {
  const a = new FrontProxyAuthenticator({
    ca: frontProxyCA,
    usernameHeaders: ['X-Remote-Uid'],
    groupHeaders: ['X-Remote-Extra-G'],
    extraHeaderPrefixes: ['X-Remote-Extra-K-'],
  });
  const id = a.authenticate(
    proxy,
    headers(
      'X-Remote-User',
      'ignored',
      'X-Remote-Uid',
      'carol',
      'X-Remote-Extra-G',
      'g1',
      'X-Remote-Extra-K-z',
      'v',
    ),
  );
  assert.equal(id?.user, 'carol');
  assert.deepEqual(id?.groups, ['g1', 'system:authenticated']);
  assert.deepEqual(id?.extra, { z: ['v'] });
});

test('a certificate of another CA (even one named like the front-proxy CA) is not a front proxy', () => {
  const a = new FrontProxyAuthenticator({ ca: frontProxyCA });
  assert.equal(a.isFrontProxyCertificate(alice), false);
  assert.equal(a.isFrontProxyCertificate(forged), false);
});

test('a front-proxy certificate whose CN is not allowed is 401', () => {
  const a = new FrontProxyAuthenticator({ ca: frontProxyCA, allowedNames: ['front-proxy-client'] });
  assert.ok(a.isFrontProxyCertificate(stranger));
  assert.throws(() => a.authenticate(stranger, headers('X-Remote-User', 'admin')), is401);
});

test('Authenticator: X-Remote-* from a client-CA certificate are ignored: the request is its CN', async () => {
  const a = new Authenticator({ frontProxy: new FrontProxyAuthenticator({ ca: frontProxyCA }) });
  const id = await a.authenticate({
    certificate: alice,
    rawHeaders: headers('X-Remote-User', 'kubegate-admin', 'X-Remote-Group', 'system:masters'),
  });
  assert.equal(id.user, 'alice');
  assert.deepEqual(id.groups, ['dev', 'system:authenticated']);
});

test('Authenticator: without front-proxy configuration the proxy certificate is only its CN, headers ignored', async () => {
  const a = new Authenticator();
  const id = await a.authenticate({
    certificate: proxy,
    rawHeaders: headers('X-Remote-User', 'kubegate-admin'),
  });
  assert.equal(id.user, 'front-proxy-client');
});

test('Authenticator: the front proxy’s certificate never authenticates as its own CN', async () => {
  const a = new Authenticator({
    frontProxy: new FrontProxyAuthenticator({ ca: frontProxyCA, allowedNames: ['front-proxy-client'] }),
    anonymous: true,
  });
  await assert.rejects(a.authenticate({ certificate: proxy, rawHeaders: [] }), is401);
  await assert.rejects(
    a.authenticate({ certificate: stranger, rawHeaders: headers('X-Remote-User', 'admin') }),
    is401,
  );
  const id = await a.authenticate({ certificate: proxy, rawHeaders: headers('X-Remote-User', 'hub-user') });
  assert.equal(id.user, 'hub-user');
});

test('the CA bundle must hold a certificate', () => {
  assert.throws(() => new FrontProxyAuthenticator({ ca: 'not pem' }), /no PEM certificate/);
});
