import type {
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1ServiceAccountTokenProjection,
  V1Volume,
} from '@kubernetes/client-node';
import type { ObjectSource } from '../types.ts';
import type { FileProjection, Payload } from './atomic-writer.ts';
import { notFound } from './errors.ts';
import { extractFieldPath } from './fieldpath.ts';
import { resourceFieldValue, type NodeAllocatable } from './resources.ts';

// The file sets of secret, configMap, downwardAPI and projected volumes, as the kubelet's volume
// plugins compute them (pkg/volume/{secret,configmap,downwardapi,projected}).

export const DEFAULT_MODE = 0o644;

export interface PayloadContext {
  readonly pod: V1Pod;
  readonly source: ObjectSource;
  readonly allocatable: NodeAllocatable;
  /** A bound token for a serviceAccountToken projection (cached by the caller). */
  token(proj: V1ServiceAccountTokenProjection): Promise<string>;
}

const ns = (pod: V1Pod): string => pod.metadata?.namespace ?? 'default';

/** Several errors as one, worded as Go's utilerrors.NewAggregate. */
export function aggregate(messages: string[]): Error | null {
  const uniq = [...new Set(messages)];
  if (uniq.length === 0) return null;
  return new Error(uniq.length === 1 ? uniq[0] : `[${uniq.join(', ')}]`);
}

function keyed(
  entries: Map<string, Buffer>,
  items: V1KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
  missing: (key: string) => string,
): Payload {
  const payload: Payload = new Map();
  if (!items?.length) {
    for (const [k, data] of entries) payload.set(k, { data, mode });
    return payload;
  }
  for (const it of items) {
    const data = entries.get(it.key);
    if (!data) {
      if (optional) continue;
      throw new Error(missing(it.key));
    }
    payload.set(it.path, { data, mode: it.mode ?? mode });
  }
  return payload;
}

export async function secretPayload(
  ctx: PayloadContext,
  name: string,
  items: V1KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
): Promise<Payload> {
  const secret = await ctx.source.secret(ns(ctx.pod), name);
  if (!secret && !optional) throw new Error(notFound('secret', name));
  const entries = new Map(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  return keyed(entries, items, mode, optional, (k) => `references non-existent secret key: ${k}`);
}

export async function configMapPayload(
  ctx: PayloadContext,
  name: string,
  items: V1KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
): Promise<Payload> {
  const cm = await ctx.source.configMap(ns(ctx.pod), name);
  if (!cm && !optional) throw new Error(notFound('configmap', name));
  const entries = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm?.binaryData ?? {})) entries.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries(cm?.data ?? {})) entries.set(k, Buffer.from(v, 'utf8'));
  return keyed(entries, items, mode, optional, (k) => `configmap references non-existent config key: ${k}`);
}

/** downwardapi.CollectData: every item is a file; failures are aggregated. */
export function downwardAPIPayload(
  ctx: PayloadContext,
  items: V1DownwardAPIVolumeFile[] | undefined,
  mode: number,
): Payload {
  const payload: Payload = new Map();
  const errors: string[] = [];
  for (const it of items ?? []) {
    let text = '';
    try {
      if (it.fieldRef) text = extractFieldPath(ctx.pod, it.fieldRef.fieldPath);
      else if (it.resourceFieldRef)
        text = resourceFieldValue(ctx.pod, undefined, it.resourceFieldRef, ctx.allocatable);
    } catch (err) {
      errors.push((err as Error).message);
    }
    payload.set(it.path, { data: Buffer.from(text, 'utf8'), mode: it.mode ?? mode });
  }
  const err = aggregate(errors);
  if (err) throw err;
  return payload;
}

/** The projected plugin's collectData: all sources merged, later ones winning; errors aggregated. */
export async function projectedPayload(ctx: PayloadContext, vol: V1Volume): Promise<Payload> {
  const mode = vol.projected?.defaultMode ?? DEFAULT_MODE;
  const payload: Payload = new Map();
  const errors: string[] = [];
  for (const src of vol.projected?.sources ?? []) {
    try {
      let part: Payload | [string, FileProjection] = new Map();
      if (src.secret) {
        part = await secretPayload(ctx, src.secret.name ?? '', src.secret.items, mode, !!src.secret.optional);
      } else if (src.configMap) {
        const c = src.configMap;
        part = await configMapPayload(ctx, c.name ?? '', c.items, mode, !!c.optional);
      } else if (src.downwardAPI) {
        part = downwardAPIPayload(ctx, src.downwardAPI.items, mode);
      } else if (src.serviceAccountToken) {
        const token = await ctx.token(src.serviceAccountToken);
        part = [src.serviceAccountToken.path, { data: Buffer.from(token, 'utf8'), mode }];
      } else {
        errors.push(`unsupported projected volume source: ${Object.keys(src).join(', ')}`);
      }
      if (Array.isArray(part)) payload.set(part[0], part[1]);
      else for (const [k, v] of part) payload.set(k, v);
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  const err = aggregate(errors);
  if (err) throw err;
  return payload;
}
