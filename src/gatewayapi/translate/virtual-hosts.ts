// A listener's virtual hosts: every hostname a route serves on it becomes one; a virtual host lists
// the routes of its own hostname first and then, as fall-through, the routes of every less specific
// hostname that covers it (the spec gives precedence to the route with the most specific matching
// hostname, it does not hide the others). Within that: the original route hostname's specificity,
// then the match precedence, then the oldest route, then namespace/name, then rule and match order.
//
// Built incrementally. A virtual host is a function of its (attachment, served hostname) pairs
// alone, and attachments are memoized per route, so the virtual hosts of a listener are kept with
// the attachments they were built from: when a few attachments came or went and no wildcard hostname
// is involved, only their hostnames are rebuilt and re-sorted. Adding one route at 5,000 builds one
// virtual host, not 5,000, and the data plane then reuses the compiled tables of all the others.

import type { VirtualHostIR } from '../ir.ts';
import type { Attachment, ServedHostname } from './attachment.ts';
import { compareSpecificity, coveringHostnames } from './hostnames.ts';
import type { ListenerState } from './listeners.ts';
import { compareMatches } from './matches.ts';
import { compareStrings } from './read.ts';
import type { CompiledRoute, RouteEntry } from './routes.ts';

interface Candidate {
  readonly route: CompiledRoute;
  readonly served: ServedHostname;
  readonly entry: RouteEntry;
}

interface Serving {
  readonly attachment: Attachment;
  readonly served: ServedHostname;
}

interface Built {
  /** Attachment, served hostname, attachment, served hostname, …: what `vh` was built from. */
  readonly pairs: readonly unknown[];
  readonly vh: VirtualHostIR;
}

/** What a listener's virtual hosts were built from; owned by the cache, changed in place. */
interface ListenerHosts {
  attachments: ReadonlySet<Attachment>;
  /** Served hostname → who serves it. */
  readonly byServed: Map<string, Serving[]>;
  readonly byHost: Map<string, Built>;
  /** Hostnames, most specific first, and their virtual hosts in the same order. */
  sorted: string[];
  out: VirtualHostIR[];
}

const hostsOfListener = new WeakMap<ListenerState, ListenerHosts>();
/** Beyond this many attachments come or gone, building every virtual host again is as cheap. */
const MAX_CHANGED = 64;

function compareServed(a: ServedHostname, b: ServedHostname): number {
  return compareSpecificity(a.host, b.host) || compareSpecificity(a.original, b.original);
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return (
    compareServed(a.served, b.served) ||
    compareMatches(a.entry.ir.match, b.entry.ir.match) ||
    (a.route.meta.created === b.route.meta.created
      ? 0
      : a.route.meta.created < b.route.meta.created
        ? -1
        : 1) ||
    compareStrings(a.route.meta.key, b.route.meta.key) ||
    a.entry.ruleIndex - b.entry.ruleIndex ||
    a.entry.matchIndex - b.entry.matchIndex
  );
}

function samePairs(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let n = 0; n < a.length; n++) if (a[n] !== b[n]) return false;
  return true;
}

/** The virtual host for `host`, reusing `hit` when it was built from the same pairs. */
function build(
  host: string,
  byServed: ReadonlyMap<string, readonly Serving[]>,
  wildcards: boolean,
  hit: Built | undefined,
): Built {
  const direct = byServed.get(host) ?? [];
  if (!wildcards && direct.length === 1) {
    // The common case, one route for a name: nothing allocated when it is unchanged.
    const { attachment, served } = direct[0];
    if (hit !== undefined && hit.pairs.length === 2 && hit.pairs[0] === attachment && hit.pairs[1] === served)
      return hit;
  }
  const best = new Map<Attachment, ServedHostname>();
  for (const outer of wildcards ? coveringHostnames(host) : [host])
    for (const { attachment, served } of byServed.get(outer) ?? []) {
      const was = best.get(attachment);
      if (was === undefined || compareServed(served, was) < 0) best.set(attachment, served);
    }
  const pairs: unknown[] = [];
  for (const [a, served] of best) pairs.push(a, served);
  if (hit !== undefined && samePairs(hit.pairs, pairs)) return hit;
  const candidates: Candidate[] = [];
  for (const [a, served] of best)
    for (const entry of a.route.entries) candidates.push({ route: a.route, served, entry });
  return { pairs, vh: { hostname: host, routes: candidates.sort(compareCandidates).map((c) => c.entry.ir) } };
}

/** Where `host` is or belongs in `sorted` (most specific first). */
function position(sorted: readonly string[], host: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareSpecificity(sorted[mid], host) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hasWildcard(a: Attachment): boolean {
  return a.hostnames.some((s) => s.host.startsWith('*'));
}

/** Every virtual host of `attachments` (the listener's), built anew but for reused ones. */
function fromScratch(attachments: readonly Attachment[], before: ListenerHosts | undefined): ListenerHosts {
  const byServed = new Map<string, Serving[]>();
  for (const attachment of attachments)
    for (const served of attachment.hostnames) {
      const list = byServed.get(served.host);
      if (list) list.push({ attachment, served });
      else byServed.set(served.host, [{ attachment, served }]);
    }
  const sorted = [...byServed.keys()].sort(compareSpecificity);
  // Without wildcards among the served hostnames, a host is covered by itself alone.
  const wildcards = sorted.some((h) => h.startsWith('*'));
  const byHost = new Map<string, Built>();
  const out = sorted.map((host) => {
    const b = build(host, byServed, wildcards, before?.byHost.get(host));
    byHost.set(host, b);
    return b.vh;
  });
  return { attachments: new Set(attachments), byServed, byHost, sorted, out };
}

/**
 * Changes `state` for the attachments that came and went; false when that is not worth it or not
 * sound here (wildcard hostnames: a change then reaches every hostname they cover).
 */
function patch(state: ListenerHosts, attachments: readonly Attachment[]): boolean {
  const now = new Set(attachments);
  const added = attachments.filter((a) => !state.attachments.has(a));
  if (added.length > MAX_CHANGED) return false;
  const removed: Attachment[] = [];
  for (const a of state.attachments) if (!now.has(a) && removed.push(a) > MAX_CHANGED) return false;
  if (added.length + removed.length > MAX_CHANGED) return false;
  if (added.some(hasWildcard) || removed.some(hasWildcard) || state.sorted.some((h) => h.startsWith('*')))
    return false;

  const touched = new Set<string>();
  for (const a of removed)
    for (const s of a.hostnames) {
      touched.add(s.host);
      const rest = (state.byServed.get(s.host) ?? []).filter((x) => x.attachment !== a);
      if (rest.length > 0) state.byServed.set(s.host, rest);
      else state.byServed.delete(s.host);
    }
  for (const a of added)
    for (const served of a.hostnames) {
      touched.add(served.host);
      const list = state.byServed.get(served.host);
      if (list) list.push({ attachment: a, served });
      else state.byServed.set(served.host, [{ attachment: a, served }]);
    }
  const sorted = [...state.sorted];
  const out = [...state.out];
  for (const host of touched) {
    const at = position(sorted, host);
    const present = sorted[at] === host;
    if (!state.byServed.has(host)) {
      if (present) {
        sorted.splice(at, 1);
        out.splice(at, 1);
      }
      state.byHost.delete(host);
      continue;
    }
    const b = build(host, state.byServed, false, state.byHost.get(host));
    state.byHost.set(host, b);
    if (present) out[at] = b.vh;
    else {
      sorted.splice(at, 0, host);
      out.splice(at, 0, b.vh);
    }
  }
  state.attachments = now;
  state.sorted = sorted;
  state.out = out;
  return true;
}

/** The listener's virtual hosts, most specific hostname first. */
export function virtualHosts(listener: ListenerState, attachments: readonly Attachment[]): VirtualHostIR[] {
  const before = hostsOfListener.get(listener);
  if (before === undefined || !patch(before, attachments)) {
    const state = fromScratch(attachments, before);
    hostsOfListener.set(listener, state);
    return state.out;
  }
  // The IR freezes the array it is given; `patch` copies before it changes one.
  return before.out;
}
