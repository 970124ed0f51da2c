import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { writeKubeconfig } from '../../src/dev/kubeconfig.ts';
import { loggedLines } from './access-lines.ts';
import { devDir, kubectlPath } from './env.ts';
import { h2request, OwnGateway } from './own-gateway.ts';

const run = promisify(execFile);
let gw: OwnGateway;

before(async () => {
  gw = await OwnGateway.start({
    rules: [
      {
        name: 'shed-pod-lists',
        match: { verbs: ['list'], apiGroups: [''], resources: ['pods'] },
        exclude: { namespaces: ['kube-system'] },
        action: 'deny',
        deny: { code: 503, message: 'pod lists are shed during the incident', retryAfterSeconds: 30 },
      },
      {
        name: 'freeze-secrets',
        match: { resources: ['secrets'] },
        action: 'deny',
        deny: { message: 'secrets are frozen during the incident' },
      },
    ],
  });
});
after(() => gw.stop());

test('a deny rule answers its configured Status; requests it does not match pass', async () => {
  const s = gw.session();
  try {
    const denied = await h2request(s, '/api/v1/namespaces/default/pods');
    assert.equal(denied.status, 503);
    assert.equal(denied.headers['retry-after'], '30');
    const status = JSON.parse(denied.body) as Record<string, unknown>;
    assert.deepEqual(
      {
        kind: status.kind,
        status: status.status,
        reason: status.reason,
        code: status.code,
        message: status.message,
      },
      {
        kind: 'Status',
        status: 'Failure',
        reason: 'ServiceUnavailable',
        code: 503,
        message: 'pod lists are shed during the incident',
      },
    );
    assert.equal(
      (await h2request(s, '/api/v1/namespaces/kube-system/pods')).status,
      200,
      'excluded namespace passes',
    );
    assert.equal(
      (await h2request(s, '/api/v1/namespaces/default/configmaps')).status,
      200,
      'other resources pass',
    );
    const [line] = await loggedLines(
      () => gw.logs(),
      (l) => l.kind === 'access' && l.uri === '/api/v1/namespaces/default/pods',
    );
    assert.equal(line?.rule, 'shed-pod-lists');
    assert.equal(line?.status, 503);
  } finally {
    s.close();
  }
});

// kubectl (client-go) retries a 503 with Retry-After, so its message is checked on the 403 rule.
test("kubectl prints the rule's message (default code 403 Forbidden)", async () => {
  const d = devDir();
  const kubeconfig = join(gw.dir, 'admin.kubeconfig');
  await writeKubeconfig(kubeconfig, 'own', gw.url, join(d, 'pki', 'ca.crt'), {
    cert: join(d, 'pki', 'admin.crt'),
    key: join(d, 'pki', 'admin.key'),
  });
  const err = await run(kubectlPath(), ['--kubeconfig', kubeconfig, 'get', 'secrets', '-n', 'default'], {
    timeout: 30_000,
  }).then(
    () => assert.fail('kubectl get secrets should fail'),
    (e: { stderr: string }) => e,
  );
  assert.match(err.stderr, /Error from server \(Forbidden\): secrets are frozen during the incident/);
});
