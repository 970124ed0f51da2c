import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { KubeConfigMap, KubeSecret, ObjectSource } from '../types.ts';
import { configError, notFound, SpecError } from './errors.ts';
import { expand, mappingFor } from './expansion.ts';
import { podFieldValue } from './fieldpath.ts';
import { resourceFieldValue, type NodeAllocatable } from './resources.ts';

// A container's environment as the kubelet's makeEnvironmentVariables builds it: envFrom sources in
// order, then env entries in order (later ones override earlier ones), each `value` expanded against
// what came before. Service-link variables (`enableServiceLinks`) are not produced.

export interface EnvContext {
  /** Where to append the Warning events the kubelet would record (the pod still starts). */
  readonly events?: EnvEvent[];
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podIP: string;
  readonly nodeAllocatable: NodeAllocatable;
}

/** A Warning event the kubelet records on the pod while resolving env (the pod still starts). */
export interface EnvEvent {
  readonly type: 'Warning';
  readonly reason: 'InvalidEnvironmentVariableNames';
  readonly message: string;
}

/** Relaxed env var names (GA since 1.34): non-empty, printable ASCII other than '='. */
export function isEnvVarName(name: string): boolean {
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(name);
}

function decode(b64: string): string {
  return Buffer.from(b64, 'base64').toString('utf8');
}

/** Fetches each referenced object once; `null` when it does not exist. */
class Objects {
  readonly #source: ObjectSource;
  readonly #namespace: string;
  readonly #secrets = new Map<string, Promise<KubeSecret | null>>();
  readonly #configMaps = new Map<string, Promise<KubeConfigMap | null>>();
  constructor(source: ObjectSource, namespace: string) {
    this.#source = source;
    this.#namespace = namespace;
  }
  secret(name: string): Promise<KubeSecret | null> {
    let p = this.#secrets.get(name);
    if (!p) this.#secrets.set(name, (p = this.#source.secret(this.#namespace, name)));
    return fetched(p);
  }
  configMap(name: string): Promise<KubeConfigMap | null> {
    let p = this.#configMaps.get(name);
    if (!p) this.#configMaps.set(name, (p = this.#source.configMap(this.#namespace, name)));
    return fetched(p);
  }
}

async function fetched<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw configError(err instanceof Error ? err.message : String(err));
  }
}

export async function resolveEnv(
  pod: V1Pod,
  container: V1Container,
  source: ObjectSource,
  ctx: EnvContext,
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const objects = new Objects(source, ns);
  const env: Record<string, string> = {};
  const events = ctx.events ?? [];

  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const refName = ref.name ?? '';
    const obj = from.configMapRef ? await objects.configMap(refName) : await objects.secret(refName);
    if (!obj) {
      if (ref.optional) continue;
      throw configError(notFound(kind, refName));
    }
    const invalid: string[] = [];
    for (const [key, raw] of Object.entries(obj.data ?? {})) {
      const name = (from.prefix ?? '') + key;
      if (!isEnvVarName(name)) {
        invalid.push(name);
        continue;
      }
      env[name] = kind === 'secret' ? decode(raw) : raw;
    }
    if (invalid.length > 0) {
      events.push({
        type: 'Warning',
        reason: 'InvalidEnvironmentVariableNames',
        message:
          `Keys [${invalid.sort().join(', ')}] from the EnvFrom ${kind === 'secret' ? 'secret' : 'configMap'} ` +
          `${ns}/${refName} were skipped since they are considered invalid environment variable names.`,
      });
    }
  }

  const addrs = { hostIP: ctx.hostIP, podIP: ctx.podIP };
  const withNode: V1Pod = {
    ...pod,
    spec: { containers: [], ...pod.spec, nodeName: pod.spec?.nodeName || ctx.nodeName },
  };
  for (const e of container.env ?? []) {
    let val = e.value ?? '';
    const from = e.valueFrom;
    if (val !== '') {
      val = expand(val, mappingFor(env));
    } else if (from?.fieldRef) {
      val = wrap(() => podFieldValue(withNode, from.fieldRef!, addrs));
    } else if (from?.resourceFieldRef) {
      val = wrap(() => resourceFieldValue(pod, container, from.resourceFieldRef!, ctx.nodeAllocatable));
    } else if (from?.configMapKeyRef) {
      const { name = '', key, optional } = from.configMapKeyRef;
      const cm = await objects.configMap(name);
      if (!cm) {
        if (optional) continue;
        throw configError(notFound('configmap', name));
      }
      if (!Object.hasOwn(cm.data ?? {}, key)) {
        if (optional) continue;
        throw configError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
      }
      val = cm.data![key];
    } else if (from?.secretKeyRef) {
      const { name = '', key, optional } = from.secretKeyRef;
      const secret = await objects.secret(name);
      if (!secret) {
        if (optional) continue;
        throw configError(notFound('secret', name));
      }
      if (!Object.hasOwn(secret.data ?? {}, key)) {
        if (optional) continue;
        throw configError(`couldn't find key ${key} in Secret ${ns}/${name}`);
      }
      val = decode(secret.data![key]);
    } else if (from && Object.keys(from).length > 0) {
      throw configError(`env var ${e.name}: unsupported valueFrom source ${Object.keys(from).join(', ')}`);
    }
    env[e.name] = val;
  }
  return env;
}

function wrap(f: () => string): string {
  try {
    return f();
  } catch (err) {
    if (err instanceof SpecError) throw err;
    throw configError(err instanceof Error ? err.message : String(err));
  }
}

/** Each of `args` with `$(VAR)` expanded against `env` (kubelet ExpandContainerCommandAndArgs). */
export function expandArgs(args: readonly string[], env: Readonly<Record<string, string>>): string[] {
  const mapping = mappingFor(env);
  return args.map((s) => expand(s, mapping));
}

/** The container's `command` followed by its `args`, each with `$(VAR)` expanded against `env`. */
export function expandCommand(container: V1Container, env: Readonly<Record<string, string>>): string[] {
  return expandArgs([...(container.command ?? []), ...(container.args ?? [])], env);
}
