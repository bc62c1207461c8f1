/**
 * Lineage sidecars: next to each artifact, `<artifact>.lineage.json` says what made it (step, code
 * version, inputs with their digests, parameters, seed, time, host) and lists its files with size
 * and sha256. The sidecar is written before the artifact is renamed into place, so an artifact
 * without a matching sidecar is damaged (a crash, a truncated copy) and is rebuilt, never used.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { InputError } from '../errors.js';
import { contentDigest } from './artifacts.js';
import { publishDirectory, temporarySibling, writeFileAtomic } from './atomicWrite.js';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
export const CODE_VERSION = `${PACKAGE.name}@${PACKAGE.version}`;

/** What made an artifact: the caller's part of the record. */
export interface Provenance {
  step: string;
  stepVersion: number;
  /** Input files by role, each with its content digest. */
  inputs: Record<string, { path: string; sha256: string }>;
  parameters: Record<string, unknown>;
  seed?: number;
}

export interface ArtifactFile {
  /** Relative to the artifact ('' for a single-file artifact). */
  path: string;
  size: number;
  sha256: string;
}

export interface Lineage extends Provenance {
  codeVersion: string;
  createdAt: string;
  host: string;
  files: ArtifactFile[];
}

export function lineageFile(artifact: string): string {
  return `${artifact}.lineage.json`;
}

async function describeFiles(path: string): Promise<ArtifactFile[]> {
  const info = await stat(path);
  const files = info.isDirectory()
    ? (await readdir(path, { recursive: true, withFileTypes: true }))
        .filter((entry) => entry.isFile())
        .map((entry) => join(entry.parentPath, entry.name))
        .sort()
    : [path];
  return Promise.all(
    files.map(async (file) => ({ path: relative(path, file), size: (await stat(file)).size, sha256: await contentDigest(file) })),
  );
}

/** Writes the sidecar of `artifact` from the files now at `built` (the artifact itself or its temporary copy). */
export async function writeLineage(artifact: string, built: string, provenance: Provenance): Promise<Lineage> {
  const lineage: Lineage = {
    ...provenance,
    codeVersion: CODE_VERSION,
    createdAt: new Date().toISOString(),
    host: hostname(),
    files: await describeFiles(built),
  };
  await writeFileAtomic(lineageFile(artifact), `${JSON.stringify(lineage, null, 2)}\n`);
  return lineage;
}

/** Null when the artifact matches its sidecar file for file (size, then sha256); else why not. */
export async function verifyArtifact(artifact: string): Promise<string | null> {
  let lineage: Lineage;
  try {
    lineage = JSON.parse(await readFile(lineageFile(artifact), 'utf8')) as Lineage;
  } catch {
    return 'no readable lineage sidecar';
  }
  if (!Array.isArray(lineage.files)) return 'the lineage sidecar lists no files';
  let actual: ArtifactFile[];
  try {
    actual = await describeFiles(artifact);
  } catch {
    return 'the artifact is missing';
  }
  const byPath = new Map(actual.map((file) => [file.path, file]));
  for (const expected of lineage.files) {
    const found = byPath.get(expected.path);
    const name = expected.path || artifact;
    if (!found) return `${name} is missing`;
    if (found.size !== expected.size) return `${name} has ${found.size} bytes, its sidecar says ${expected.size}`;
    if (found.sha256 !== expected.sha256) return `${name} does not match the sha256 in its sidecar`;
  }
  if (actual.length !== lineage.files.length) return 'the artifact holds files its sidecar does not list';
  return null;
}

/**
 * Whether a finished artifact can be reused. A damaged one (and its sidecar) is removed so that
 * the caller rebuilds it; `onDamaged` hears why.
 */
export async function reuseIfIntact(artifact: string, onDamaged: (reason: string) => void = () => {}): Promise<boolean> {
  const problem = await verifyArtifact(artifact);
  if (problem === null) return true;
  const present = await stat(artifact).then(
    () => true,
    () => false,
  );
  if (present) {
    onDamaged(problem);
    await rm(artifact, { recursive: true, force: true });
  }
  await rm(lineageFile(artifact), { force: true });
  return false;
}

/**
 * Builds an artifact (a file or a directory) at a temporary path, writes its sidecar, then renames
 * it into place: whoever sees the artifact also finds the sidecar that vouches for it.
 */
export async function publishWithLineage(
  artifact: string,
  kind: 'file' | 'directory',
  build: (temporary: string) => Promise<void>,
  provenance: Provenance,
): Promise<void> {
  if (kind === 'directory') {
    await publishDirectory(artifact, async (temporary) => {
      await build(temporary);
      await writeLineage(artifact, temporary, provenance);
    });
    return;
  }
  await mkdir(dirname(artifact), { recursive: true });
  const temporary = temporarySibling(artifact);
  try {
    await build(temporary);
    await writeLineage(artifact, temporary, provenance);
    await rename(temporary, artifact);
  } finally {
    await rm(temporary, { force: true });
  }
}

async function readLineage(artifact: string): Promise<Lineage | null> {
  try {
    return JSON.parse(await readFile(lineageFile(artifact), 'utf8')) as Lineage;
  } catch {
    return null;
  }
}

/**
 * Bad input found in an artifact (NaN features, too few rows for t-SNE) is the fault of what the
 * artifact was made from: the error is re-addressed to the user's file (the dataset, else the
 * first input) that the artifact's sidecar, or the sidecar of the directory holding it, names.
 */
export async function blameSource(error: InputError): Promise<InputError> {
  const lineage = (await readLineage(error.file)) ?? (await readLineage(dirname(error.file)));
  if (!lineage) return error;
  const inputs = Object.entries(lineage.inputs);
  const [role, source] = inputs.find(([name]) => name === 'data') ?? inputs[0] ?? [];
  if (!source) return error;
  const problem = error.message.slice(error.file.length + 2);
  const others = inputs.filter(([name]) => name !== role).map(([name, input]) => `${name} ${input.path}`);
  const made = `${lineage.step} made it from this ${role}${others.length ? ` with ${others.join(', ')}` : ''}`;
  return blameSource(new InputError(source.path, `${problem} (found in ${error.file}; ${made})`));
}
