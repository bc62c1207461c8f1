/**
 * Content-addressed artifacts: each is named by a hash of everything that determines it, so a
 * retried or relaunched run finds what is already done and redoes only what is missing.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { InputError } from '../errors.js';

/** Bumped when a step's output would change for the same inputs. */
export const STEP_VERSIONS = { extract: 1, embed: 4, emit: 4 } as const;

const digestCache = new Map<string, { size: number; mtimeMs: number; digest: string }>();

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * sha256 of a file's bytes, or of a directory's relative paths and file digests (an ImageFolder).
 * Cached per (path, size, mtime) so a worker hashes a large model once.
 */
export async function contentDigest(path: string): Promise<string> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    throw new InputError(path, 'not found');
  }
  if (info.isDirectory()) {
    const files = (await readdir(path, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort();
    const hash = createHash('sha256');
    for (const file of files) hash.update(`${relative(path, file)}\0${await contentDigest(file)}\n`);
    return hash.digest('hex');
  }
  const cached = digestCache.get(path);
  if (cached && cached.size === info.size && cached.mtimeMs === info.mtimeMs) return cached.digest;
  const digest = await hashFile(path);
  digestCache.set(path, { size: info.size, mtimeMs: info.mtimeMs, digest });
  return digest;
}

/** JSON with object keys sorted at every depth, so equal inputs give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stable key for a set of inputs: sha256 of their canonical JSON, shortened. */
export function artifactKey(inputs: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex').slice(0, 24);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
