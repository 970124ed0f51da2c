import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The status page's files, served as they are (no build step). */
export const STATUS_PAGE_DIR = fileURLToPath(new URL('./status-page/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * A file of `dir` for a URL path (`/` is `index.html`), or null when there is none. Paths that
 * would leave the folder (`..`, encoded or not), hidden files and NUL bytes are null too.
 */
export async function staticFile(
  dir: string,
  urlPath: string,
): Promise<{ body: Buffer; contentType: string } | null> {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath === '/' ? '/index.html' : urlPath);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.some((p) => p.startsWith('.'))) return null;
  const root = normalize(dir.endsWith(sep) ? dir : dir + sep);
  const file = normalize(join(root, ...parts));
  if (!file.startsWith(root)) return null;
  try {
    const body = await readFile(file);
    return { body, contentType: TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
  } catch {
    return null; // missing, or a folder
  }
}
