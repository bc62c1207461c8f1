/**
 * VTAB-1k file lists (train800val200.txt, test.txt, ...): one `relative/path/to/image.jpg label`
 * per line, paths relative to the list's folder, as the VTAB-1k release and the SLS reference
 * code (RuiZiHan/SLS, NOAH's ImageFilelist) read them.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InputError } from '../errors.js';

export interface FileList {
  /** Absolute image paths, in the list's order. */
  files: string[];
  labels: Int32Array;
  /** The 1-based line each row came from, so errors can point at it. */
  lines: number[];
}

const LABEL = /^\d+$/;

/**
 * Reads a file list and checks every line: a path and a label (a non-negative integer), the
 * image present. Blank lines are skipped; the label is the last field, so paths may hold spaces.
 */
export async function readFileList(path: string): Promise<FileList> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(path, code === 'ENOENT' ? 'file list not found' : `cannot read (${code ?? error})`);
  }
  const folder = dirname(path);
  const files: string[] = [];
  const labels: number[] = [];
  const lines: number[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const split = line.search(/\s\S+$/);
    if (split < 0) throw new InputError(path, `line ${index + 1}: expected "relative/path/to/image label", got "${line}"`);
    const [file, label] = [line.slice(0, split).trim(), line.slice(split + 1)];
    if (!LABEL.test(label) || !Number.isSafeInteger(Number(label)) || Number(label) > 0x7fffffff) {
      throw new InputError(path, `line ${index + 1}: label "${label}" is not a class index (a non-negative integer)`);
    }
    files.push(resolve(folder, file));
    labels.push(Number(label));
    lines.push(index + 1);
  }
  if (files.length === 0) throw new InputError(path, 'the file list names no images');
  const present = await Promise.all(
    files.map((file) =>
      stat(file).then(
        (info) => info.isFile(),
        () => false,
      ),
    ),
  );
  const missing = present.indexOf(false);
  if (missing >= 0) throw new InputError(path, `line ${lines[missing]}: image ${files[missing]} not found`);
  return { files, labels: Int32Array.from(labels), lines };
}
