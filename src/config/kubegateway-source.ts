import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/informer.ts';
import { checkClusterSpec, resolveCluster, servingPairProblem } from './cluster-spec.ts';
import { translateKubeGatewayCluster } from './kubegateway/index.ts';
import { ObjectClusterSource } from './object-cluster-source.ts';
import type { ClusterConfig } from './model.ts';
import type { Defaults } from './schema/cluster.ts';

const PATH = '/apis/proxy.kubegateway.io/v1alpha1/upstreamclusters';

/**
 * Clusters from KubeGateway's `proxy.kubegateway.io/v1alpha1 UpstreamCluster` objects, for a
 * migration in place: each object is translated (docs/kubegateway-migration.md) and served with the
 * certificates it carries inline. Fields kubegate does not support are logged with their paths once
 * per object version; an object that cannot be served safely (no CA, invalid after translation) is
 * logged and left out. Their status is KubeGateway's, so nothing is written back.
 */
export class KubeGatewayClusterSource extends ObjectClusterSource<KubeObject> {
  readonly #reported = new Set<string>();
  readonly #good = new Map<string, { hash: string; config: ClusterConfig }>();

  constructor(
    client: KubeClient,
    defaults: Defaults,
    reserved: ReadonlySet<string>,
    apply: (clusters: readonly ClusterConfig[]) => Promise<void>,
    log: Logger,
  ) {
    super(client, PATH, 'kubegateway', defaults, reserved, apply, log);
  }

  protected async rebuild(): Promise<void> {
    const next = new Map<string, { hash: string; config: ClusterConfig }>();
    for (const obj of this.informer.items) {
      const source = `kubegateway UpstreamCluster/${obj.metadata.name}`;
      const version = `${obj.metadata.name}@${obj.metadata.resourceVersion ?? ''}`;
      const report = !this.#reported.has(version);
      this.#reported.add(version);
      const reject = (message: string) => {
        if (!report) return;
        this.rejections++;
        this.log.error({ kind: 'config', source }, `not served: ${message}`);
      };
      let t;
      try {
        t = translateKubeGatewayCluster(obj);
      } catch (err) {
        reject((err as Error).message);
        continue;
      }
      if (report && t.unsupported.length > 0)
        this.log.warn(
          { kind: 'config', source, unsupported: t.unsupported },
          'fields kubegate does not carry over',
        );
      if (this.reserved.has(t.name)) {
        reject(`a cluster named "${t.name}" is defined in the kubegate configuration file, which wins`);
        continue;
      }
      const issues = checkClusterSpec(t.spec, this.defaults, 'spec');
      if (issues.length > 0) {
        reject(issues.map((i) => `${i.path}: ${i.message}`).join('; '));
        continue;
      }
      const m = t.materials;
      if (!m.ca) {
        reject('spec.clientConfig.caData is empty: kubegate never skips verifying the apiservers');
        continue;
      }
      if (!(m.cert && m.key) && !m.token) {
        reject('spec.clientConfig has neither certData+keyData nor bearerToken');
        continue;
      }
      // The serving pair comes with the names it is for (hosts); without them it is not used.
      const serving = t.spec.serving ? { servingCert: m.servingCert, servingKey: m.servingKey } : {};
      if (serving.servingCert !== undefined && serving.servingKey !== undefined) {
        const bad = servingPairProblem(serving.servingCert, serving.servingKey);
        if (bad) {
          reject(`spec.secureServing: ${bad}`);
          continue;
        }
      }
      const material = {
        ca: m.ca,
        cert: m.cert,
        key: m.key,
        token: m.token,
        clientCA: m.clientCA,
        ...serving,
      };
      const hash = createHash('sha256')
        .update(JSON.stringify([t.spec, material, this.defaults]))
        .digest('hex');
      const prev = this.#good.get(t.name);
      next.set(
        t.name,
        prev?.hash === hash
          ? prev
          : { hash, config: resolveCluster(t.name, source, t.spec, this.defaults, material) },
      );
    }
    this.#good.clear();
    for (const [k, v] of next) this.#good.set(k, v);
    await this.apply([...next.values()].map((g) => g.config));
  }
}
