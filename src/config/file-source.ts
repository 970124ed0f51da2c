import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadConfigFile, textHash } from './file-config.ts';
import { ConfigError } from './issues.ts';
import type { GatewayConfig } from './model.ts';

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

/** Options of `FileSource`. */
export interface FileSourceOptions {
  /** Quiet time after the last change event before the file is read (default `DEFAULT_DEBOUNCE_MS`). */
  debounceMs?: number;
  /** Also re-read on this interval, for file systems whose events are unreliable (default 5 s). */
  pollMs?: number;
}

/**
 * Watches a configuration file for changes. The folder is watched, not the file, so that a
 * Kubernetes ConfigMap volume's atomic `..data` symlink swap is seen. A change whose content hash
 * (the file plus every file it names) equals the last applied one is ignored; an invalid file is
 * logged with every field path and changes nothing.
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
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #poll: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  /** Successful and failed reloads, for metrics and tests. */
  reloads = 0;
  failures = 0;

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

  start(): void {
    const name = basename(this.#file);
    this.#watcher = watch(dirname(this.#file), (_event, changed) => {
      if (changed === null || changed === name || changed.startsWith('..')) this.#schedule();
    });
    this.#watcher.on('error', (err) =>
      this.#log.warn({ kind: 'config', err: err.message }, 'config watch failed'),
    );
    this.#poll = setInterval(() => this.#schedule(), this.#pollMs);
    this.#poll.unref();
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
    } catch (err) {
      const issues =
        err instanceof ConfigError ? err.issues : [{ path: '(document)', message: (err as Error).message }];
      const hash = JSON.stringify(issues);
      if (hash === this.#hash) return;
      this.#hash = hash;
      this.failures++;
      this.#log.error(
        { kind: 'config', file: this.#file, issues },
        'configuration rejected; the last good one keeps serving',
      );
      return;
    }
    const hash = configHash(digest, cfg);
    if (hash === this.#hash) return;
    try {
      await this.#apply(cfg);
      this.#hash = hash;
      this.#applied = hash;
      this.#serving = cfg;
      this.reloads++;
      this.#log.info({ kind: 'config', file: this.#file, hash: hash.slice(0, 12) }, 'configuration reloaded');
    } catch (err) {
      this.failures++;
      this.#log.error(
        { kind: 'config', file: this.#file, err: (err as Error).message },
        'configuration could not be applied',
      );
    }
  }

  stop(): void {
    this.#watcher?.close();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#poll) clearInterval(this.#poll);
  }
}

/** A file a configuration named (path, content) for its hash. */
type NamedFile = readonly [path: string, content: string | Buffer];

/**
 * The hash of a configuration: its text's hash, the clusters' files with the content they were loaded
 * with (so a file that changes right after it was read makes the next check differ, never match),
 * and the listeners' certificate files as they are now (the gateway reads them after this).
 */
function configHash(textHash: string, cfg: GatewayConfig): string {
  const files: NamedFile[] = (cfg.sourceFiles ?? []).map((f) => [f.path, f.content]);
  return hashOf(textHash, [...files, ...listenerFiles(cfg)]);
}

/** The files `cfg` named as they are now, in `configHash`'s order and form. */
function namedFilesNow(cfg: GatewayConfig): NamedFile[] {
  const files: NamedFile[] = (cfg.sourceFiles ?? []).map((f) => [f.path, readOrEmpty(f.path, 'utf8')]);
  return [...files, ...listenerFiles(cfg)];
}

function listenerFiles(cfg: GatewayConfig): NamedFile[] {
  const out: NamedFile[] = [];
  for (const l of cfg.listeners)
    for (const f of [l.certFile, l.keyFile, l.clientCAFile]) if (f) out.push([f, readOrEmpty(f)]);
  return out;
}

function hashOf(textHash: string, files: readonly NamedFile[]): string {
  const h = createHash('sha256');
  h.update(textHash);
  for (const [path, content] of files) h.update(`\0${path}\0`).update(content);
  return h.digest('hex');
}

/** A file's content, or none when it cannot be read (loading the configuration reports that). */
function readOrEmpty(file: string): Buffer;
function readOrEmpty(file: string, encoding: 'utf8'): string;
function readOrEmpty(file: string, encoding?: 'utf8'): Buffer | string {
  try {
    return encoding ? readFileSync(file, encoding) : readFileSync(file);
  } catch {
    return encoding ? '' : Buffer.alloc(0);
  }
}
