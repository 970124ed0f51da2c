import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { devDir, devState, kubectl } from '../env.ts';
import { h2request, OwnGateway } from '../own-gateway.ts';
import { viewerServiceAccount } from '../users.ts';
import { auditEvents, effectiveUser, marker } from './raw.ts';

// A real service-account token (TokenRequest), revoked by deleting its ServiceAccount: the gateway
// may keep serving it from its TokenReview cache for at most successTTLSeconds, then 401. The
// clock starts at the deletion. The slack is kube-apiserver's own token cache: every apiserver
// caches a successful token authentication for --token-success-cache-ttl (10 s by default), so
// the TokenReview the gateway sends may still succeed that long after the revocation; plus 2 s.
const TTL_S = 3;
const APISERVER_TOKEN_CACHE_MS = 10_000;
const SLACK_MS = APISERVER_TOKEN_CACHE_MS + 2_000;
const id = process.pid;
const ns = `adv-revoke-${id}`;
const SA = `system:serviceaccount:${ns}:robot`;
let gw: OwnGateway;
let token = '';

before(async () => {
  gw = await OwnGateway.start({
    authentication: { tokenReview: { successTTLSeconds: TTL_S, failureTTLSeconds: 1 } },
  });
  token = await viewerServiceAccount(ns, 'robot', `adv-revoke-nobody-${id}`);
});
after(() => gw.stop());

test(`a revoked service-account token is refused within the TokenReview success TTL (${TTL_S}s), on a kept connection too`, async () => {
  const mark = marker('revoked');
  const ca = readFileSync(join(devDir(), 'pki', 'ca.crt'));
  // One connection for the whole test: the per-connection token memo must not outlive the cache.
  const s = connect(gw.url, { ca });
  const direct = connect(devState().apiservers[0], { ca });
  try {
    const get = (session = s) =>
      h2request(session, `/api/v1/namespaces/${ns}/configmaps?labelSelector=${mark}`, {
        headers: { authorization: `Bearer ${token}`, 'user-agent': mark },
      });
    assert.equal((await get()).status, 200, 'the token works before the revocation');
    await kubectl('apiserver-0.kubeconfig', ['-n', ns, 'delete', 'serviceaccount', 'robot']);
    const revokedAt = Date.now();

    // Bounded poll: the apiserver itself refuses the token once its informer saw the deletion.
    let apiserverRefused = 0;
    while (apiserverRefused === 0 && Date.now() - revokedAt < SLACK_MS) {
      if ((await get(direct)).status === 401) apiserverRefused = Date.now();
      else await sleep(100);
    }
    assert.ok(apiserverRefused > 0, 'the apiserver refuses the revoked token');

    let refusedAt = 0;
    while (refusedAt === 0 && Date.now() - revokedAt < TTL_S * 1000 + SLACK_MS) {
      const r = await get();
      if (r.status === 401) {
        assert.equal(JSON.parse(r.body).reason, 'Unauthorized');
        refusedAt = Date.now();
      } else {
        assert.equal(r.status, 200, r.body);
        await sleep(200);
      }
    }
    assert.ok(refusedAt > 0, `still accepted ${TTL_S * 1000 + SLACK_MS} ms after the revocation`);
    for (let i = 0; i < 3; i++) assert.equal((await get()).status, 401, 'and refused from then on');

    // Audit: every request the gateway let through ran as the service account, and none was
    // received later than the TTL (plus the apiserver's own lag) after the revocation.
    await sleep(200);
    const viaGateway = auditEvents(mark).filter((e) => e.impersonatedUser !== undefined);
    assert.ok(viaGateway.length >= 1);
    const limit = revokedAt + TTL_S * 1000 + SLACK_MS;
    for (const e of viaGateway) {
      assert.equal(effectiveUser(e), SA);
      const received = Date.parse(
        (e as unknown as { requestReceivedTimestamp: string }).requestReceivedTimestamp,
      );
      assert.ok(received <= limit, `served ${received - revokedAt} ms after the revocation`);
    }
  } finally {
    s.close();
    direct.close();
  }
});
