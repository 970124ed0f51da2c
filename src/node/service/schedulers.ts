import type { ServiceEndpoint } from './endpoints.ts';
import { maglevSize, maglevTable } from './maglev.ts';
import type { Service } from './objects.ts';

/** kube-router's annotation (IPVS scheduler names) and ours, which wins when both are set. */
export const KUBE_ROUTER_SCHEDULER = 'kube-router.io/service.scheduler';
export const KUBE_ROUTER_SCHEDFLAGS = 'kube-router.io/service.schedflags';
export const SCHEDULER = 'node.kubegate.io/scheduler';
/** `wrr` weights: `podName=weight,…` (or `ip=weight`); unnamed endpoints weigh 1. */
export const WEIGHTS = 'node.kubegate.io/weights';

export type SchedulerName = 'rr' | 'wrr' | 'random' | 'sh' | 'dh' | 'mh';

/** How a slot is picked per new connection: the nft expression family of the shared chain. */
export type Generator = 'inc' | 'random' | 'src' | 'srcport' | 'dst';

export interface Scheduler {
  readonly name: SchedulerName;
  /** mh `flag-1`: fall back to another backend when the chosen one is gone (always so here). */
  readonly fallback: boolean;
  /** mh/sh `flag-2`: the source port is hashed too. */
  readonly port: boolean;
}

export interface SchedulerProblem {
  readonly field: string;
  readonly message: string;
}

const KNOWN = new Set(['rr', 'wrr', 'random', 'sh', 'dh', 'mh']);

/** The string-valued annotations of a Service (anything else is ignored). */
function annotations(svc: Service): Record<string, string> {
  const out: Record<string, string> = {};
  const a = svc.metadata?.annotations;
  if (a !== null && typeof a === 'object')
    for (const [k, v] of Object.entries(a)) if (typeof v === 'string') out[k] = v;
  return out;
}

/** The scheduler a Service asks for, and what in its annotations cannot be honoured. */
export function serviceScheduler(svc: Service): { scheduler: Scheduler; problems: SchedulerProblem[] } {
  const a = annotations(svc);
  const problems: SchedulerProblem[] = [];
  const key = a[SCHEDULER] !== undefined ? SCHEDULER : KUBE_ROUTER_SCHEDULER;
  const raw = (a[key] ?? 'rr').trim().toLowerCase();
  let name: SchedulerName = 'rr';
  if (KNOWN.has(raw)) name = raw as SchedulerName;
  else if (
    raw === 'lc' ||
    raw === 'wlc' ||
    raw === 'lblc' ||
    raw === 'lblcr' ||
    raw === 'sed' ||
    raw === 'nq'
  )
    problems.push({
      field: `metadata.annotations[${key}]`,
      message: `scheduler ${raw} needs per-connection counts that nftables does not keep; refused, the Service is balanced with rr`,
    });
  else
    problems.push({
      field: `metadata.annotations[${key}]`,
      message: `unknown scheduler ${JSON.stringify(raw)} (known: rr, wrr, random, sh, dh, mh); the Service is balanced with rr`,
    });
  let fallback = false;
  let port = false;
  const flags = a[KUBE_ROUTER_SCHEDFLAGS];
  if (flags !== undefined) {
    for (const f of flags
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')) {
      if (f === 'flag-1') fallback = true;
      else if (f === 'flag-2') port = true;
      else
        problems.push({
          field: `metadata.annotations[${KUBE_ROUTER_SCHEDFLAGS}]`,
          message: `unknown flag ${JSON.stringify(f)} (known: flag-1 = fallback, flag-2 = port)`,
        });
    }
  }
  return { scheduler: { name, fallback, port }, problems };
}

/** Weights by pod name or endpoint IP from the `node.kubegate.io/weights` annotation. */
export function parseWeights(svc: Service): { weights: Map<string, number>; problems: SchedulerProblem[] } {
  const weights = new Map<string, number>();
  const problems: SchedulerProblem[] = [];
  const raw = annotations(svc)[WEIGHTS];
  if (raw === undefined) return { weights, problems };
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const m = /^([^=\s]+)=(\d+)$/.exec(part);
    const w = m === null ? NaN : Number(m[2]);
    if (m === null || !Number.isInteger(w) || w < 0 || w > 100)
      problems.push({
        field: `metadata.annotations[${WEIGHTS}]`,
        message: `${JSON.stringify(part)} is not NAME=WEIGHT with a weight from 0 to 100`,
      });
    else weights.set(m[1]!, w);
  }
  return { weights, problems };
}

/**
 * The slot table of a Service port: which endpoint (index into `endpoints`) each slot sends to,
 * and the generator that picks a slot. rr/random: one slot each; wrr: as many slots as the weight,
 * interleaved (smooth weighted round-robin); sh/dh: one slot each, chosen by a hash of the source
 * (destination); mh: a Maglev table, so a changed endpoint set moves few clients.
 */
export function slotTable(
  scheduler: Scheduler,
  endpoints: readonly ServiceEndpoint[],
  weights: ReadonlyMap<string, number>,
): { generator: Generator; slots: number[] } {
  const n = endpoints.length;
  const each = endpoints.map((_, i) => i);
  switch (scheduler.name) {
    case 'random':
      return { generator: 'random', slots: each };
    case 'sh':
      return { generator: scheduler.port ? 'srcport' : 'src', slots: each };
    case 'dh':
      return { generator: 'dst', slots: each };
    case 'mh':
      return {
        generator: scheduler.port ? 'srcport' : 'src',
        slots: maglevTable(
          endpoints.map((e) => `${e.ip}:${e.port}`),
          maglevSize(n),
        ),
      };
    case 'wrr': {
      const w = endpoints.map((e) => weights.get(e.podName ?? '') ?? weights.get(e.ip) ?? 1);
      const total = w.reduce((a, b) => a + b, 0);
      if (total === 0) return { generator: 'inc', slots: each };
      const current = new Array<number>(n).fill(0);
      const slots: number[] = [];
      for (let s = 0; s < total; s++) {
        let best = 0;
        for (let i = 0; i < n; i++) {
          current[i]! += w[i]!;
          if (current[i]! > current[best]!) best = i;
        }
        current[best]! -= total;
        slots.push(best);
      }
      return { generator: 'inc', slots };
    }
    default:
      return { generator: 'inc', slots: each };
  }
}
