import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'bin/kubegate');
const EXAMPLE = join(ROOT, 'examples/gateway.yaml');

test('explain prints the RequestInfo, why earlier rules were skipped, and the rule hit with its limits', async () => {
  const { stdout } = await run(BIN, [
    'explain', '-f', EXAMPLE, '--user', 'system:serviceaccount:ci:runner-1', '--group', 'system:serviceaccounts',
    'GET', '/api/v1/namespaces/ci/pods',
  ]); // prettier-ignore
  const lines = stdout.split('\n');
  assert.equal(lines[0], 'cluster: prod');
  assert.ok(lines.includes('  verb:        list'));
  assert.ok(lines.includes('  resource:    pods'));
  assert.ok(lines.includes('  namespace:   ci'));
  assert.ok(
    lines.some((l) =>
      /^ {2}\[1\] masters +skipped: match\.groups: no group of \[system:serviceaccounts\] is one of \[system:masters\]$/.test(
        l,
      ),
    ),
  );
  assert.ok(
    lines.some((l) =>
      /^ {2}\[2\] shed-cluster-wide-pod-lists +skipped: match\.namespaces: "ci" is not one of \[""\]$/.test(
        l,
      ),
    ),
  );
  assert.ok(lines.some((l) => /^ {2}\[3\] ci-runners +matched$/.test(l)));
  assert.ok(lines.includes('  rule:        ci-runners (rules[3])'));
  assert.ok(lines.includes('  limits:      burst=10 perUser.key=serviceAccount perUser.maxKeys=5000 qps=5'));
});

test('explain names the upstream subset and the exclusion that skipped a rule', async () => {
  const { stdout } = await run(BIN, [
    'explain', '-f', EXAMPLE, '--user', 'system:node:n1', '--group', 'system:nodes', 'GET', '/api/v1/nodes/n1',
  ]); // prettier-ignore
  assert.match(stdout, /rule: {8}kubelets \(rules\[4\]\)/);
  assert.match(stdout, /upstream: {4}apiserver-a, apiserver-b/);
  const other = await run(BIN, [
    'explain', '-f', EXAMPLE, '--user', 'jane', 'GET', '/api/v1/namespaces/kube-system/configmaps',
  ]); // prettier-ignore
  assert.match(other.stdout, /everyone-else +skipped: exclude\.namespaces: "kube-system"/);
  assert.match(other.stdout, /rule: {8}default/);
});

test('explain refuses missing arguments with a usage error (exit 2)', async () => {
  for (const args of [
    ['explain', '-f', EXAMPLE, 'GET', '/api'],
    ['explain', '-f', EXAMPLE, '--user', 'u', 'GET'],
    ['explain', '-f', EXAMPLE, '--user', 'u', 'GET', 'api'],
    ['explain', '-f', EXAMPLE, '--user', 'u', '--cluster', 'nope', 'GET', '/api'],
  ]) {
    const err = await run(BIN, args).then(
      () => assert.fail(`should fail: ${args.join(' ')}`),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2, args.join(' '));
    assert.match(err.stderr, /^kubegate: error: explain: /);
  }
});
