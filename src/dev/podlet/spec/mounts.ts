import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, sep } from 'node:path';
import type { Mount } from '../types.ts';
import { configError } from './errors.ts';
import { expand } from './expansion.ts';
import { volumeType } from './volumes.ts';

// A container's mounts from its volumeMounts, as the kubelet's makeMounts computes them.

/** Volumes whose content the kubelet writes: always mounted read-only (since 1.10). */
const READ_ONLY_TYPES = new Set(['secret', 'configMap', 'downwardAPI', 'projected']);

/** kubecontainer.ExpandContainerVolumeMounts: every referenced variable must be set and non-empty. */
export function expandSubPathExpr(expr: string, env: Readonly<Record<string, string>>): string {
  const missing = new Set<string>();
  const out = expand(expr, (key) => {
    const v = Object.hasOwn(env, key) ? env[key] : '';
    if (v === '') missing.add(key);
    return v;
  });
  if (missing.size > 0) throw configError(`missing value for ${[...missing].sort().join(', ')}`);
  return out;
}

function subPathHost(volumeDir: string, subPath: string, mountName: string, containerName: string): string {
  if (isAbsolute(subPath)) throw configError(`error SubPath \`${subPath}\` must not be an absolute path`);
  if (subPath.split(sep).includes('..')) {
    throw configError(`unable to provision SubPath \`${subPath}\`: must not contain '..'`);
  }
  const path = join(volumeDir, subPath);
  if (!existsSync(path)) {
    try {
      mkdirSync(path, { recursive: true, mode: statSync(volumeDir).mode & 0o7777 });
    } catch {
      throw configError(
        `failed to create subPath directory for volumeMount "${mountName}" of container "${containerName}"`,
      );
    }
  }
  // The kubelet bind-mounts the resolved path, which must stay inside the volume: a subPath of a
  // secret or configMap volume thus pins the file of the moment (it is not updated later).
  const real = realpathSync(path);
  const root = realpathSync(volumeDir);
  if (real !== root && !real.startsWith(root + sep)) {
    throw configError(`subpath "${real}" not within volume path "${root}"`);
  }
  return real;
}

/**
 * The container's mounts. `volumeDirs` is what materializeVolumes returned; `env` is the container's
 * resolved environment (for `subPathExpr`). Throws SpecError (CreateContainerConfigError). A missing
 * subPath is created in the volume, as the kubelet does.
 */
export function containerMounts(
  pod: V1Pod,
  container: V1Container,
  volumeDirs: ReadonlyMap<string, string>,
  env: Readonly<Record<string, string>> = {},
): Mount[] {
  const types = new Map((pod.spec?.volumes ?? []).map((v) => [v.name, volumeType(v)]));
  return (container.volumeMounts ?? []).map((m): Mount => {
    const dir = volumeDirs.get(m.name);
    if (dir === undefined) {
      throw configError(`cannot find volume "${m.name}" to mount into container "${container.name}"`);
    }
    const subPath = m.subPathExpr ? expandSubPathExpr(m.subPathExpr, env) : (m.subPath ?? '');
    return {
      hostPath: subPath ? subPathHost(dir, subPath, m.name, container.name) : dir,
      mountPath: m.mountPath,
      readOnly: !!m.readOnly || READ_ONLY_TYPES.has(types.get(m.name) ?? ''),
    };
  });
}
