/**
 * infra/compiled.mjs and bin/sls.mjs: the compiled tree in dist/js is run only while it is a build
 * of the sources as they are, and it computes what the sources compute.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module without declarations
import { buildCompiled, freshCompiledCli } from '../../infra/compiled.mjs';
import { readEmbedding, writeFeatures } from '../../lib/io/arrowTensors.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'sls-compiled-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A package with bin/sls.mjs and a CLI that prints the URL it runs from (a .ts or a .js). */
function tinyPackage(): string {
  const root = join(scratch, `package-${Math.random().toString(36).slice(2)}`);
  for (const folder of ['bin', 'infra', 'cli', 'lib', 'activities', 'workers', 'workflows'])
    mkdirSync(join(root, folder), { recursive: true });
  cpSync(join(ROOT, 'bin', 'sls.mjs'), join(root, 'bin', 'sls.mjs'));
  cpSync(join(ROOT, 'infra', 'compiled.mjs'), join(root, 'infra', 'compiled.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(root, 'tsconfig.json'), '{ "compilerOptions": { "target": "ES2022" } }\n');
  writeFileSync(join(root, 'lib', 'answer.ts'), 'export const answer: number = 42;\n');
  writeFileSync(join(root, 'lib', 'entry.mjs'), 'export {};\n');
  writeFileSync(join(root, 'cli', 'main.ts'), "import { answer } from '../lib/answer.js';\nconsole.log(import.meta.url, answer);\n");
  return root;
}

describe('the compiled tree', () => {
  it('is built beside the sources, copies plain modules, and is run while fresh', async () => {
    const root = tinyPackage();
    expect(freshCompiledCli(root)).toBeUndefined();
    expect((await run('node', [join(root, 'bin', 'sls.mjs')])).stdout).toBe(`file://${root}/cli/main.ts 42\n`);
    expect(await buildCompiled(root)).toBe(true);
    expect(existsSync(join(root, 'dist', 'js', 'lib', 'answer.js'))).toBe(true);
    expect(readFileSync(join(root, 'dist', 'js', 'lib', 'entry.mjs'), 'utf8')).toBe('export {};\n');
    expect(freshCompiledCli(root)?.href).toMatch(/\/dist\/js\/cli\/main\.js$/);
    expect(await buildCompiled(root)).toBe(false);
    expect((await run('node', [join(root, 'bin', 'sls.mjs')])).stdout).toBe(`file://${root}/dist/js/cli/main.js 42\n`);
  });

  it('is not run once a source or the compiler options changed, or a source is gone', async () => {
    for (const change of ['lib/answer.ts', 'tsconfig.json', 'remove lib/entry.mjs']) {
      const root = tinyPackage();
      await buildCompiled(root);
      if (change.startsWith('remove ')) rmSync(join(root, change.slice('remove '.length)));
      else utimesSync(join(root, change), new Date(), new Date(Date.now() + 5000));
      expect(freshCompiledCli(root), change).toBeUndefined();
      expect((await run('node', [join(root, 'bin', 'sls.mjs')])).stdout, change).toBe(`file://${root}/cli/main.ts 42\n`);
    }
  });
});

describe("this package's compiled CLI", () => {
  it('embeds a layer bit for bit as the TypeScript sources do, t-SNE threads and helpers included', async () => {
    await buildCompiled(ROOT);
    const rows = 120;
    const dim = 16;
    // Two groups of rows on a lattice: data the test can write down without a generator.
    const values = Float32Array.from(
      { length: rows * dim },
      (_, i) => ((Math.floor(i / dim) % 2) * 3 + ((i * 7) % 11) / 11) * (1 + (i % dim) / dim),
    );
    const labels = Int32Array.from({ length: rows }, (_, i) => i % 2);
    const features = join(scratch, 'layer.arrow');
    await writeFeatures(features, { rows, dim, values, labels });
    const compiled = join(scratch, 'compiled.arrow');
    const source = join(scratch, 'source.arrow');
    const embed = ['embed', features, '--seed', '3'];
    await run('node', [join(ROOT, 'dist', 'js', 'cli', 'main.js'), ...embed, '--out', compiled]);
    await run('node', ['--import', 'tsx', join(ROOT, 'cli', 'main.ts'), ...embed, '--out', source], { cwd: ROOT });
    const a = await readEmbedding(compiled);
    const b = await readEmbedding(source);
    expect(a.x.length).toBe(rows);
    expect(a.x).toEqual(b.x);
    expect(a.y).toEqual(b.y);
  });
});
