import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubeClient } from '../../src/kube/client.ts';
import { devDir, devState } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

// 100 rule changes, half through the configuration file and half through an UpstreamCluster
// object, while 200 requests a second run through both listeners: no request may fail because
// of a reload, and each change must become visible. How soon is reported here, not asserted (a
// timing bound fails on a busy machine; `npm run bench -- reload` measures it).
const NS = 'kg-reload';
const CRD_CLUSTER = 'e2e-crd';
const UC = `/apis/kubegate.io/v1alpha1/upstreamclusters/${CRD_CLUSTER}`;
let gw: OwnGateway;
let admin: KubeClient;

function markerRule(i: number) {
  return {
    name: 'marker',
    match: { resources: ['configmaps'], names: [`probe-${i}`] },
    action: 'deny',
    deny: { code: 403, message: `change ${i}` },
  };
}

function crdSpec(rules: unknown[]) {
  return {
    endpoints: devState().apiservers.map((url, i) => ({ name: `apiserver-${i}`, url })),
    upstreamCA: { secretRef: { namespace: NS, name: 'upstream-ca' } },
    credentials: { secretRef: { namespace: NS, name: 'gateway-credentials' } },
    healthCheck: { intervalSeconds: 1, timeoutSeconds: 1 },
    rules,
  };
}

interface UCStatus {
  metadata: { generation: number };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

before(async () => {
  const d = devDir();
  const pem = (f: string) => readFileSync(join(d, 'pki', f), 'utf8');
  admin = new KubeClient({
    server: devState().apiservers[0],
    ca: pem('ca.crt'),
    cert: pem('admin.crt'),
    key: pem('admin.key'),
  });
  await admin.raw('DELETE', UC);
  await admin.apply('/api/v1/namespaces', { metadata: { name: NS } });
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await admin.apply(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: 'upstream-ca' },
    data: { 'ca.crt': b64(pem('ca.crt')) },
  } as never);
  await admin.apply(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: 'gateway-credentials' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(pem('gateway-upstream.crt')), 'tls.key': b64(pem('gateway-upstream.key')) },
  } as never);
  await admin.apply(`/api/v1/namespaces/${NS}/configmaps`, {
    metadata: { name: 'base' },
    data: { a: 'b' },
  } as never);
  await admin.json('POST', '/apis/kubegate.io/v1alpha1/upstreamclusters', {
    apiVersion: 'kubegate.io/v1alpha1',
    kind: 'UpstreamCluster',
    metadata: { name: CRD_CLUSTER },
    spec: crdSpec([markerRule(-1)]),
  });
  gw = await OwnGateway.start({ rules: [markerRule(-1)] }, { crdCluster: CRD_CLUSTER });
});

after(async () => {
  await gw?.stop();
  await admin.raw('DELETE', UC);
  await admin.raw('DELETE', `/api/v1/namespaces/${NS}`);
  admin.close();
});

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** ms until a probe of change i answers that change's 403 on `s`. */
async function visible(s: ClientHttp2Session, i: number, since: number): Promise<number> {
  try {
    return await until(`change ${i}`, 5000, async () => {
      const r = await h2request(s, `/api/v1/namespaces/${NS}/configmaps/probe-${i}`);
      return r.status === 403 && r.body.includes(`change ${i}`) ? Date.now() - since : undefined;
    });
  } catch (err) {
    const events = gw
      .logs()
      .filter((l) => l.kind !== 'access')
      .slice(-30);
    throw new Error(`${(err as Error).message}; last gateway events: ${JSON.stringify(events)}`, {
      cause: err,
    });
  }
}

test('100 rule changes (file and UpstreamCluster) under 200 req/s: no failed request, each becomes visible', async (t) => {
  const main = gw.session();
  const crd = gw.session(gw.crdURL!);
  const probeMain = gw.session();
  const probeCRD = gw.session(gw.crdURL!);
  try {
    await until('the UpstreamCluster cluster serving', 15_000, async () =>
      (await h2request(crd, `/api/v1/namespaces/${NS}/configmaps/base`)).status === 200 ? true : undefined,
    );
    let sent = 0;
    const failures: string[] = [];
    let load = true;
    // Open loop: requests go out on schedule (200/s) whether or not earlier ones have answered.
    const pending: Promise<void>[] = [];
    const loadStart = Date.now();
    const loadDone = (async () => {
      while (load) {
        const due = Math.floor(((Date.now() - loadStart) / 1000) * 200);
        for (; sent < due; sent++) {
          const s = sent % 2 === 0 ? main : crd;
          pending.push(
            h2request(s, `/api/v1/namespaces/${NS}/configmaps/base`).then(
              (r) => void (r.status !== 200 && failures.push(`${r.status} ${r.body.slice(0, 200)}`)),
              (e: Error) => void failures.push(e.message),
            ),
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all(pending);
    })();

    const latencies = { file: [] as number[], crd: [] as number[] };
    const started = Date.now();
    try {
      for (let i = 0; i < 100; i++) {
        const since = Date.now();
        if (i % 2 === 0) {
          await gw.write({ rules: [markerRule(i)] }, CRD_CLUSTER);
          latencies.file.push(await visible(probeMain, i, since));
        } else {
          await admin.json('PATCH', UC, { spec: { rules: [markerRule(i)] } });
          latencies.crd.push(await visible(probeCRD, i, since));
        }
        // 100 changes spread over at least 30 s of load
        await new Promise((r) => setTimeout(r, Math.max(0, started + (i + 1) * 300 - Date.now())));
      }
    } finally {
      load = false;
      await loadDone;
    }
    const seconds = (Date.now() - started) / 1000;
    const stats = (l: number[]) =>
      `max ${Math.max(...l)} ms, median ${[...l].sort((a, b) => a - b)[l.length >> 1]} ms`;
    t.diagnostic(
      `${sent} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)}/s), ${failures.length} failed`,
    );
    t.diagnostic(
      `file changes visible: ${stats(latencies.file)}; UpstreamCluster changes: ${stats(latencies.crd)}`,
    );
    assert.deepEqual(failures, []);
    assert.ok(seconds >= 30 && sent / seconds >= 190, `load ran ≥30 s at ~200/s (${sent} in ${seconds}s)`);
    assert.equal(latencies.file.length + latencies.crd.length, 100, 'every change became visible');
  } finally {
    for (const s of [main, crd, probeMain, probeCRD]) s.close();
  }
});

test('an invalid UpstreamCluster shows Accepted=False with the field and reason; the old rules keep serving', async () => {
  const s = gw.session(gw.crdURL!);
  try {
    await admin.json('PATCH', UC, { spec: { rules: [markerRule(500)] } });
    await visible(s, 500, Date.now());
    const bad = { ...markerRule(501), upstream: ['no-such-endpoint'] };
    await admin.json('PATCH', UC, { spec: { rules: [bad] } });
    const obj = await until('Accepted=False', 5000, async () => {
      const o = await admin.json<UCStatus>('GET', UC);
      const c = o.status?.conditions?.find((x) => x.type === 'Accepted');
      return c?.status === 'False' && o.status?.observedGeneration === o.metadata.generation ? o : undefined;
    });
    const accepted = obj.status!.conditions!.find((x) => x.type === 'Accepted')!;
    assert.equal(accepted.reason, 'Invalid');
    assert.match(accepted.message, /spec\.rules\[0\]\.upstream\[0\]: no endpoint named "no-such-endpoint"/);
    assert.match(accepted.message, /the last accepted version keeps serving/);
    // old behaviour: change 500 still denied, 501 not
    const old = await h2request(s, `/api/v1/namespaces/${NS}/configmaps/probe-500`);
    assert.equal(old.status, 403);
    assert.match(old.body, /change 500/);
    assert.equal((await h2request(s, `/api/v1/namespaces/${NS}/configmaps/base`)).status, 200);

    // a missing Secret: ResolvedRefs=False, old behaviour continues
    await admin.json('PATCH', UC, {
      spec: { rules: [markerRule(502)], credentials: { secretRef: { namespace: NS, name: 'missing' } } },
    });
    const refs = await until('ResolvedRefs=False', 5000, async () => {
      const o = await admin.json<UCStatus>('GET', UC);
      const c = o.status?.conditions?.find((x) => x.type === 'ResolvedRefs');
      return c?.status === 'False' && o.status?.observedGeneration === o.metadata.generation ? c : undefined;
    });
    assert.equal(refs.reason, 'SecretNotUsable');
    assert.match(refs.message, /spec\.credentials: Secret kg-reload\/missing/);
    assert.equal((await h2request(s, `/api/v1/namespaces/${NS}/configmaps/probe-500`)).status, 403);

    // fixed again: Accepted=True, the new rule applies
    await admin.json('PATCH', UC, {
      spec: {
        rules: [markerRule(503)],
        credentials: { secretRef: { namespace: NS, name: 'gateway-credentials' } },
      },
    });
    await visible(s, 503, Date.now());
    const fixed = await until('Accepted=True', 5000, async () => {
      const o = await admin.json<UCStatus>('GET', UC);
      const c = o.status?.conditions?.find((x) => x.type === 'Accepted');
      return c?.status === 'True' && o.status?.observedGeneration === o.metadata.generation ? c : undefined;
    });
    assert.equal(fixed.reason, 'Accepted');
  } finally {
    s.close();
  }
});
