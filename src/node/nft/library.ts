// libnftables in this process (through koffi), instead of a spawned `nft -f -` per transaction.
// Measured at 1,000 Services (2 shared cores): a spawned `nft` costs 20–30 ms per sync, most of it
// forking the agent and starting `nft`; the same transaction through one long-lived `nft_ctx` costs
// 1–5 ms. nft 1.0.6 still re-reads the table's declarations (tables, chains, sets; not elements)
// before each batch, because every commit moves the ruleset generation; that part is small.
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { NftError } from './exec.ts';

/** The shared object `nft` itself is built on (Debian: package libnftables1). */
export const LIBNFTABLES = 'libnftables.so.1';

interface Binding {
  run: {
    async(ctx: unknown, script: string, cb: (err: unknown, rc: number) => void): void;
  };
  errors(ctx: unknown): string;
  output(ctx: unknown): string;
  free(ctx: unknown): void;
}

/**
 * One `nft_ctx` for the life of the agent: `run(script)` is `nft -f -` without the process. Calls
 * run one at a time on koffi's worker thread, so the event loop (informers, health) keeps moving
 * while the kernel commits. The context acts on the network namespace this process is in.
 */
export class NftLibrary {
  readonly #b: Binding;
  #ctx: unknown;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(b: Binding, ctx: unknown) {
    this.#b = b;
    this.#ctx = ctx;
  }

  /**
   * Loads libnftables and makes a context, or returns null (and logs why) when it cannot: the caller
   * then applies with `nft -f -`.
   */
  static open(log: Logger, file: string = LIBNFTABLES): NftLibrary | null {
    try {
      const koffi = createRequire(import.meta.url)('koffi') as {
        load(name: string): {
          func(decl: string): ((...args: unknown[]) => unknown) & Record<string, unknown>;
        };
      };
      const lib = koffi.load(file);
      const ctxNew = lib.func('void *nft_ctx_new(uint32_t flags)');
      const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)');
      const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)');
      const b: Binding = {
        run: lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)') as unknown as Binding['run'],
        errors: lib.func('const char *nft_ctx_get_error_buffer(void *ctx)') as Binding['errors'],
        output: lib.func('const char *nft_ctx_get_output_buffer(void *ctx)') as Binding['output'],
        free: lib.func('void nft_ctx_free(void *ctx)') as Binding['free'],
      };
      const ctx = ctxNew(0);
      if (ctx === null) throw new Error('nft_ctx_new returned NULL');
      // Buffered: what nft would print goes to memory, read back after each call.
      if (bufferOutput(ctx) !== 0 || bufferError(ctx) !== 0) throw new Error('nft_ctx_buffer_* failed');
      return new NftLibrary(b, ctx);
    } catch (err) {
      log.warn(
        { kind: 'nft', library: file, err: (err as Error).message },
        `${file} could not be loaded; applying transactions with a spawned \`nft -f -\` instead`,
      );
      return null;
    }
  }

  /** Runs one script as one transaction (all or nothing); resolves with what nft printed. */
  run(script: string): Promise<string> {
    const next = this.#queue.then(() => this.#runNow(script));
    this.#queue = next.catch(() => {});
    return next;
  }

  #runNow(script: string): Promise<string> {
    const ctx = this.#ctx;
    if (ctx === null) return Promise.reject(new NftError([], null, 'context closed', 'libnftables'));
    return new Promise((resolve, reject) => {
      this.#b.run.async(ctx, script, (err, rc) => {
        // Read both buffers every time: reading one rewinds it for the next call.
        const errors = this.#b.errors(ctx) ?? '';
        const output = this.#b.output(ctx) ?? '';
        if (err) reject(err as Error);
        else if (rc !== 0) reject(new NftError([], rc, errors, `libnftables transaction failed (${rc})`));
        else resolve(output);
      });
    });
  }

  /** Frees the context after the call under way. */
  async close(): Promise<void> {
    await this.#queue;
    if (this.#ctx === null) return;
    this.#b.free(this.#ctx);
    this.#ctx = null;
  }
}
