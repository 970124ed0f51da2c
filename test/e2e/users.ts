import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeKubeconfig } from '../../src/dev/kubeconfig.ts';
import { issueCert } from '../../src/dev/pki.ts';
import { devDir, devState, kubectl } from './env.ts';

/** Mints an x509 user signed by the dev cluster CA; returns the kubeconfig name (relative to the dev dir). */
export async function x509User(user: string, groups: string[] = []): Promise<string> {
  const dir = devDir();
  const ca = { cert: join(dir, 'pki', 'ca.crt'), key: join(dir, 'pki', 'ca.key') };
  const files = await issueCert(join(dir, 'users'), user, ca, { cn: user, orgs: groups, usage: 'client' });
  const state = JSON.parse(
    await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'state.json'), 'utf8')),
  ) as { gateway: string };
  const name = `users/${user}.kubeconfig`;
  await writeKubeconfig(join(dir, name), user, state.gateway, ca.cert, files);
  return name;
}

/** A kubeconfig for the gateway that authenticates with a bearer token. */
export async function tokenUser(label: string, token: string): Promise<string> {
  const dir = devDir();
  const { readFileSync } = await import('node:fs');
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { gateway: string };
  const ca = readFileSync(join(dir, 'pki', 'ca.crt')).toString('base64');
  const name = `users/${label}.kubeconfig`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'gw', cluster: { server: state.gateway, 'certificate-authority-data': ca } }],
    users: [{ name: label, user: { token } }],
    contexts: [{ name: 'gw', context: { cluster: 'gw', user: label } }],
    'current-context': 'gw',
  };
  await writeFile(join(dir, name), stringify(doc), { mode: 0o600 });
  return name;
}

/**
 * A namespace with a service account that may read it (`view`), as may `alsoUser`; returns a
 * one-hour token of the service account. Runs as the dev admin, straight to apiserver-0.
 */
export async function viewerServiceAccount(ns: string, sa: string, alsoUser: string): Promise<string> {
  const admin = 'apiserver-0.kubeconfig';
  await kubectl(admin, ['create', 'namespace', ns]);
  await kubectl(admin, ['-n', ns, 'create', 'serviceaccount', sa]);
  await kubectl(admin, [
    '-n', ns, 'create', 'rolebinding', 'view', '--clusterrole=view', `--serviceaccount=${ns}:${sa}`, `--user=${alsoUser}`,
  ]); // prettier-ignore
  // Each apiserver learns of the binding from its own RBAC informer: a request balanced to one that
  // has not yet seen it is a 403. Wait until every replica authorizes both subjects.
  for (let i = 0; i < devState().apiservers.length; i++)
    for (const who of [`system:serviceaccount:${ns}:${sa}`, alsoUser])
      await until(`apiserver-${i} authorizes ${who}`, async () => {
        const out = await kubectl(`apiserver-${i}.kubeconfig`, [
          'auth', 'can-i', 'list', 'configmaps', '-n', ns, `--as=${who}`,
        ]).catch(() => 'no'); // prettier-ignore
        return out.trim() === 'yes';
      });
  return (await kubectl(admin, ['-n', ns, 'create', 'token', sa, '--duration', '1h'])).trim();
}

async function until(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
