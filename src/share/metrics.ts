import { Counter, Gauge, type Registry } from 'prom-client';
import { shareStats } from './stats.ts';

/** Registers the shared-watch series (this thread's counters, read at scrape time). */
export function registerShareMetrics(registers: Registry[], prefix: string): void {
  new Gauge({
    name: `${prefix}shared_watches`,
    help: 'Watches of rules with share: watches: upstream (watches the gateway holds on the apiservers) and client (client watches served from them).',
    labelNames: ['side'],
    registers,
    collect() {
      this.set({ side: 'upstream' }, shareStats.upstreamWatches);
      this.set({ side: 'client' }, shareStats.clientWatches);
    },
  });
  new Counter({
    name: `${prefix}shared_watch_events_total`,
    help: 'Shared-watch events: fanned_out (one per client written), evicted (clients closed for falling behind the window), resumed (upstream watches resumed after the apiserver ended one), refused (clients denied by the access check).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'fanned_out' }, shareStats.eventsFannedOut);
      this.inc({ result: 'evicted' }, shareStats.evictions);
      this.inc({ result: 'resumed' }, shareStats.resumes);
      this.inc({ result: 'refused' }, shareStats.refused);
    },
  });
  new Counter({
    name: `${prefix}shared_watch_forwarded_total`,
    help: 'Watches on rules with share: watches that went to the apiserver as they are, by reason (encoding, parameter, resource_version, initial_events, timeout, review_failed, window, upstream_refused).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of shareStats.forwarded) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${prefix}shared_list_served_total`,
    help: 'Lists with resourceVersion=0 on rules with share: watches+lists answered from a watch cache.',
    registers,
    collect() {
      this.reset();
      this.inc(shareStats.listsServed);
    },
  });
  new Counter({
    name: `${prefix}shared_list_forwarded_total`,
    help: 'Lists on rules with share: watches+lists that went to the apiserver as they are, by reason (encoding, table, resource_version, parameter, label_selector, field_selector, review_failed, upstream_refused, not_ready, list_format, metadata_format, too_large, behind).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of shareStats.listsForwarded) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: `${prefix}shared_list_events_total`,
    help: 'Watch-cache events: synced (LISTs made, the first and each relist), relisted (watches that could not go on: 410 Gone, an unreadable event), refused (lists denied by the access check), initial_state (watches from resourceVersion 0 given the current state).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'synced' }, shareStats.listSyncs);
      this.inc({ result: 'relisted' }, shareStats.listRelists);
      this.inc({ result: 'refused' }, shareStats.listsRefused);
      this.inc({ result: 'initial_state' }, shareStats.initialStates);
    },
  });
  new Counter({
    name: `${prefix}shared_watch_lists_total`,
    help: 'Watch-lists (sendInitialEvents=true, client-go informers since 1.35) on rules with share: watches: upstream (requests sent to the apiserver), served (clients answered by one of them), moved (clients moved after their initial events to the one plain stream of their watch).',
    labelNames: ['result'],
    registers,
    collect() {
      this.reset();
      this.inc({ result: 'upstream' }, shareStats.watchListsUpstream);
      this.inc({ result: 'served' }, shareStats.watchListsServed);
      this.inc({ result: 'moved' }, shareStats.watchListsMoved);
    },
  });
  new Gauge({
    name: `${prefix}shared_list_caches`,
    help: 'Watch caches held for cached lists (one per collection listed with resourceVersion=0).',
    registers,
    collect() {
      this.set(shareStats.listCaches);
    },
  });
}
