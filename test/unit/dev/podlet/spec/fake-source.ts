import type { KubeConfigMap, KubeSecret, ObjectSource } from '../../../../../src/dev/podlet/types.ts';

/** An ObjectSource over in-memory objects; secrets are given in plain text and stored base64. */
export class FakeSource implements ObjectSource {
  secrets = new Map<string, KubeSecret>();
  configMaps = new Map<string, KubeConfigMap>();
  tokenRequests: {
    namespace: string;
    serviceAccount: string;
    audience?: string;
    expirationSeconds: number;
  }[] = [];
  tokenCounter = 0;
  now = () => new Date();

  addSecret(namespace: string, name: string, data: Record<string, string>): this {
    const b64 = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    );
    this.secrets.set(`${namespace}/${name}`, { metadata: { name, namespace }, data: b64 });
    return this;
  }

  addConfigMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
    binaryData?: Record<string, Buffer>,
  ): this {
    const bin =
      binaryData && Object.fromEntries(Object.entries(binaryData).map(([k, v]) => [k, v.toString('base64')]));
    this.configMaps.set(`${namespace}/${name}`, { metadata: { name, namespace }, data, binaryData: bin });
    return this;
  }

  async secret(namespace: string, name: string): Promise<KubeSecret | null> {
    return this.secrets.get(`${namespace}/${name}`) ?? null;
  }

  async configMap(namespace: string, name: string): Promise<KubeConfigMap | null> {
    return this.configMaps.get(`${namespace}/${name}`) ?? null;
  }

  async serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    req: { audience?: string; expirationSeconds: number; podName: string; podUID: string },
  ): Promise<{ token: string; expirationTimestamp: string }> {
    this.tokenRequests.push({
      namespace,
      serviceAccount,
      audience: req.audience,
      expirationSeconds: req.expirationSeconds,
    });
    const exp = new Date(this.now().getTime() + req.expirationSeconds * 1000);
    return {
      token: `token-${++this.tokenCounter}-${req.audience ?? 'api'}`,
      expirationTimestamp: exp.toISOString(),
    };
  }
}
