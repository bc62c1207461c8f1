// The product compiled to JavaScript in dist/js/ (same tree as the sources), so that processes
// and threads start without tsx: registering tsx's loader costs about 0.12 s a thread and its
// transforms another 0.05 s, three times per `sls embed` (the CLI, the t-SNE thread, a helper).
// esbuild does the transform, file by file, as tsx does in memory: same output, no bundling, so
// every module keeps its place and relative import. No type checking here: `npm run typecheck`.
//
// The build records each source's modification time; bin/sls.mjs runs the compiled tree only
// while every recorded source is unchanged, else the sources through tsx. A stale build is never
// run, so editing a file needs no rebuild to take effect (only to start fast again).
//
//   node infra/compiled.mjs   # builds dist/js if it is missing or stale (infra/setup.sh runs it)
import { cpSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SOURCE_FOLDERS = ['lib', 'cli', 'activities', 'workers', 'workflows'];
/** Compiled options come from here: a change to it makes the build stale. */
const CONFIG_FILES = ['tsconfig.json'];
/** Loaded at run time beside the modules (thread entries in plain JavaScript, the ONNX schema). */
const COPIED = /\.(mjs|proto)$/;
const OUT = join('dist', 'js');
const SOURCES_RECORD = 'sources.json';

function sourcesOf(root) {
  const files = [];
  const walk = (folder) => {
    for (const entry of readdirSync(join(root, folder), { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') || COPIED.test(entry.name)) files.push(path);
    }
  };
  for (const folder of SOURCE_FOLDERS) walk(folder);
  return files.sort();
}

function modified(root, file) {
  try {
    return statSync(join(root, file)).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The URL of the compiled CLI when dist/js holds a build of the sources as they are now, else undefined. */
export function freshCompiledCli(root) {
  let recorded;
  try {
    recorded = JSON.parse(readFileSync(join(root, OUT, SOURCES_RECORD), 'utf8'));
  } catch {
    return undefined;
  }
  for (const [file, mtimeMs] of Object.entries(recorded)) if (modified(root, file) !== mtimeMs) return undefined;
  return pathToFileURL(join(root, OUT, 'cli', 'main.js'));
}

/**
 * Compiles the sources under `root` into dist/js, atomically: built beside it, then put in its
 * place, so a process starting meanwhile sees the old build or the new one, never half of one.
 * Returns whether it built (false: dist/js was fresh).
 */
export async function buildCompiled(root, { force = false } = {}) {
  if (!force && freshCompiledCli(root)) return false;
  const { build } = await import('esbuild');
  const files = sourcesOf(root);
  // Times taken before compiling: a file saved during the build makes the next check stale.
  const record = Object.fromEntries([...CONFIG_FILES, ...files].map((file) => [file, modified(root, file)]));
  const staging = join(root, 'dist', `js.${process.pid}.staging`);
  rmSync(staging, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: files.filter((file) => file.endsWith('.ts')),
    outdir: staging,
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    tsconfig: 'tsconfig.json',
    sourcemap: 'inline',
    logLevel: 'warning',
  });
  for (const file of files.filter((name) => COPIED.test(name))) {
    mkdirSync(dirname(join(staging, file)), { recursive: true });
    cpSync(join(root, file), join(staging, file));
  }
  writeFileSync(join(staging, SOURCES_RECORD), `${JSON.stringify(record, null, 1)}\n`);
  const out = join(root, OUT);
  const previous = join(root, 'dist', `js.${process.pid}.previous`);
  rmSync(previous, { recursive: true, force: true });
  try {
    renameSync(out, previous);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  renameSync(staging, out);
  rmSync(previous, { recursive: true, force: true });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const started = performance.now();
  const built = await buildCompiled(root, { force: process.argv.includes('--force') });
  const where = relative(process.cwd(), join(root, OUT)) || OUT;
  console.log(
    built
      ? `compiled JavaScript: built ${where} (${((performance.now() - started) / 1000).toFixed(1)}s)`
      : 'compiled JavaScript: already done',
  );
}
