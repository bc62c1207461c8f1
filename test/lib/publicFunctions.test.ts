/**
 * Every exported function of lib/ is named in some test: a function other modules call, and
 * that no test calls directly, is tested only as far as its callers happen to reach it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, pattern);
    return pattern.test(entry.name) ? [path] : [];
  });
}

/** The names of the functions `source` exports (`export function f`, `export async function f`). */
function exportedFunctions(source: string): string[] {
  return [...source.matchAll(/^export (?:async )?function\*? ?([A-Za-z_$][\w$]*)/gm)].map((match) => match[1]);
}

/** The exported functions of `modules` (path and source) that no test source names as a word. */
function untested(modules: Array<[string, string]>, testSources: string[]): string[] {
  const named = new Set(testSources.flatMap((source) => source.match(/[A-Za-z_$][\w$]*/g) ?? []));
  return modules.flatMap(([path, source]) =>
    exportedFunctions(source)
      .filter((name) => !named.has(name))
      .map((name) => `${path} ${name}`),
  );
}

describe('lib/ public functions', () => {
  it('finds an exported function no test names (the check itself)', () => {
    const module = 'export function tested() {}\nexport async function untestedOne() {}\nfunction internal() {}\n';
    expect(exportedFunctions(module)).toEqual(['tested', 'untestedOne']);
    expect(untested([['m.ts', module]], ['tested();'])).toEqual(['m.ts untestedOne']);
    // A name inside a longer word does not count.
    expect(untested([['m.ts', 'export function run() {}']], ['runAll();'])).toEqual(['m.ts run']);
  });

  it('are each named in a test', () => {
    const modules = filesUnder(join(ROOT, 'lib'), /\.ts$/).map((path): [string, string] => [
      relative(ROOT, path),
      readFileSync(path, 'utf8'),
    ]);
    const tests = filesUnder(join(ROOT, 'test'), /\.(ts|mts)$/)
      .filter((path) => path !== fileURLToPath(import.meta.url))
      .map((path) => readFileSync(path, 'utf8'));
    // The scan reads the library (a check that reads nothing proves nothing).
    expect(modules.flatMap(([, source]) => exportedFunctions(source))).toContain('runTsne');
    expect(untested(modules, tests)).toEqual([]);
  });
});
