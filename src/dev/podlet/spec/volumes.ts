import type { V1Pod, V1ServiceAccountTokenProjection, V1Volume } from '@kubernetes/client-node';
import { constants, type Stats } from 'node:fs';
import { chmod, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectSource } from '../types.ts';
import { writeAtomically, type Payload } from './atomic-writer.ts';
import { mountError, SpecError } from './errors.ts';
import {
  configMapPayload,
  DEFAULT_MODE,
  downwardAPIPayload,
  projectedPayload,
  secretPayload,
} from './payloads.ts';
import type { PayloadContext } from './payloads.ts';
import type { NodeAllocatable } from './resources.ts';
import { tokenRefreshAt, type TokenCache } from './tokens.ts';

// A pod's volumes on the host, under `dir` as the kubelet lays out pods/<uid>/volumes:
// `dir/kubernetes.io~<plugin>/<volume name>`; hostPath volumes are the host path itself.

export interface VolumeOptions {
  /** Node allocatable, for downwardAPI resourceFieldRef on containers without limits (default 0). */
  readonly nodeAllocatable?: NodeAllocatable;
  /** The clock, for token expiry (tests). */
  readonly now?: () => Date;
}

/** The volume types the podlet can set up. */
export const SUPPORTED_VOLUME_TYPES = [
  'emptyDir',
  'secret',
  'configMap',
  'projected',
  'downwardAPI',
  'hostPath',
] as const;

const PLUGIN_DIRS: Record<string, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  secret: 'kubernetes.io~secret',
  configMap: 'kubernetes.io~configmap',
  projected: 'kubernetes.io~projected',
  downwardAPI: 'kubernetes.io~downward-api',
};

/** The type of a volume (`emptyDir`, `persistentVolumeClaim`, ...): its one source field. */
export function volumeType(vol: V1Volume): string {
  return Object.keys(vol).find((k) => k !== 'name' && vol[k as keyof V1Volume] != null) ?? 'unknown';
}

const HOST_PATH_KINDS: Record<string, [(s: Stats) => boolean, string]> = {
  Directory: [(s) => s.isDirectory(), 'is not a directory'],
  DirectoryOrCreate: [(s) => s.isDirectory(), 'is not a directory'],
  File: [(s) => s.isFile(), 'is not a file'],
  FileOrCreate: [(s) => s.isFile(), 'is not a file'],
  Socket: [(s) => s.isSocket(), 'is not a socket file'],
  CharDevice: [(s) => s.isCharacterDevice(), 'is not a character device'],
  BlockDevice: [(s) => s.isBlockDevice(), 'is not a block device'],
};

async function hostPath(path: string, type: string | undefined): Promise<string> {
  if (type === 'DirectoryOrCreate') await mkdir(path, { recursive: true, mode: 0o755 });
  if (type === 'FileOrCreate')
    await (await open(path, constants.O_CREAT | constants.O_RDONLY, 0o644)).close();
  const st = await stat(path).catch(() => null);
  const check = HOST_PATH_KINDS[type ?? ''];
  if (!st) throw new Error(`hostPath type check failed: ${path} ${check ? check[1] : 'does not exist'}`);
  if (check && !check[0](st)) throw new Error(`hostPath type check failed: ${path} ${check[1]}`);
  return path;
}

const tokensFile = (dir: string): string => join(dir, 'tokens.json');

async function loadTokens(dir: string): Promise<TokenCache> {
  try {
    return JSON.parse(await readFile(tokensFile(dir), 'utf8')) as TokenCache;
  } catch {
    return {};
  }
}

async function setUp(pod: V1Pod, dir: string, source: ObjectSource, opts: VolumeOptions, refresh: boolean) {
  const now = opts.now ?? (() => new Date());
  const tokens = await loadTokens(dir);
  let tokensChanged = false;
  const result = new Map<string, string>();
  for (const vol of pod.spec?.volumes ?? []) {
    const type = volumeType(vol);
    if (refresh && (type === 'emptyDir' || type === 'hostPath')) continue;
    const ctx: PayloadContext = {
      pod,
      source,
      allocatable: opts.nodeAllocatable ?? { cpu: '0', memory: '0' },
      token: async (proj: V1ServiceAccountTokenProjection) => {
        const key = `${vol.name}/${proj.path}`;
        const cached = tokens[key];
        if (cached && now() < tokenRefreshAt(cached)) return cached.token;
        const expirationSeconds = proj.expirationSeconds ?? 3600;
        const res = await source.serviceAccountToken(
          pod.metadata?.namespace ?? 'default',
          pod.spec?.serviceAccountName || 'default',
          {
            ...(proj.audience ? { audience: proj.audience } : {}),
            expirationSeconds,
            podName: pod.metadata?.name ?? '',
            podUID: pod.metadata?.uid ?? '',
          },
        );
        tokens[key] = { token: res.token, expirationTimestamp: res.expirationTimestamp, expirationSeconds };
        tokensChanged = true;
        return res.token;
      },
    };
    try {
      const plugin = PLUGIN_DIRS[type];
      const target = plugin ? join(dir, plugin, vol.name) : '';
      let payload: Payload | null = null;
      switch (type) {
        case 'emptyDir':
          await mkdir(target, { recursive: true });
          await chmod(target, 0o777);
          break;
        case 'hostPath':
          result.set(vol.name, await hostPath(vol.hostPath!.path, vol.hostPath!.type));
          continue;
        case 'secret': {
          const s = vol.secret!;
          const mode = s.defaultMode ?? DEFAULT_MODE;
          payload = await secretPayload(ctx, s.secretName ?? '', s.items, mode, !!s.optional);
          break;
        }
        case 'configMap': {
          const c = vol.configMap!;
          payload = await configMapPayload(
            ctx,
            c.name ?? '',
            c.items,
            c.defaultMode ?? DEFAULT_MODE,
            !!c.optional,
          );
          break;
        }
        case 'downwardAPI':
          payload = downwardAPIPayload(
            ctx,
            vol.downwardAPI!.items,
            vol.downwardAPI!.defaultMode ?? DEFAULT_MODE,
          );
          break;
        case 'projected':
          payload = await projectedPayload(ctx, vol);
          break;
        default:
          throw new Error(`volume type ${type} is not supported by the podlet`);
      }
      if (payload) await writeAtomically(target, payload);
      result.set(vol.name, target);
    } catch (err) {
      if (err instanceof SpecError) throw err;
      throw mountError(vol.name, err instanceof Error ? err.message : String(err));
    } finally {
      if (tokensChanged) {
        await writeFile(tokensFile(dir), JSON.stringify(tokens), { mode: 0o600 });
        tokensChanged = false;
      }
    }
  }
  return result;
}

/**
 * Sets up every volume of the pod under `dir` and returns volume name → host folder (or file, for a
 * hostPath file). Throws SpecError (waiting reason ContainerCreating, event FailedMount) on the first
 * volume that cannot be set up. Idempotent: calling it again keeps unchanged content as it is.
 */
export async function materializeVolumes(
  pod: V1Pod,
  dir: string,
  source: ObjectSource,
  opts: VolumeOptions = {},
): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  return setUp(pod, dir, source, opts, false);
}

/**
 * Rewrites the content of secret, configMap, downwardAPI and projected volumes from the current objects
 * (atomically, and only where something changed); requests a new token for each projected
 * serviceAccountToken that is due (see nextTokenRefresh), reusing the others.
 */
export async function refreshVolumes(
  pod: V1Pod,
  dir: string,
  source: ObjectSource,
  opts: VolumeOptions = {},
): Promise<void> {
  await setUp(pod, dir, source, opts, true);
}

/** When the earliest projected token of the pod's volumes under `dir` is due for refresh; null if none. */
export async function nextTokenRefresh(dir: string): Promise<Date | null> {
  const times = Object.values(await loadTokens(dir)).map(tokenRefreshAt);
  return times.length ? new Date(Math.min(...times.map((d) => d.getTime()))) : null;
}
