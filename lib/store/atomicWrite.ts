import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A sibling temporary path: same directory, so the final rename is atomic on POSIX. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Writes a file so that readers see either nothing or the whole content, never a partial file. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = temporarySibling(path);
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * Moves a finished temporary file or directory to `path` unless something is there already, in
 * one step that cannot replace: a hard link for a file (rename would replace it), a rename for a
 * directory (it fails onto a non-empty one). Works between processes and hosts on a shared
 * filesystem, with nothing left behind by a crash. False when another writer got there first.
 */
export async function placeIfAbsent(temporary: string, path: string, kind: 'file' | 'directory'): Promise<boolean> {
  try {
    if (kind === 'file') await link(temporary, path);
    else await rename(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTEMPTY') return false;
    throw error;
  }
}
