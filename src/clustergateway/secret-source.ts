import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { ObjectClusterSource } from '../config/object-cluster-source.ts';
import type { ClusterConfig } from '../config/model.ts';
import type { Defaults } from '../config/schema/cluster.ts';
import type { ExchangeRule } from './identity-exchange.ts';
import {
  clusterFromSecret,
  CREDENTIAL_TYPE_LABEL,
  INSECURE_ANNOTATION,
  type SecretObject,
} from './secret.ts';

/**
 * ClusterGateway clusters from the labelled Secrets of one namespace (list+watch). A valid Secret
 * replaces its cluster at once (a rotated token is live on the next request); a refused one is
 * logged with its field and reason and its last accepted version keeps serving.
 */
export class ClusterSecretSource extends ObjectClusterSource<SecretObject> {
  readonly #good = new Map<string, { hash: string; config: ClusterConfig }>();
  readonly #rejected = new Map<string, string>();
  #global: readonly ExchangeRule[];

  constructor(
    client: KubeClient,
    namespace: string,
    defaults: Defaults,
    reserved: ReadonlySet<string>,
    apply: (clusters: readonly ClusterConfig[]) => Promise<void>,
    log: Logger,
    global: readonly ExchangeRule[] = [],
  ) {
    const selector = encodeURIComponent(CREDENTIAL_TYPE_LABEL);
    super(
      client,
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets?labelSelector=${selector}`,
      'ClusterGateway',
      defaults,
      reserved,
      apply,
      log,
    );
    this.#global = global;
  }

  /** New file defaults, file cluster names or global exchange rules: re-evaluates every Secret. */
  override update(
    defaults: Defaults,
    reserved: ReadonlySet<string>,
    global: readonly ExchangeRule[] = this.#global,
  ): Promise<void> {
    this.#global = global;
    return super.update(defaults, reserved);
  }

  protected async rebuild(): Promise<void> {
    const objects = this.informer.items;
    const names = new Set(objects.map((o) => o.metadata.name));
    for (const name of this.#good.keys()) if (!names.has(name)) this.#good.delete(name);
    for (const s of objects) {
      const name = s.metadata.name;
      const hash = createHash('sha256')
        .update(
          JSON.stringify([s.metadata.labels, s.metadata.annotations, s.data, this.defaults, this.#global]),
        )
        .digest('hex');
      if (this.#good.get(name)?.hash === hash || this.#rejected.get(name) === hash) continue;
      if (this.reserved.has(name)) {
        this.#reject(name, hash, [
          { path: 'metadata.name', message: 'a cluster of that name is in the file' },
        ]);
        continue;
      }
      const r = clusterFromSecret(s, this.defaults, this.#global);
      if ('issues' in r) this.#reject(name, hash, r.issues);
      else {
        this.#rejected.delete(name);
        this.#good.set(name, { hash, config: r.config });
        if (r.config.material.insecureSkipTLSVerify)
          this.log.warn(
            { kind: 'config', source: 'ClusterGateway', secret: name },
            `cluster Secret without ca.crt accepted as asked (${INSECURE_ANNOTATION}): its apiservers' certificates are NOT verified`,
          );
      }
    }
    await this.apply([...this.#good.values()].map((g) => g.config));
  }

  #reject(name: string, hash: string, issues: readonly { path: string; message: string }[]): void {
    this.#rejected.set(name, hash);
    this.rejections++;
    // Field paths and reasons only: never the Secret's data.
    this.log.warn(
      { kind: 'config', source: 'ClusterGateway', secret: name, issues },
      this.#good.has(name)
        ? 'cluster Secret refused; its last accepted version keeps serving'
        : 'cluster Secret refused',
    );
  }
}
