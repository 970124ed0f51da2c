import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  linkSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  type Stats,
} from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * An image the podlet can "pull": a program on this machine standing in for the image's
 * filesystem, with the image's ENTRYPOINT and CMD.
 */
export interface KnownImage {
  /** The last path segment of the repository (`registry.k8s.io/e2e-test-images/agnhost` → `agnhost`). */
  readonly name: string;
  /** The binary the provide script builds (tools/control-plane/provide.sh). */
  readonly binary: string;
  /** The image's ENTRYPOINT, with its first element the path inside the image. */
  readonly entrypoint: readonly string[];
  /** The image's CMD. */
  readonly cmd: readonly string[];
}

// ENTRYPOINT and CMD as their Dockerfiles give them (kubernetes test/images/agnhost/Dockerfile,
// gateway-api-conformance-images docker/Dockerfile.echo-basic); pause is served by agnhost's own.
export const KNOWN_IMAGES: readonly KnownImage[] = [
  { name: 'agnhost', binary: 'agnhost', entrypoint: ['/agnhost'], cmd: ['pause'] },
  { name: 'echo-basic', binary: 'echo-basic', entrypoint: ['/echo-basic'], cmd: [] },
  { name: 'pause', binary: 'agnhost', entrypoint: ['/agnhost', 'pause'], cmd: [] },
];

/** The image's repository name without registry, tag or digest (`a.io/b/agnhost:2.66` → `agnhost`). */
export function imageName(image: string): string {
  const noDigest = image.split('@')[0];
  const lastSlash = noDigest.lastIndexOf('/');
  const last = noDigest.slice(lastSlash + 1);
  const colon = last.indexOf(':');
  return colon === -1 ? last : last.slice(0, colon);
}

export function findImage(image: string): KnownImage | null {
  const name = imageName(image);
  return KNOWN_IMAGES.find((i) => i.name === name) ?? null;
}

/** Why a container's program cannot be started (the runtime's `RunContainerError` message). */
export class ProgramNotFound extends Error {
  override name = 'ProgramNotFound';
}

/**
 * The argv a container runs, as a runtime computes it (command replaces ENTRYPOINT, args replace
 * CMD), with the image's own program path mapped to the built binary and any other program looked
 * up on this machine (the image's filesystem is the host's).
 */
export function containerArgv(
  image: KnownImage,
  binDir: string,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
  path: string,
): string[] {
  const argv =
    command && command.length > 0
      ? [...command, ...(args ?? [])]
      : [...image.entrypoint, ...(args && args.length > 0 ? args : image.cmd)];
  if (argv.length === 0) throw new ProgramNotFound('no command specified');
  const own = imageProgram(argv[0], binDir);
  if (own) return [own, ...argv.slice(1)];
  return [resolveProgram(argv[0], path), ...argv.slice(1)];
}

/** The built binary for a program path inside a known image (`/agnhost`), else null. */
export function imageProgram(program: string, binDir: string): string | null {
  const own = KNOWN_IMAGES.find((i) => i.entrypoint[0] === program || `/${i.binary}` === program);
  return own ? join(binDir, own.binary) : null;
}

function resolveProgram(program: string, path: string): string {
  const candidates = program.includes('/') ? [program] : path.split(delimiter).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new ProgramNotFound(
    `exec: "${program}": executable file not found in $PATH: the podlet runs programs of this machine`,
  );
}

/**
 * Puts each image's program at its path inside the image (`/agnhost`, `/echo-basic`) on this
 * machine, whose filesystem the containers see as theirs: a shell in a pod runs `/agnhost connect`
 * as in the real image (the upstream e2e suites do). A hard link to the built binary (a copy across
 * filesystems), swapped in by rename, so a running container never sees it half-written; an
 * up-to-date one is left alone.
 */
export function installImagePrograms(binDir: string, root = '/'): string[] {
  const installed: string[] = [];
  for (const image of KNOWN_IMAGES) {
    const at = join(root, image.entrypoint[0]);
    const from = join(binDir, image.binary);
    if (installed.includes(at)) continue;
    let src: Stats;
    try {
      src = statSync(from);
    } catch {
      continue; // not built: its pods fail with the image's own error
    }
    try {
      const cur = statSync(at);
      if (cur.ino === src.ino || (cur.size === src.size && cur.mtimeMs === src.mtimeMs)) {
        installed.push(at);
        continue;
      }
    } catch {
      // absent
    }
    const tmp = `${at}.kubegate-${process.pid}`;
    rmSync(tmp, { force: true });
    try {
      linkSync(from, tmp);
    } catch {
      copyFileSync(from, tmp);
      chmodSync(tmp, 0o755);
      utimesSync(tmp, src.atime, src.mtime);
    }
    renameSync(tmp, at);
    installed.push(at);
  }
  return installed;
}
