import type { KubeClient } from '../../kube/client.ts';
import { KubeAPIError } from '../../kube/client.ts';
import type { KubeConfigMap, KubeSecret, ObjectSource } from './types.ts';

/**
 * Secrets, ConfigMaps and service-account tokens read as the node. The Node authorizer allows a
 * node what its pods refer to, once its graph has seen the binding: a 403 right after scheduling
 * is retried briefly.
 */
export class NodeObjectSource implements ObjectSource {
  readonly #client: KubeClient;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  secret(namespace: string, name: string): Promise<KubeSecret | null> {
    return this.#get<KubeSecret>(`/api/v1/namespaces/${namespace}/secrets/${name}`);
  }

  configMap(namespace: string, name: string): Promise<KubeConfigMap | null> {
    return this.#get<KubeConfigMap>(`/api/v1/namespaces/${namespace}/configmaps/${name}`);
  }

  async serviceAccountToken(
    namespace: string,
    serviceAccount: string,
    req: { audience?: string; expirationSeconds: number; podName: string; podUID: string },
  ): Promise<{ token: string; expirationTimestamp: string }> {
    const path = `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`;
    const body = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        ...(req.audience ? { audiences: [req.audience] } : {}),
        expirationSeconds: req.expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: req.podName, uid: req.podUID },
      },
    };
    const res = await this.#retry(() =>
      this.#client.raw<{ status: { token: string; expirationTimestamp: string } }>('POST', path, body),
    );
    if (res.status !== 201 && res.status !== 200) throw new KubeAPIError('POST', path, res.status, res.body);
    return res.body.status;
  }

  async #get<T>(path: string): Promise<T | null> {
    const res = await this.#retry(() => this.#client.raw<T>('GET', path));
    if (res.status === 404) return null;
    if (res.status !== 200) throw new KubeAPIError('GET', path, res.status, res.body);
    return res.body;
  }

  async #retry<T extends { status: number }>(call: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      const res = await call();
      if (res.status !== 403 || i >= 20) return res;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
