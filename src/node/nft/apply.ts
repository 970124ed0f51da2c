import type { Logger } from 'pino';
import { diffRuleset, tableId } from './diff.ts';
import { expectedShape, shapeDrift, shapeFromJson } from './drift.ts';
import { applyScript, isOwnTableName, listTables, runNft, tablesListed, type NftCommand } from './exec.ts';
import type { NftLibrary } from './library.ts';
import type { NftRuleset, NftTable } from './model.ts';
import { renderTables } from './render.ts';

/** One transaction the applier wrote, for metrics and tests. */
export interface AppliedTransaction {
  readonly kind: 'incremental' | 'full';
  /** Why a full replace: start, error, drift. */
  readonly reason?: 'start' | 'error' | 'drift';
  readonly bytes: number;
  readonly elementOps: number;
  readonly chainOps: number;
  readonly ms: number;
  readonly script: string;
}

export interface ApplierOptions {
  log: Logger;
  /** The `nft` argv prefix (default `['nft']`). */
  nft?: NftCommand;
  /**
   * Transactions go through this libnftables context instead of a spawned `nft -f -` (reads, i.e.
   * the drift check and listing tables, still run `nft`). It acts on this process's namespace.
   */
  library?: NftLibrary | null;
  /** Desired states handed in within this window are one transaction (ms, default 20). */
  coalesceMs?: number;
  /** How often the kernel's tables are read back and compared (ms, default 5 min; 0: never). */
  driftCheckMs?: number;
  /** Called after every transaction (metrics). */
  onTransaction?: (t: AppliedTransaction) => void;
  /** Called after a drift check found and repaired drift. */
  onDriftRepaired?: (problems: readonly string[]) => void;
}

/**
 * Writes the desired `kubegate-*` tables into the network namespace it runs in, one `nft -f -`
 * transaction per sync. It keeps what it applied last and writes only the difference (element adds
 * and deletes, rewritten chains); it replaces its tables whole on the first sync (adopting or
 * rebuilding what a previous run left, and deleting `kubegate-*` tables no longer wanted), after any
 * failed transaction, and when a periodic read-back finds the kernel differing from what it wrote.
 * Tables not named `kubegate-*` are never named in a transaction.
 */
export class Applier {
  readonly #opts: Required<Omit<ApplierOptions, 'onTransaction' | 'onDriftRepaired' | 'library'>> &
    Pick<ApplierOptions, 'onTransaction' | 'onDriftRepaired' | 'library'>;
  /** What the kernel holds, as far as this applier knows; null: unknown (replace whole next). */
  #applied: Map<string, NftTable> | null = null;
  #fullReason: 'start' | 'error' | 'drift' = 'start';
  #desired: NftRuleset | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #driftTimer: NodeJS.Timeout | null = null;
  #closed = false;
  /** The last transaction's error, if it failed (cleared by a good one). */
  lastError: Error | null = null;

  constructor(opts: ApplierOptions) {
    this.#opts = { nft: ['nft'], coalesceMs: 20, driftCheckMs: 300_000, ...opts };
    if (this.#opts.driftCheckMs > 0) {
      this.#driftTimer = setInterval(() => void this.checkDrift().catch(() => {}), this.#opts.driftCheckMs);
      this.#driftTimer.unref();
    }
  }

  /**
   * Hands in the desired tables; resolves once a transaction that includes them was applied (or
   * rejects with its error). Calls within the coalescing window share one transaction.
   */
  apply(desired: NftRuleset): Promise<void> {
    for (const t of desired.tables)
      if (!isOwnTableName(t.name))
        throw new TypeError(`table ${t.name}: the agent only owns kubegate-* tables`);
    this.#desired = desired;
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#schedule();
    return done;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#kick();
    }, this.#opts.coalesceMs);
  }

  async #kick(): Promise<void> {
    if (this.#running) return; // the running sync re-schedules when it ends
    const desired = this.#desired;
    const waiters = this.#waiters;
    this.#waiters = [];
    if (desired === null) return;
    this.#desired = null;
    this.#running = this.#sync(desired);
    try {
      await this.#running;
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err as Error);
    } finally {
      this.#running = null;
      if (this.#desired !== null) this.#schedule();
    }
  }

  /** The tables as last applied (tests, drift check). */
  get applied(): readonly NftTable[] {
    return [...(this.#applied?.values() ?? [])];
  }

  async #sync(desired: NftRuleset): Promise<void> {
    const started = performance.now();
    if (this.#applied !== null) {
      const d = diffRuleset(this.#applied, desired.tables);
      if (d.script === '') return;
      try {
        await this.#transaction(d.script);
        this.#remember(desired);
        this.lastError = null;
        this.#report({
          kind: 'incremental',
          script: d.script,
          elementOps: d.elementOps,
          chainOps: d.chainOps,
          started,
        });
        return;
      } catch (err) {
        this.#opts.log.warn(
          { kind: 'nft', err: (err as Error).message },
          'incremental nft transaction failed; replacing the tables whole',
        );
        this.#applied = null;
        this.#fullReason = 'error';
      }
    }
    await this.#replaceAll(desired, started);
  }

  async #replaceAll(desired: NftRuleset, started: number): Promise<void> {
    const wanted = new Set(desired.tables.map(tableId));
    let stale: string[] = [];
    try {
      // Through libnftables when it is there: a spawned `nft` costs tens of ms on the first sync's path.
      const tables = this.#opts.library
        ? tablesListed(await this.#opts.library.run('list tables\n'))
        : await listTables(this.#opts.nft);
      stale = tables
        .filter((t) => isOwnTableName(t.name) && !wanted.has(tableId(t)))
        .map((t) => `delete table ${tableId(t)}\n`);
    } catch (err) {
      this.#opts.log.warn({ kind: 'nft', err: (err as Error).message }, 'could not list tables');
    }
    const script = renderTables(desired.tables) + stale.join('');
    try {
      await this.#transaction(script);
    } catch (err) {
      this.lastError = err as Error;
      this.#applied = null;
      this.#fullReason = 'error';
      throw err;
    }
    this.lastError = null;
    const reason = this.#fullReason;
    this.#remember(desired);
    let elementOps = 0;
    for (const t of desired.tables) for (const s of t.sets) elementOps += s.elements.length;
    this.#report({ kind: 'full', reason, script, elementOps, chainOps: 0, started });
  }

  async #transaction(script: string): Promise<void> {
    if (this.#opts.library) await this.#opts.library.run(script);
    else await applyScript(this.#opts.nft, script);
  }

  #remember(desired: NftRuleset): void {
    this.#applied = new Map(desired.tables.map((t) => [tableId(t), t]));
  }

  #report(t: {
    kind: 'incremental' | 'full';
    reason?: 'start' | 'error' | 'drift';
    script: string;
    elementOps: number;
    chainOps: number;
    started: number;
  }): void {
    const ms = performance.now() - t.started;
    const tx: AppliedTransaction = {
      kind: t.kind,
      ...(t.reason !== undefined ? { reason: t.reason } : {}),
      bytes: Buffer.byteLength(t.script),
      elementOps: t.elementOps,
      chainOps: t.chainOps,
      ms,
      script: t.script,
    };
    this.#opts.log.debug(
      {
        kind: 'nft',
        transaction: tx.kind,
        reason: tx.reason,
        bytes: tx.bytes,
        elementOps: tx.elementOps,
        ms,
      },
      'nft transaction applied',
    );
    this.#opts.onTransaction?.(tx);
  }

  /**
   * Reads the applier's own tables back (`nft -j list table`, slow with many chains: call rarely)
   * and, if they differ from what it wrote, replaces them whole. Resolves with the differences found.
   */
  async checkDrift(): Promise<string[]> {
    if (this.#running) await this.#running.catch(() => {});
    const applied = this.#applied;
    if (applied === null || this.#closed) return [];
    const problems: string[] = [];
    for (const t of applied.values()) {
      try {
        const json = await runNft(this.#opts.nft, ['-j', 'list', 'table', t.family, t.name]);
        for (const p of shapeDrift(expectedShape(t), shapeFromJson(json)))
          problems.push(`${tableId(t)}: ${p}`);
      } catch {
        problems.push(`${tableId(t)}: missing`);
      }
    }
    // A sync may have run while reading; it wrote what is desired, so only repair if nothing moved.
    if (problems.length === 0 || this.#applied !== applied) return problems;
    this.#opts.log.warn(
      { kind: 'nft', problems: problems.slice(0, 20) },
      'nft tables drifted; replacing them',
    );
    this.#applied = null;
    this.#fullReason = 'drift';
    this.#desired ??= { tables: [...applied.values()] };
    const repaired = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#schedule();
    await repaired;
    this.#opts.onDriftRepaired?.(problems);
    return problems;
  }

  /** Stops timers; a running transaction finishes. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#driftTimer) clearInterval(this.#driftTimer);
    await this.#running?.catch(() => {});
  }
}

/** Deletes every `kubegate-*` table in the namespace (`kubegate node --cleanup`); returns their ids. */
export async function cleanupTables(nft: NftCommand = ['nft']): Promise<string[]> {
  const own = (await listTables(nft)).filter((t) => isOwnTableName(t.name)).map(tableId);
  if (own.length > 0) await applyScript(nft, own.map((id) => `delete table ${id}\n`).join(''));
  return own;
}
