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
}
