import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { promisify } from 'node:util';
import { createCA, issueCert, loadCert } from '../../../src/dev/pki.ts';
import { GatewayError } from '../../../src/errors.ts';
import { identityFromCertificate } from '../../../src/auth/x509.ts';

const run = promisify(execFile);

// A self-signed certificate with an arbitrary openssl -subj, read the way Node's TLS layer reports it.
async function selfSigned(subj: string): Promise<PeerCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'kg-x509-'));
  try {
    const cert = join(dir, 'c.pem');
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', join(dir, 'k.pem'), '-out', cert, '-days', '1', '-subj', subj,
    ]); // prettier-ignore
    return new X509Certificate(await readFile(cert)).toLegacyObject();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fingerprint(cert: PeerCertificate): string {
  return `X509SHA256=${createHash('sha256').update(cert.raw).digest('hex')}`;
}

test('a verified client certificate from a real TLS handshake maps CN/O to user/groups', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kg-x509-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await createCA(dir, 'ca', 'test-ca');
  const server = await loadCert(
    await issueCert(dir, 'server', ca, { cn: 'localhost', usage: 'server', ips: ['127.0.0.1'] }),
  );
  const client = await loadCert(
    await issueCert(dir, 'alice', ca, { cn: 'alice', orgs: ['dev', 'ops'], usage: 'client' }),
  );
  const caPem = await readFile(ca.cert, 'utf8');

  const seen = new Promise<{ authorized: boolean; cert: PeerCertificate }>((resolve) => {
    const srv = createServer(
      { ...server, ca: caPem, requestCert: true, rejectUnauthorized: true },
      (socket) => {
        resolve({ authorized: socket.authorized, cert: socket.getPeerCertificate() });
        socket.end();
        srv.close();
      },
    );
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = connect({ host: '127.0.0.1', port, ca: caPem, ...client }, () => c.resume());
      c.on('error', () => {});
    });
  });
  const { authorized, cert } = await seen;
  assert.equal(authorized, true);

  const identity = identityFromCertificate(cert);
  assert.deepEqual(identity, {
    user: 'alice',
    uid: '',
    groups: ['dev', 'ops', 'system:authenticated'],
    extra: { 'authentication.kubernetes.io/credential-id': [fingerprint(cert)] },
  });
  assert.ok(Object.isFrozen(identity));
});

test('a single O value (a string in Node) is one group', async () => {
  const cert = await selfSigned('/O=admins/CN=bob');
  assert.deepEqual(identityFromCertificate(cert)?.groups, ['admins', 'system:authenticated']);
});

test('no O gives only system:authenticated; it is not added twice', async () => {
  assert.deepEqual(identityFromCertificate(await selfSigned('/CN=carol'))?.groups, ['system:authenticated']);
  const already = await selfSigned('/O=system:authenticated/O=x/CN=dave');
  assert.deepEqual(identityFromCertificate(already)?.groups, ['system:authenticated', 'x']);
  const unauth = await selfSigned('/O=system:unauthenticated/CN=erin');
  assert.deepEqual(identityFromCertificate(unauth)?.groups, ['system:unauthenticated']);
});

test('the subject UID attribute becomes the uid', async () => {
  const identity = identityFromCertificate(await selfSigned('/O=g/CN=frank/UID=1234-abcd'));
  assert.equal(identity?.uid, '1234-abcd');
});

test('several UID attributes are an authentication error', async () => {
  const cert = await selfSigned('/CN=grace/UID=a/UID=b');
  assert.throws(
    () => identityFromCertificate(cert),
    (err: unknown) =>
      err instanceof GatewayError && err.code === 'KG_UNAUTHENTICATED' && /multiple/.test(err.message),
  );
});

test('with several CNs the last one wins, like Go', async () => {
  assert.equal(identityFromCertificate(await selfSigned('/CN=first/CN=last'))?.user, 'last');
});

test('a certificate without CN, or no certificate, is no identity', async () => {
  assert.equal(identityFromCertificate(await selfSigned('/O=orphans')), null);
  assert.equal(identityFromCertificate(null), null);
  assert.equal(identityFromCertificate(undefined), null);
  // getPeerCertificate() returns {} when the client sent none
  assert.equal(identityFromCertificate({} as PeerCertificate), null);
});
