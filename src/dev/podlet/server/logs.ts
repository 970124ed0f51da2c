import { Buffer } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { KubeletLookupError, type KubeletBackend } from '../types.ts';
import { LineSplitter, formatRfc3339Nano, parseCriLine, type CriLogEntry } from './cri-log.ts';
import { KubeletHttpError } from './errors.ts';
import { parseLogOptions, type LogOptions } from './log-options.ts';

const CHUNK = 64 * 1024;
const POLL_MS = 100;

/** GET /containerLogs/{namespace}/{pod}/{container}: the container's CRI log as plain text. */
export async function serveContainerLogs(
  backend: KubeletBackend,
  log: Logger,
  t: { namespace: string; pod: string; container: string },
  query: URLSearchParams,
  res: ServerResponse,
): Promise<void> {
  const opts = parseLogOptions(query);
  const path = backend.logPath(t.namespace, t.pod, t.container, opts.previous);
  if (path instanceof KubeletLookupError) throw new KubeletHttpError(path.status, path.message);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KubeletHttpError(
        404,
        `log of container "${t.container}" in pod "${t.namespace}/${t.pod}" not found`,
      );
    }
    throw err;
  }
  try {
    let gone = false;
    res.once('close', () => (gone = true));
    const exited =
      opts.follow && !opts.previous ? backend.containerExited(t.namespace, t.pod, t.container) : null;
    let exitSeen = exited === null;
    void exited?.then(() => (exitSeen = true));
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    const out = new LogFormatter(opts);
    const splitter = new LineSplitter();
    let position = opts.tailLines === null ? 0 : await tailStart(fh, opts.tailLines);
    const buf = Buffer.alloc(CHUNK);
    while (!gone && !out.full) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, position);
      if (bytesRead > 0) {
        position += bytesRead;
        for (const line of splitter.push(Buffer.from(buf.subarray(0, bytesRead)))) {
          const entry = parseCriLine(line);
          if (!entry) {
            log.debug({ ...t, line: line.toString('utf8', 0, 200) }, 'skipping a log line not in CRI format');
            continue;
          }
          const bytes = out.format(entry);
          if (bytes.length > 0 && !res.write(bytes)) await drainOrClose(res);
          if (out.full || gone) break;
        }
        continue;
      }
      // At the end of the file: done, unless following a container that still runs. Once it has
      // exited, one more pass reads what it wrote last.
      if (!opts.follow || exitSeen) break;
      await Promise.race([sleep(POLL_MS), exited]);
    }
    if (!gone) res.end();
  } finally {
    await fh.close();
  }
}

/** Turns entries into output bytes: since filter, timestamp prefixes, partial lines, byte limit. */
class LogFormatter {
  readonly #opts: LogOptions;
  #lastPartial = false;
  #left: number;

  constructor(opts: LogOptions) {
    this.#opts = opts;
    this.#left = opts.limitBytes ?? Infinity;
  }

  get full(): boolean {
    return this.#left <= 0;
  }

  format(e: CriLogEntry): Buffer {
    const continuing = this.#lastPartial;
    this.#lastPartial = e.partial;
    if (this.#opts.since !== null && e.at < this.#opts.since) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    // The kubelet prefixes a line once, not every partial piece of it.
    if (this.#opts.timestamps && !continuing)
      parts.push(Buffer.from(formatRfc3339Nano(e.time) + ' ', 'latin1'));
    parts.push(e.text);
    if (!e.partial) parts.push(Buffer.from('\n'));
    let bytes = Buffer.concat(parts);
    if (bytes.length > this.#left) bytes = bytes.subarray(0, this.#left);
    this.#left -= bytes.length;
    return bytes;
  }
}

/** The offset where the last `n` lines of the file start. */
async function tailStart(fh: FileHandle, n: number): Promise<number> {
  const { size } = await fh.stat();
  if (n === 0) return size;
  const buf = Buffer.alloc(CHUNK);
  let end = size;
  let newlines = 0;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK);
    const { bytesRead } = await fh.read(buf, 0, end - start, start);
    for (let i = bytesRead - 1; i >= 0; i--) {
      if (buf[i] !== 0x0a || start + i === size - 1) continue;
      if (++newlines === n) return start + i + 1;
    }
    end = start;
  }
  return 0;
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
