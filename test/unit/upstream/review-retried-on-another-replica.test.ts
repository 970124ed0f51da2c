import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { constants, createSecureServer, type Http2SecureServer, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { KubeAPIError } from '../../../src/kube/client.ts';
import { createBalancer } from '../../../src/upstream/balancers/index.ts';
import { DEFAULT_HEALTH_CHECK } from '../../../src/upstream/health-check.ts';
import { UpstreamJSONClient } from '../../../src/upstream/review-client.ts';
import { Upstream } from '../../../src/upstream/upstream.ts';
import { testPKI } from '../helpers/pem-files.ts';

// The gateway's own reviews (TokenReview, and the SubjectAccessReview of a shared watch or cached
// list) went to one replica: one that was restarting failed the review, and the client's request
// was then forwarded or refused. A replica that resets the stream or answers 503 is a fault a real
// apiserver shows only for an instant, so these replicas are fakes; each answers /readyz, as a
// replica that has just begun to fail still does.
type Answer = 'reset' | 503 | 403 | 'review';
const servers: Http2SecureServer[] = [];
const reviews: Record<string, number> = {};
let tls: { ca: string; cert: Buffer; key: Buffer };

function replica(name: string, answer: Answer): Promise<string> {
  const server = createSecureServer({ cert: tls.cert, key: tls.key });
  reviews[name] = 0;
  server.on('stream', (s: ServerHttp2Stream, h) => {
    if (h[':path'] === '/readyz') {
      s.respond({ ':status': 200 });
      s.end('ok');
      return;
    }
    reviews[name]++;
    s.on('error', () => {}); // the reset this replica sends is reported on its own stream too
    s.resume();
    s.on('end', () => {
      if (answer === 'reset') s.close(constants.NGHTTP2_INTERNAL_ERROR);
      else if (typeof answer === 'number') {
        s.respond({ ':status': answer, 'content-type': 'application/json' });
        s.end(`{"kind":"Status","code":${answer}}`);
      } else {
        s.respond({ ':status': 201, 'content-type': 'application/json' });
        s.end(JSON.stringify({ kind: 'SubjectAccessReview', status: { allowed: true } }));
      }
    });
  });
  servers.push(server);
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () => r(`https://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

before(async () => {
  const pki = await testPKI();
  const pair = await pki.issue('upstream');
  tls = {
    ca: await readFile(pki.ca.cert, 'utf8'),
    cert: await readFile(pair.cert),
    key: await readFile(pair.key),
  };
});
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

async function upstreamOf(answers: Record<string, Answer>): Promise<Upstream> {
  const eps = [];
  for (const [name, answer] of Object.entries(answers)) eps.push({ name, url: await replica(name, answer) });
  const up = new Upstream(eps, createBalancer('round-robin'), {
    tls: { ca: tls.ca },
    pingIntervalMs: 30_000,
    health: DEFAULT_HEALTH_CHECK,
  });
  await up.start();
  return up;
}

const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: {} };
const PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

for (const fault of ['reset', 503] as const)
  test(`a review a replica answers with ${fault === 'reset' ? 'a reset stream' : '503'} is answered by another replica`, async () => {
    const bad = `bad-${fault}`;
    const good = `good-${fault}`;
    const up = await upstreamOf({ [bad]: fault, [good]: 'review' });
    try {
      const client = new UpstreamJSONClient(
        () => up,
        () => undefined,
      );
      // Round robin starts every other call on the failing replica.
      for (let i = 0; i < 4; i++) {
        const r = await client.json<{ status: { allowed: boolean } }>('POST', PATH, review);
        assert.equal(r.status.allowed, true, `call ${i}`);
      }
      assert.ok(reviews[bad] > 0, JSON.stringify(reviews));
      assert.equal(reviews[good], 4, 'each call answered by the good replica');
    } finally {
      up.close();
    }
  });

test('a review is asked at most twice: two failing replicas give the second one’s error', async () => {
  const up = await upstreamOf({ reset2: 'reset', busy2: 503 });
  try {
    const client = new UpstreamJSONClient(
      () => up,
      () => undefined,
    );
    const before = reviews.reset2 + reviews.busy2;
    const err = await client.json('POST', PATH, review).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof Error, 'the call fails');
    assert.equal(reviews.reset2 + reviews.busy2 - before, 2, 'one call, two replicas asked');
    assert.equal(reviews.reset2, 1);
    assert.equal(reviews.busy2, 1);
    // Whichever replica came second decides what the caller sees.
    assert.ok(
      (err instanceof KubeAPIError && err.status === 503) ||
        /closed without an answer|RST_STREAM|stream/i.test(err.message),
      String(err),
    );
  } finally {
    up.close();
  }
});

test('a 403 from a replica is the answer: not asked again', async () => {
  const up = await upstreamOf({ denied: 403 });
  try {
    const client = new UpstreamJSONClient(
      () => up,
      () => undefined,
    );
    const err = await client.json('POST', PATH, review).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof KubeAPIError && err.status === 403, String(err));
    assert.equal(reviews.denied, 1, 'asked once');
  } finally {
    up.close();
  }
});
