import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AppliedTransaction } from './nft/apply.ts';
import type { NftTable } from './nft/model.ts';

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** `kubegate_node_*`: syncs, nft transactions, table sizes, drift repairs. Nothing without a registry. */
export class NodeMetrics {
  readonly #sync: Histogram | null = null;
  readonly #txBytes: Histogram<'kind'> | null = null;
  readonly #txSeconds: Histogram<'kind'> | null = null;
  readonly #txElementOps: Histogram<'kind'> | null = null;
  readonly #transactions: Counter<'kind' | 'reason'> | null = null;
  readonly #elements: Gauge<'table'> | null = null;
  readonly #chains: Gauge<'table'> | null = null;
  readonly #drift: Counter | null = null;
  readonly #failures: Counter | null = null;
  readonly #problems: Gauge | null = null;
  readonly #prereq: Gauge<'name'> | null = null;

  constructor(registry: Registry | undefined) {
    if (registry === undefined) return;
    const registers = [registry];
    this.#sync = new Histogram({
      name: 'kubegate_node_sync_duration_seconds',
      help: 'One sync: translating Services and NetworkPolicies and applying the nft transaction.',
      buckets: SECONDS,
      registers,
    });
    this.#txSeconds = new Histogram({
      name: 'kubegate_node_nft_transaction_duration_seconds',
      help: 'Time nft took to apply one transaction, by kind (incremental, full).',
      labelNames: ['kind'],
      buckets: SECONDS,
      registers,
    });
    this.#txBytes = new Histogram({
      name: 'kubegate_node_nft_transaction_bytes',
      help: 'Size of the nft -f script of one transaction, by kind.',
      labelNames: ['kind'],
      buckets: [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304],
      registers,
    });
    this.#txElementOps = new Histogram({
      name: 'kubegate_node_nft_transaction_element_ops',
      help: 'Set and map elements added or deleted by one transaction, by kind.',
      labelNames: ['kind'],
      buckets: [0, 1, 4, 16, 64, 256, 1024, 4096, 16384, 65536],
      registers,
    });
    this.#transactions = new Counter({
      name: 'kubegate_node_nft_transactions_total',
      help: 'nft transactions applied, by kind and, for full replaces, reason (start, error, drift).',
      labelNames: ['kind', 'reason'],
      registers,
    });
    this.#elements = new Gauge({
      name: 'kubegate_node_nft_elements',
      help: 'Set and map elements the agent keeps in each of its tables.',
      labelNames: ['table'],
      registers,
    });
    this.#chains = new Gauge({
      name: 'kubegate_node_nft_chains',
      help: 'Chains in each of the agent tables.',
      labelNames: ['table'],
      registers,
    });
    this.#drift = new Counter({
      name: 'kubegate_node_drift_repairs_total',
      help: 'Times the periodic read-back found the kernel tables differing from what was applied, and replaced them.',
      registers,
    });
    this.#failures = new Counter({
      name: 'kubegate_node_sync_failures_total',
      help: 'Syncs whose nft transaction failed even as a full replace (the previous tables keep serving).',
      registers,
    });
    this.#problems = new Gauge({
      name: 'kubegate_node_problems',
      help: 'Fields of Services and NetworkPolicies the agent cannot express (each also an Event).',
      registers,
    });
    this.#prereq = new Gauge({
      name: 'kubegate_node_prerequisite',
      help: 'Whether a node prerequisite holds (1) or not (0): ip_forward, bridge-nf-call-iptables, hairpin, nft.',
      labelNames: ['name'],
      registers,
    });
  }

  sync(ms: number): void {
    this.#sync?.observe(ms / 1000);
  }

  transaction(t: AppliedTransaction): void {
    this.#txSeconds?.observe({ kind: t.kind }, t.ms / 1000);
    this.#txBytes?.observe({ kind: t.kind }, t.bytes);
    this.#txElementOps?.observe({ kind: t.kind }, t.elementOps);
    this.#transactions?.inc({ kind: t.kind, reason: t.reason ?? '' });
  }

  tables(tables: readonly NftTable[]): void {
    for (const t of tables) {
      let n = 0;
      for (const s of t.sets) n += s.elements.length;
      this.#elements?.set({ table: `${t.family} ${t.name}` }, n);
      this.#chains?.set({ table: `${t.family} ${t.name}` }, t.chains.length);
    }
  }

  driftRepaired(): void {
    this.#drift?.inc();
  }

  failure(): void {
    this.#failures?.inc();
  }

  problems(n: number): void {
    this.#problems?.set(n);
  }

  prerequisite(name: string, ok: boolean): void {
    this.#prereq?.set({ name }, ok ? 1 : 0);
  }
}
