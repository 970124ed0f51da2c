import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';

// The layout of the kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go): the files live in a
// timestamped folder `..<UTC time>.<random>`, `..data` is a symlink to it, and each top-level entry of
// the payload is a symlink `<name> -> ..data/<name>`. An update writes a new timestamped folder and
// renames a fresh `..data_tmp` symlink over `..data`, so readers see the old or the new set, never a mix.

export interface FileProjection {
  readonly data: Buffer;
  readonly mode: number;
}

export type Payload = Map<string, FileProjection>;

const DATA = '..data';

/** The kubelet's validatePath: relative, no `..` element, not starting with `..`. */
export function validatePayloadPath(p: string): string {
  if (p === '') throw new Error(`invalid path: must not be empty: ""`);
  if (p.startsWith('/')) throw new Error(`invalid path: must be relative path: ${p}`);
  const items = p.split('/');
  if (items.includes('..')) throw new Error(`invalid path: must not contain '..': ${p}`);
  if (items[0].startsWith('..') && items[0].length > 2)
    throw new Error(`invalid path: must not start with '..': ${p}`);
  return normalize(p).replace(/\/+$/, '');
}

function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `..${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_` +
    `${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}.`
  );
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function currentDataDir(target: string): Promise<string | null> {
  return readlink(join(target, DATA)).catch(() => null);
}

/** Files under `dir`, relative to it. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? join(prefix, ent.name) : ent.name;
    if (ent.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out;
}

async function unchanged(target: string, oldDir: string, payload: Payload): Promise<boolean> {
  const files = await listFiles(join(target, oldDir)).catch(() => null);
  if (!files || files.length !== payload.size) return false;
  for (const [p, f] of payload) {
    const cur = await readFile(join(target, oldDir, p)).catch(() => null);
    if (!cur || !cur.equals(f.data)) return false;
    const st = await lstat(join(target, oldDir, p));
    if ((st.mode & 0o7777) !== f.mode) return false;
  }
  return true;
}

const topLevel = (p: string): string => p.split(sep)[0];

/**
 * Makes `target` hold exactly `payload` (paths relative to it), atomically. Does nothing when the
 * content and modes are already current. Returns whether anything was written.
 */
export async function writeAtomically(target: string, input: Payload): Promise<boolean> {
  const payload: Payload = new Map();
  for (const [p, f] of input) payload.set(validatePayloadPath(p), f);
  await mkdir(target, { recursive: true });
  const oldDir = await currentDataDir(target);
  if (oldDir && (await unchanged(target, oldDir, payload))) return false;

  const tsDir = await mkdtemp(join(target, timestamp(new Date())));
  await chmod(tsDir, 0o755);
  for (const [p, f] of payload) {
    const file = join(tsDir, p);
    await mkdir(dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, f.data, { mode: f.mode });
    await chmod(file, f.mode);
  }
  const tmp = join(target, DATA + '_tmp');
  await rm(tmp, { force: true });
  await symlink(tsDir.slice(target.length + 1), tmp);
  await rename(tmp, join(target, DATA));

  const wanted = new Set([...payload.keys()].map(topLevel));
  for (const name of wanted) {
    const link = join(target, name);
    if (!(await exists(link))) await symlink(join(DATA, name), link);
  }
  for (const name of await readdir(target)) {
    if (name.startsWith('..') || wanted.has(name)) continue;
    await rm(join(target, name), { recursive: true, force: true });
  }
  if (oldDir) await rm(join(target, oldDir), { recursive: true, force: true });
  return true;
}
