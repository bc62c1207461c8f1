/**
 * Lineage sidecars: next to each artifact, `<artifact>.lineage.json` says what made it (step, code
 * version, inputs with their digests, parameters, seed, time, host) and lists its files with size
 * and sha256, and the files beside it that it needs (a checkpoint's manifest and the shared
 * tensors it references). An artifact that does not match its sidecar, file for file, is damaged
 * (a crash, a truncated copy, a racing writer) and is rebuilt, never used.
 *
 * Publication is race-safe without locks: the artifact is built and described under temporary
 * names, then placed by one step that cannot replace (placeIfAbsent). Only the writer that placed
 * it moves its companions and its sidecar into place; a writer that lost drops its own copy and
 * touches nothing of the winner's.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { InputError } from '../errors.js';
import { packagePath } from '../packageRoot.js';
import { contentDigest } from './artifacts.js';
import { placeIfAbsent, temporarySibling } from './atomicWrite.js';

const PACKAGE = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { name: string; version: string };
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
  /** Files beside the artifact that it needs, relative to the artifact's folder. */
  companions?: ArtifactFile[];
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

async function describeFile(file: string, name: string): Promise<ArtifactFile> {
  return { path: name, size: (await stat(file)).size, sha256: await contentDigest(file) };
}

/** Null when the artifact and its companions match its sidecar file for file (size, then sha256); else why not. */
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
  const mismatch = (expected: ArtifactFile, found: ArtifactFile | undefined, name: string) => {
    if (!found) return `${name} is missing`;
    if (found.size !== expected.size) return `${name} has ${found.size} bytes, its sidecar says ${expected.size}`;
    if (found.sha256 !== expected.sha256) return `${name} does not match the sha256 in its sidecar`;
    return null;
  };
  for (const expected of lineage.files) {
    const problem = mismatch(expected, byPath.get(expected.path), expected.path || artifact);
    if (problem) return problem;
  }
  if (actual.length !== lineage.files.length) return 'the artifact holds files its sidecar does not list';
  for (const expected of lineage.companions ?? []) {
    const file = join(dirname(artifact), expected.path);
    const found = await describeFile(file, expected.path).catch(() => undefined);
    const problem = mismatch(expected, found, file);
    if (problem) return problem;
  }
  return null;
}

/**
 * Whether a finished artifact can be reused. A damaged one (and its sidecar) is removed so that
 * the caller rebuilds it; `onDamaged` hears why. Its companions stay: the shared ones are other
 * artifacts' too, and its own are replaced when it is published again.
 */
export async function reuseIfIntact(artifact: string, onDamaged: (reason: string) => void = () => {}): Promise<boolean> {
  const problem = await verifyArtifact(artifact);
  if (problem === null) return true;
  // Moved aside first, in one step, so that a writer never places its copy into a half-removed directory.
  const doomed = temporarySibling(artifact);
  const present = await rename(artifact, doomed).then(
    () => true,
    () => false,
  );
  if (present) {
    onDamaged(problem);
    await rm(doomed, { recursive: true, force: true });
  }
  await rm(lineageFile(artifact), { force: true });
  return false;
}

/** Where a publication's build writes. */
export interface BuildTarget {
  /** The artifact's temporary path (a directory already made, or a file to write). */
  temporary: string;
  /** One temporary path per companion. */
  companions: string[];
  /** The build adds here the content-addressed files in place that the artifact references (shared tensors): verified on reuse. */
  references: Set<string>;
}

/**
 * Builds an artifact (a file or a directory) and its own companion files (final paths beside it,
 * e.g. its manifest) at temporary paths, describes them in a sidecar, and publishes all of it if
 * no other writer has published the artifact first. True when this call published it; false when
 * another writer had, and its copy stands.
 */
export async function publishWithLineage(
  artifact: string,
  kind: 'file' | 'directory',
  build: (target: BuildTarget) => Promise<void>,
  provenance: Provenance,
  companions: readonly string[] = [],
): Promise<boolean> {
  const folder = dirname(artifact);
  await mkdir(folder, { recursive: true });
  const temporary = kind === 'directory' ? await mkdtemp(join(folder, `.${basename(artifact)}.`)) : temporarySibling(artifact);
  const companionTemporaries = companions.map(temporarySibling);
  const sidecarTemporary = temporarySibling(lineageFile(artifact));
  try {
    const references = new Set<string>();
    await build({ temporary, companions: companionTemporaries, references });
    const described = [
      ...(await Promise.all(companions.map((file, index) => describeFile(companionTemporaries[index], relative(folder, file))))),
      ...(await Promise.all([...references].map((file) => describeFile(file, relative(folder, file))))),
    ];
    const lineage: Lineage = {
      ...provenance,
      codeVersion: CODE_VERSION,
      createdAt: new Date().toISOString(),
      host: hostname(),
      files: await describeFiles(temporary),
      ...(described.length > 0 ? { companions: described } : {}),
    };
    await writeFile(sidecarTemporary, `${JSON.stringify(lineage, null, 2)}\n`);
    if (!(await placeIfAbsent(temporary, artifact, kind))) return false;
    for (const [index, file] of companions.entries()) await rename(companionTemporaries[index], file);
    // Last: until the sidecar is there, the artifact is not reused.
    await rename(sidecarTemporary, lineageFile(artifact));
    return true;
  } finally {
    await rm(temporary, { recursive: true, force: true });
    for (const file of [...companionTemporaries, sidecarTemporary]) await rm(file, { force: true });
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
