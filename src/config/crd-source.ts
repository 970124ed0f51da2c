import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { KubeAPIError, type KubeClient } from '../kube/client.ts';
import type { KubeObject } from '../kube/informer.ts';
import { checkClusterSpec, resolveCluster, servingPairProblem } from './cluster-spec.ts';
import { readRequestHeaderSettings } from './extension-apiserver-authentication.ts';
import type { ConfigIssue } from './issues.ts';
import { ObjectClusterSource } from './object-cluster-source.ts';
import type { ClusterConfig, ClusterMaterial } from './model.ts';
import { CRDClusterSpec, type Defaults } from './schema/cluster.ts';
import { SchemaCheck } from './schema-check.ts';

const specCheck = new SchemaCheck<CRDClusterSpec>(CRDClusterSpec);
const PATH = '/apis/kubegate.io/v1alpha1/upstreamclusters';
const RESYNC_MS = 30_000;

interface Condition {
  type: 'Accepted' | 'ResolvedRefs';
  status: 'True' | 'False';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** A host name of a cluster in the configuration file, which wins it over any object. */
export interface FileHostClaim {
  readonly cluster: string;
  /** Its list's field path in the file (`clusters[0].hosts`). */
  readonly path: string;
}

/** The file's clusters' host names (lower case), each with its claim. */
export function fileHostClaims(
  clusters: readonly { name: string; hosts: readonly string[] }[],
): ReadonlyMap<string, FileHostClaim> {
  const claims = new Map<string, FileHostClaim>();
  clusters.forEach((c, i) => {
    for (const h of c.hosts) {
      const host = h.toLowerCase();
      if (!claims.has(host)) claims.set(host, { cluster: c.name, path: `clusters[${i}].hosts` });
    }
  });
  return claims;
}

/** An UpstreamCluster object as stored. */
export interface UpstreamClusterObject extends KubeObject {
  spec?: unknown;
  status?: { observedGeneration?: number; conditions?: Condition[]; endpoints?: number };
}

class RefError extends Error {
  override name = 'RefError';
  /** The ResolvedRefs reason. */
  readonly reason: string;
  constructor(message: string, reason = 'SecretNotUsable') {
    super(message);
    this.reason = reason;
  }
}

/**
 * Clusters from `kubegate.io/v1alpha1 UpstreamCluster` objects: list+watch, Secrets resolved, each
 * object validated on its own. A valid object replaces its cluster; an invalid one leaves its last
 * accepted version serving. Either way the verdict goes to `status.conditions` (Accepted,
 * ResolvedRefs) with `observedGeneration`.
 */
export class UpstreamClusterSource extends ObjectClusterSource<UpstreamClusterObject> {
  /** Last accepted configuration per object name. */
  readonly #good = new Map<string, { hash: string; config: ClusterConfig }>();
  readonly #rejected = new Map<string, string>();
  #resync: NodeJS.Timeout | null = null;
  /** Host names the file's clusters claim: an object naming one is rejected (HostConflict). */
  #fileHosts: ReadonlyMap<string, FileHostClaim>;

  constructor(
    client: KubeClient,
    defaults: Defaults,
    reserved: ReadonlySet<string>,
    apply: (clusters: readonly ClusterConfig[]) => Promise<void>,
    log: Logger,
    fileHosts: ReadonlyMap<string, FileHostClaim> = new Map(),
  ) {
    super(client, PATH, 'UpstreamCluster', defaults, reserved, apply, log);
    this.#fileHosts = fileHosts;
  }

  /** New file defaults, cluster names or host names: re-evaluates every object. */
  override update(
    defaults: Defaults,
    reserved: ReadonlySet<string>,
    fileHosts: ReadonlyMap<string, FileHostClaim> = this.#fileHosts,
  ): Promise<void> {
    this.#fileHosts = fileHosts;
    return super.update(defaults, reserved);
  }

  override async start(): Promise<void> {
    await super.start();
    this.#resync = setInterval(() => this.sync(), RESYNC_MS); // picks up rotated Secrets
    this.#resync.unref();
  }

  protected async rebuild(): Promise<void> {
    const objects = this.informer.items;
    const names = new Set(objects.map((o) => o.metadata.name));
    for (const name of this.#good.keys()) if (!names.has(name)) this.#good.delete(name);
    const statuses: (() => Promise<void>)[] = [];
    // A host claimed by two objects belongs to the one created first (then the name first), as
    // Gateway API settles conflicts; the other is rejected until it lets go of the name.
    const ordered = [...objects].sort(
      (a, b) =>
        (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
    const claimed = new Map<string, string>();
    for (const obj of ordered) statuses.push(await this.#evaluate(obj, claimed));
    await this.apply([...this.#good.values()].map((g) => g.config));
    // Status is written after the clusters are live, so a slow status write never delays a change.
    await Promise.all(statuses.map((write) => write()));
  }

  /** Validates one object and updates its accepted version; returns the status write to do. */
  async #evaluate(obj: UpstreamClusterObject, claimed: Map<string, string>): Promise<() => Promise<void>> {
    const name = obj.metadata.name;
    const gen = obj.metadata.generation;
    const fail = (type: 'Accepted' | 'ResolvedRefs', reason: string, message: string): Condition[] => {
      const accepted: Condition =
        type === 'Accepted'
          ? { type, status: 'False', reason, message }
          : { type: 'Accepted', status: 'False', reason: 'RefNotResolved', message };
      const refs: Condition =
        type === 'ResolvedRefs'
          ? { type, status: 'False', reason, message }
          : {
              type: 'ResolvedRefs',
              status: 'True',
              reason: 'Resolved',
              message: 'all Secret references resolved',
            };
      return [accepted, refs];
    };
    let conditions: Condition[];
    let endpoints = 0;
    if (this.reserved.has(name)) {
      conditions = fail(
        'Accepted',
        'NameConflict',
        `a cluster named "${name}" is defined in the kubegate configuration file, which wins`,
      );
      this.#good.delete(name);
    } else {
      const issues: ConfigIssue[] = specCheck.check(obj.spec, 'spec');
      if (issues.length === 0 && specCheck.is(obj.spec))
        issues.push(...checkClusterSpec(obj.spec, this.defaults, 'spec'));
      const clash =
        issues.length === 0 && specCheck.is(obj.spec)
          ? hostClash(obj.spec.hosts, name, claimed, this.#fileHosts)
          : null;
      if (issues.length > 0 || !specCheck.is(obj.spec)) {
        conditions = fail('Accepted', 'Invalid', issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      } else if (clash !== null) {
        conditions = fail('Accepted', 'HostConflict', clash);
        this.#good.delete(name);
      } else {
        const spec = obj.spec;
        try {
          const material = await this.#material(spec);
          const hash = createHash('sha256')
            .update(JSON.stringify([spec, material, this.defaults]))
            .digest('hex');
          const prev = this.#good.get(name);
          if (prev?.hash !== hash)
            this.#good.set(name, {
              hash,
              config: resolveCluster(name, `UpstreamCluster/${name}`, spec, this.defaults, material),
            });
          endpoints = spec.endpoints.length;
          conditions = [
            { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'serving' },
            {
              type: 'ResolvedRefs',
              status: 'True',
              reason: 'Resolved',
              message: 'all Secret references resolved',
            },
          ];
        } catch (err) {
          if (!(err instanceof RefError)) throw err;
          conditions = fail('ResolvedRefs', err.reason, err.message);
        }
      }
      if (conditions[0].status === 'False') {
        const verdict = `${gen}/${conditions[0].reason}`;
        if (this.#rejected.get(name) !== verdict) {
          this.#rejected.set(name, verdict);
          this.rejections++;
        }
        const still = this.#good.has(name) ? ' (the last accepted version keeps serving)' : '';
        conditions[0].message += still;
        this.log.error(
          {
            kind: 'config',
            source: `UpstreamCluster/${name}`,
            generation: gen,
            reason: conditions[0].reason,
            message: conditions[0].message,
          },
          'UpstreamCluster rejected',
        );
      }
    }
    return () => this.#writeStatus(obj, conditions, endpoints);
  }

  async #material(spec: CRDClusterSpec): Promise<ClusterMaterial> {
    const ca = await this.#secretKey(spec.upstreamCA.secretRef, 'ca.crt', 'spec.upstreamCA');
    const creds = await this.#secret(spec.credentials.secretRef, 'spec.credentials');
    const cert = creds['tls.crt'];
    const key = creds['tls.key'];
    const token = creds.token;
    if (!(cert && key) && !token)
      throw new RefError(
        `spec.credentials: Secret ${ref(spec.credentials.secretRef)} has neither tls.crt+tls.key nor token`,
      );
    const clientCA =
      spec.clientCA && (await this.#secretKey(spec.clientCA.secretRef, 'ca.crt', 'spec.clientCA'));
    let servingCert: string | undefined;
    let servingKey: string | undefined;
    if (spec.serving) {
      const r = spec.serving.secretRef;
      servingCert = await this.#secretKey(r, 'tls.crt', 'spec.serving');
      servingKey = await this.#secretKey(r, 'tls.key', 'spec.serving');
      const bad = servingPairProblem(servingCert, servingKey);
      if (bad) throw new RefError(`spec.serving: Secret ${ref(r)}: ${bad}`);
    }
    const material: ClusterMaterial = {
      ca,
      cert,
      key,
      token: token?.trim(),
      clientCA,
      servingCert,
      servingKey,
    };
    const fp = spec.frontProxy;
    if (fp?.clientCA)
      material.frontProxyCA = await this.#secretKey(
        fp.clientCA.secretRef,
        'ca.crt',
        'spec.frontProxy.clientCA',
      );
    else if (fp?.fromExtensionAPIServerAuthentication === true)
      // Read again at every resync, as the Secrets are: a rotated front-proxy CA is picked up.
      try {
        material.requestHeader = await readRequestHeaderSettings(spec.endpoints, material);
        material.frontProxyCA = material.requestHeader.ca;
      } catch (err) {
        throw new RefError(
          `spec.frontProxy.fromExtensionAPIServerAuthentication: ${(err as Error).message}`,
          'ConfigMapNotUsable',
        );
      }
    return material;
  }

  async #secretKey(r: { namespace: string; name: string }, key: string, field: string): Promise<string> {
    const v = (await this.#secret(r, field))[key];
    if (!v) throw new RefError(`${field}: Secret ${ref(r)} has no key ${key}`);
    return v;
  }

  async #secret(
    r: { namespace: string; name: string },
    field: string,
  ): Promise<Record<string, string | undefined>> {
    try {
      const s = await this.client.json<{ data?: Record<string, string> }>(
        'GET',
        `/api/v1/namespaces/${r.namespace}/secrets/${r.name}`,
      );
      return Object.fromEntries(
        Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    } catch (err) {
      if (err instanceof KubeAPIError)
        throw new RefError(`${field}: Secret ${ref(r)}: ${err.reason || err.status}`);
      throw err;
    }
  }

  async #writeStatus(obj: UpstreamClusterObject, conditions: Condition[], endpoints: number): Promise<void> {
    const gen = obj.metadata.generation;
    const old = obj.status?.conditions ?? [];
    const same =
      obj.status?.observedGeneration === gen &&
      conditions.every((c) => {
        const o = old.find((x) => x.type === c.type);
        return o && o.status === c.status && o.reason === c.reason && o.message === c.message;
      });
    if (same) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = {
      observedGeneration: gen,
      endpoints,
      conditions: conditions.map((c) => {
        const o = old.find((x) => x.type === c.type);
        return {
          ...c,
          observedGeneration: gen,
          lastTransitionTime: o && o.status === c.status && o.lastTransitionTime ? o.lastTransitionTime : now,
        };
      }),
    };
    try {
      await this.client.json('PATCH', `${PATH}/${obj.metadata.name}/status`, { status });
    } catch (err) {
      this.log.warn(
        { kind: 'config', source: `UpstreamCluster/${obj.metadata.name}`, err: (err as Error).message },
        'could not write status',
      );
    }
  }

  override stop(): void {
    super.stop();
    if (this.#resync) clearInterval(this.#resync);
  }
}

/**
 * The first of `hosts` the file or another object already claimed, as a message naming the winner;
 * else claims them all for `name`.
 */
function hostClash(
  hosts: readonly string[] | undefined,
  name: string,
  claimed: Map<string, string>,
  fileHosts: ReadonlyMap<string, FileHostClaim>,
): string | null {
  const list = hosts ?? [];
  for (let j = 0; j < list.length; j++) {
    const file = fileHosts.get(list[j].toLowerCase());
    if (file !== undefined)
      return `spec.hosts[${j}]: host "${list[j]}" is already claimed by cluster "${file.cluster}" of the kubegate configuration file (${file.path}), which wins`;
    const owner = claimed.get(list[j]);
    if (owner !== undefined && owner !== name)
      return `spec.hosts[${j}]: host "${list[j]}" is already claimed by UpstreamCluster "${owner}"`;
  }
  for (const h of list) claimed.set(h, name);
  return null;
}

function ref(r: { namespace: string; name: string }): string {
  return `${r.namespace}/${r.name}`;
}
