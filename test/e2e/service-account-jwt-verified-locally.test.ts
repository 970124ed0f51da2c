import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SA_ISSUER } from '../../src/dev/flags.ts';
import { kubectl } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// With TokenReview off, only the local check against the cluster's JWKS can accept a
// service-account token: a token the apiserver issued passes, a forged or foreign one is a 401.
const NS = 'kg-jwt';
let gw: OwnGateway;
let token: string;

before(async () => {
  await kubectl('apiserver-0.kubeconfig', ['create', 'namespace', NS]).catch(() => '');
  await kubectl('apiserver-0.kubeconfig', ['create', 'serviceaccount', 'reader', '-n', NS]).catch(() => '');
  await kubectl('apiserver-0.kubeconfig', [
    'create',
    'rolebinding',
    'reader',
    '-n',
    NS,
    '--clusterrole=view',
    `--serviceaccount=${NS}:reader`,
  ]).catch(() => '');
  token = (
    await kubectl('apiserver-0.kubeconfig', ['create', 'token', 'reader', '-n', NS, '--duration=1h'])
  ).trim();
  gw = await OwnGateway.start({
    authentication: { tokenReview: { enabled: false }, serviceAccountJWT: { issuers: [SA_ISSUER] } },
  });
});

after(async () => {
  await gw?.stop();
  await kubectl('apiserver-0.kubeconfig', ['delete', 'namespace', NS, '--wait=false']).catch(() => '');
});

test('a service-account token is verified against the JWKS without TokenReview; others are 401', async () => {
  const s = gw.session(gw.url, 'none');
  try {
    const ok = await h2request(s, `/api/v1/namespaces/${NS}/configmaps`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(ok.status, 200, ok.body);
    // The access log is written asynchronously: wait for the line.
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      line = gw.logs().find((l) => l.kind === 'access' && l.status === 200 && String(l.uri).includes(NS));
      if (!line) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(
      (line?.user as { username: string } | undefined)?.username,
      `system:serviceaccount:${NS}:reader`,
    );

    const [h, p, sig] = token.split('.');
    const forged = `${h}.${p}.${sig.slice(0, -4)}AAAA`;
    const bad = await h2request(s, `/api/v1/namespaces/${NS}/configmaps`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    assert.equal(bad.status, 401);
    assert.equal((JSON.parse(bad.body) as { reason: string }).reason, 'Unauthorized');
    const opaque = await h2request(s, '/api', { headers: { authorization: 'Bearer not-a-jwt' } });
    assert.equal(opaque.status, 401, 'no TokenReview to fall back to');
  } finally {
    s.close();
  }
});
