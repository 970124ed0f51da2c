import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfigFile, textHash } from './file-config.ts';
import { ConfigError } from './issues.ts';
import { changedFiles, materialKindsOf } from './material-files.ts';
import { MATERIAL_KINDS, type GatewayConfig, type MaterialKind } from './model.ts';
import { describeCertificate } from './tls-material.ts';
import { WatchedFiles } from './watched-files.ts';

/**
 * Quiet time after the last change event before the file is read. What it must cover is one
 * change's burst of events: an atomic rename (editors, the bench) fires one or two for the file
 * within a millisecond; a ConfigMap volume's swap (new `..<timestamp>` folder, `..data_tmp`
 * symlink renamed over `..data`, old folder removed) fires five within ~10 ms (measured on a busy
 * 2-core machine); an in-place write fires one per write call, well under a millisecond apart.
 * 20 ms coalesces each of these into one read and adds no more than that to a reload (it was
 * 100 ms). A read that lands mid-swap sees the old content (same hash: nothing happens) and the
 * swap's last event reads again. Only an in-place write can be read half-written, at any debounce
 * (a partial file is usually rejected, and the write's last event reads again): replace files by
 * rename, as editors and the kubelet do.
 */
export const DEFAULT_DEBOUNCE_MS = 20;

/**
 * How long a change refused for its certificate, key, CA or token files waits for a second look
 * before it is reported. A pair replaced one file at a time (the certificate renamed in, then its
 * key) is a mismatch between the two renames; the second rename's event normally applies it within
 * that time, so a rotation done that way neither logs an error nor counts a failure (alerts watch
 * that counter). A pair still wrong after it is reported; the last good material serves meanwhile.
 */
export const MATERIAL_SETTLE_MS = 500;

/** Options of `FileSource`. */
export interface FileSourceOptions {
  /** Quiet time after the last change event before the file is read (default `DEFAULT_DEBOUNCE_MS`). */
  debounceMs?: number;
  /** Also re-read on this interval, for file systems whose events are unreliable (default 5 s). */
  pollMs?: number;
}

/** Reloads and refusals of one kind of file, for `kubegate_material_reloads_total`. */
export interface MaterialCounts {
  reloads: number;
  failures: number;
}

/**
 * Watches a configuration file and every certificate, key, CA and token file it names for changes.
 * Their folders are watched, not the files (`WatchedFiles`), so that a Kubernetes ConfigMap or
 * Secret volume's atomic `..data` symlink swap and cert-manager's renames are seen. A change whose
 * content hash (the file plus every file it names) equals the last applied one is ignored; an
 * invalid file, or a certificate whose key does not match it, is logged with every field path
 * (and file name) and changes nothing: the last good configuration and material keep serving.
 */
export class FileSource {
  readonly #file: string;
  readonly #apply: (cfg: GatewayConfig) => Promise<void>;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #pollMs: number;
  #hash: string;
  #applied = '';
  /** The configuration serving now, whose files a check re-reads first. */
  #serving: GatewayConfig;
  readonly #watched: WatchedFiles;
  #started = false;
  #timer: NodeJS.Timeout | null = null;
  /** Issues (JSON) of a refusal about named files, waiting `MATERIAL_SETTLE_MS` for a second look. */
  #settling: string | null = null;
  #settle: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  /** Successful and failed reloads, for metrics and tests. */
  reloads = 0;
  failures = 0;
  /** Of those, by kind of named file: reloads that changed one, refusals that named one. */
  readonly material: Readonly<Record<MaterialKind, MaterialCounts>> = Object.fromEntries(
    MATERIAL_KINDS.map((k) => [k, { reloads: 0, failures: 0 }]),
  ) as Record<MaterialKind, MaterialCounts>;

  constructor(
    file: string,
    initial: GatewayConfig,
    apply: (cfg: GatewayConfig) => Promise<void>,
    log: Logger,
    opts: FileSourceOptions = {},
  ) {
    this.#file = resolve(file);
    this.#apply = apply;
    this.#log = log;
    this.#debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#pollMs = opts.pollMs ?? 5000;
    this.#serving = initial;
    this.#watched = new WatchedFiles(() => this.#schedule(), log);
    // The text `initial` was parsed from, so that a change written since (while the gateway
    // started) is applied by the first check. Without it, the file as it is now stands for it.
    let digest = initial.textHash;
    if (digest === undefined)
      try {
        digest = textHash(readFileSync(this.#file, 'utf8'));
      } catch (err) {
        log.warn({ kind: 'config', file: this.#file, err: (err as Error).message }, 'config file unreadable');
      }
    this.#hash = digest === undefined ? '' : configHash(digest, initial);
    this.#applied = this.#hash;
  }

  /** The hash of the configuration serving now (hex; '' when the file could not be read at start). */
  get hash(): string {
    return this.#applied;
  }

  /** The folders watched now (the file's, and those of every file it names), for tests. */
  get folders(): string[] {
    return this.#watched.folders;
  }

  /**
   * Whether a file written at `path` lands in a watched folder: each write there wakes the watcher
   * (an access log beside the configuration woke it thousands of times a second under load).
   */
  watchesFolderOf(path: string): boolean {
    return this.#watched.folders.includes(dirname(resolve(path)));
  }

  start(): void {
    this.#started = true;
    this.#watch();
    this.#poll = setInterval(() => this.#schedule(), this.#pollMs);
    this.#poll.unref();
  }

  /** Watches the folders of the file and of every file the configuration serving now names. */
  #watch(): void {
    this.#watched.set([this.#file, ...(this.#serving.sourceFiles ?? []).map((f) => f.path)]);
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#running.then(() => this.#check());
    }, this.#debounceMs);
  }

  /** Reads the file now and applies it if it changed; resolves when done (for tests). */
  check(): Promise<void> {
    this.#running = this.#running.then(() => this.#check());
    return this.#running;
  }

  async #check(): Promise<void> {
    let cfg: GatewayConfig;
    let text: string;
    let digest: string;
    const t0 = performance.now();
    let loaded: number;
    try {
      // One read: the hash must describe the very bytes that were applied. Every file of a reload is
      // read synchronously (see readMaterial in file-config.ts): under load each asynchronous read
      // waits behind several turns of the event loop serving requests.
      text = readFileSync(this.#file, 'utf8');
      digest = textHash(text);
      // The usual case of the 5 s poll: the file and every file it names are as applied. Hashing
      // them costs ~1 ms; parsing and checking 1000 rules again cost ~30 ms of the event loop.
      if (this.#hash === this.#applied && hashOf(digest, namedFilesNow(this.#serving)) === this.#applied)
        return;
      cfg = await loadConfigFile(this.#file, text);
      loaded = performance.now();
    } catch (err) {
      const issues =
        err instanceof ConfigError ? err.issues : [{ path: '(document)', message: (err as Error).message }];
      const hash = JSON.stringify(issues);
      if (hash === this.#hash) return;
      const kinds = materialKindsOf(issues);
      if (kinds.size > 0 && this.#settling !== hash) {
        this.#settling = hash;
        if (this.#settle) clearTimeout(this.#settle);
        this.#settle = setTimeout(() => {
          this.#settle = null;
          void this.check();
        }, MATERIAL_SETTLE_MS);
        this.#settle.unref();
        return;
      }
      this.#settling = null;
      this.#hash = hash;
      this.failures++;
      for (const k of kinds) this.material[k].failures++;
      this.#log.error(
        { kind: 'config', file: this.#file, issues },
        kinds.size > 0
          ? 'configuration rejected (a certificate, key, CA or token file is not usable); the last good configuration and material keep serving'
          : 'configuration rejected; the last good one keeps serving',
      );
      return;
    }
    this.#settling = null;
    const hash = configHash(digest, cfg);
    if (hash === this.#hash) return;
    try {
      await this.#apply(cfg);
      const changed = changedFiles(this.#serving.sourceFiles ?? [], cfg.sourceFiles ?? []);
      this.#hash = hash;
      this.#applied = hash;
      this.#serving = cfg;
      this.reloads++;
      const ms = (t: number): number => Math.round(t * 10) / 10;
      this.#log.info(
        {
          kind: 'config',
          file: this.#file,
          hash: hash.slice(0, 12),
          loadMs: ms(loaded - t0),
          applyMs: ms(performance.now() - loaded),
        },
        'configuration reloaded',
      );
      if (changed.length > 0) {
        for (const f of changed) this.material[f.kind].reloads++;
        // What changed, never the content: certificates by subject, serial and fingerprint.
        this.#log.info(
          {
            kind: 'material',
            files: changed.map((f) => ({
              kind: f.kind,
              file: f.path,
              ...(f.kind.endsWith('_key') || f.kind.endsWith('_token') ? {} : describeCertificate(f.content)),
            })),
          },
          'certificate, key, CA or token files reloaded',
        );
      }
      if (this.#started) this.#watch();
    } catch (err) {
      this.failures++;
      this.#log.error(
        { kind: 'config', file: this.#file, err: (err as Error).message },
        'configuration could not be applied',
      );
    }
  }

  stop(): void {
    this.#started = false;
    this.#watched.close();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#settle) clearTimeout(this.#settle);
    if (this.#poll) clearInterval(this.#poll);
  }
}

/** A file a configuration named (path, content) for its hash. */
type NamedFile = readonly [path: string, content: string];

/**
 * The hash of a configuration: its text's hash and the files it named with the content they were
 * loaded with (so a file that changes right after it was read makes the next check differ, never
 * match). The listeners' files are among them: the gateway serves what was read and checked here.
 */
function configHash(textHash: string, cfg: GatewayConfig): string {
  return hashOf(
    textHash,
    (cfg.sourceFiles ?? []).map((f) => [f.path, f.content]),
  );
}

/** The files `cfg` named as they are now, in `configHash`'s order and form. */
function namedFilesNow(cfg: GatewayConfig): NamedFile[] {
  return (cfg.sourceFiles ?? []).map((f) => [f.path, readOrEmpty(f.path)]);
}

function hashOf(textHash: string, files: readonly NamedFile[]): string {
  const h = createHash('sha256');
  h.update(textHash);
  for (const [path, content] of files) h.update(`\0${path}\0`).update(content);
  return h.digest('hex');
}

/** A file's content, or none when it cannot be read (loading the configuration reports that). */
function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
