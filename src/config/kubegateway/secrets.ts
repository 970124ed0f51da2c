import type { KubeGatewayTranslation } from './types.ts';

/** A `v1` Secret manifest, plain JSON. */
export interface SecretManifest {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { namespace: string; name: string };
  type: 'Opaque';
  stringData: Record<string, string>;
}

/**
 * The Secrets a translated spec refers to, filled from its materials (for a one-time migration:
 * apply them next to the kubegate UpstreamCluster). Keys: `ca.crt`, `tls.crt`, `tls.key`, `token`
 * in the upstream Secret; `ca.crt` in the client CA Secret; `tls.crt`, `tls.key` in the serving
 * Secret. Secrets with nothing to hold are left out.
 */
export function kubeGatewaySecrets(t: KubeGatewayTranslation): SecretManifest[] {
  const m = t.materials;
  const out: SecretManifest[] = [];
  const add = (ref: { namespace: string; name: string }, data: Record<string, string | undefined>) => {
    const stringData: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) if (v !== undefined) stringData[k] = v;
    if (Object.keys(stringData).length === 0) return;
    out.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { namespace: ref.namespace, name: ref.name },
      type: 'Opaque',
      stringData,
    });
  };
  add(t.spec.upstreamCA.secretRef, { 'ca.crt': m.ca, 'tls.crt': m.cert, 'tls.key': m.key, token: m.token });
  if (t.spec.clientCA) add(t.spec.clientCA.secretRef, { 'ca.crt': m.clientCA });
  if (t.spec.serving) add(t.spec.serving.secretRef, { 'tls.crt': m.servingCert, 'tls.key': m.servingKey });
  return out;
}
