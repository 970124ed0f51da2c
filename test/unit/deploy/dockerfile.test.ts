import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from './manifests.ts';

// No container engine runs where the tests run, so the image is never built here: these checks
// read the Dockerfile for the properties the deployment relies on.

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile's stages, with continuation lines joined and comments dropped. */
function stages(): Stage[] {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const out: Stage[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      assert.ok(m, `FROM ${args}`);
      out.push({ from: m[1], name: m[2], instructions: [] });
    } else {
      assert.ok(out.length > 0, `${op} before FROM`);
      out.at(-1)!.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return out;
}

const final = () => stages().at(-1)!;

test('the Dockerfile is multi-stage on Node 24, the runtime stage slim or distroless', () => {
  const s = stages();
  assert.ok(s.length >= 2, 'multi-stage');
  for (const st of s) assert.match(st.from, /node(js)?:?-?24|nodejs24/, st.from);
  assert.match(final().from, /slim|distroless/);
});

test('the runtime stage runs as a numeric non-root user', () => {
  const users = final().instructions.filter((i) => i.op === 'USER');
  assert.ok(users.length > 0, 'USER in the final stage');
  const user = users.at(-1)!.args.split(':')[0];
  assert.match(user, /^\d+$/, 'numeric, so runAsNonRoot can verify it');
  assert.notEqual(Number(user), 0);
  const deployment = readFileSync(join(ROOT, 'deploy', 'deployment.yaml'), 'utf8');
  assert.match(deployment, new RegExp(`runAsUser: ${user}\\b`), 'the Deployment runs as the same uid');
});

test('dependencies are installed with npm ci --omit=dev, never in the runtime stage', () => {
  const runs = stages().flatMap((st, i) =>
    st.instructions.filter((x) => x.op === 'RUN').map((x) => ({ stage: i, cmd: x.args })),
  );
  const installs = runs.filter((r) => /\bnpm\s+(ci|install|i)\b|\byarn\b|\bpnpm\b/.test(r.cmd));
  assert.ok(installs.length > 0, 'an install step');
  for (const r of installs) {
    assert.match(r.cmd, /\bnpm ci\b/, 'from the lockfile');
    assert.match(r.cmd, /--omit=dev/, 'no dev dependencies');
    assert.notEqual(r.stage, stages().length - 1, 'not in the runtime stage');
  }
  const copies = final().instructions.filter((i) => i.op === 'COPY');
  assert.ok(
    copies.some((c) => /--from=\S+\s+\S*node_modules/.test(c.args)),
    'node_modules from the build stage',
  );
  assert.ok(
    copies.some((c) => /^src\s/.test(c.args)),
    'the sources',
  );
  assert.ok(
    copies.some((c) => /package\.json/.test(c.args)),
    'package.json (read at run time for the version)',
  );
});

test('the entrypoint serves the mounted configuration; nothing is declared writable in the image', () => {
  const entry = final().instructions.find((i) => i.op === 'ENTRYPOINT');
  assert.deepEqual(JSON.parse(entry!.args), [
    'node',
    '--max-semi-space-size=8',
    'src/cli/main.ts',
    'serve',
    '-f',
    '/etc/kubegate/config/kubegate.yaml',
  ]);
  // A VOLUME would be an anonymous writable mount the read-only deployment does not provide.
  assert.equal(
    stages()
      .flatMap((s) => s.instructions)
      .filter((i) => i.op === 'VOLUME').length,
    0,
  );
  const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
  assert.ok(ignore.includes('*'), '.dockerignore excludes everything not listed (node_modules, .git, tests)');
});
