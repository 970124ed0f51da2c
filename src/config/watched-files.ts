import { readlinkSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';

/**
 * Whether a change event in a watched folder may concern one of `names` there. Names starting
 * with `..` are a Kubernetes volume's own (ConfigMap and Secret volumes alike): the kubelet writes
 * a new `..<timestamp>` folder, renames a `..data_tmp` symlink over `..data` and removes the old
 * folder, while the files' own symlinks (`tls.crt` → `..data/tls.crt`) never change, so only
 * those names tell of a swap. `null`: the platform did not say which name changed.
 */
export function concernsFiles(changed: string | null, names: ReadonlySet<string>): boolean {
  return changed === null || names.has(changed) || changed.startsWith('..');
}

/**
 * The folders to watch for `files`, each with the names in it that matter. A file's folder is
 * watched rather than the file: a watch on a file follows its inode, which an atomic rename (an
 * editor's, cert-manager's, the kubelet's symlink swap) replaces, so it would see one change and
 * then nothing. A file that is a symlink to another folder (not a volume's `..data/…` link) has that
 * folder watched too, since a change there fires no event beside the link.
 */
export function foldersOf(
  files: Iterable<string>,
  readlink: (path: string) => string | null = linkTarget,
): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (file: string) => {
    const dir = dirname(file);
    let names = out.get(dir);
    if (!names) out.set(dir, (names = new Set()));
    names.add(basename(file));
  };
  for (const f of files) {
    const file = resolve(f);
    add(file);
    const target = readlink(file);
    if (target !== null && !target.startsWith('..')) add(resolve(dirname(file), target));
  }
  return out;
}

function linkTarget(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null; // not a symlink, or not there (yet): its folder is watched all the same
  }
}

/**
 * Watches the folders of a set of files (a configuration file and every PEM and token file it
 * names) and calls `onChange` for each event that may concern one of them; the caller debounces.
 * `set` replaces the set after each reload, opening and closing folder watches as needed. A folder
 * that cannot be watched (missing, no permission) is logged; the caller's poll still sees it.
 */
export class WatchedFiles {
  readonly #onChange: () => void;
  readonly #log: Logger;
  readonly #watchers = new Map<string, { watcher: FSWatcher; names: Set<string> }>();

  constructor(onChange: () => void, log: Logger) {
    this.#onChange = onChange;
    this.#log = log;
  }

  /** The folders watched now, for tests. */
  get folders(): string[] {
    return [...this.#watchers.keys()];
  }

  /** Watches the folders of `files` (and only those). */
  set(files: Iterable<string>): void {
    const wanted = foldersOf(files);
    for (const [dir, w] of this.#watchers)
      if (!wanted.has(dir)) {
        w.watcher.close();
        this.#watchers.delete(dir);
      }
    for (const [dir, names] of wanted) {
      const known = this.#watchers.get(dir);
      if (known) {
        known.names.clear();
        for (const n of names) known.names.add(n);
        continue;
      }
      try {
        const watcher = watch(dir, (_event, changed) => {
          if (concernsFiles(changed, names)) this.#onChange();
        });
        watcher.on('error', (err) => {
          this.#log.warn({ kind: 'config', folder: dir, err: err.message }, 'watching a folder failed');
          watcher.close();
          // Watched again by the next `set` (after the next reload), if it is still wanted.
          if (this.#watchers.get(dir)?.watcher === watcher) this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, { watcher, names });
      } catch (err) {
        this.#log.warn(
          { kind: 'config', folder: dir, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
          'cannot watch a folder; its files are re-read on the poll interval only',
        );
      }
    }
  }

  close(): void {
    for (const w of this.#watchers.values()) w.watcher.close();
    this.#watchers.clear();
  }
}
