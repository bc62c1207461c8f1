/**
 * lib/ is a DAG: no module reaches itself through its relative imports (type-only ones
 * included, since they tie the modules' designs together all the same).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LIB = fileURLToPath(new URL('../../lib/', import.meta.url));

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return /\.(ts|mjs)$/.test(entry.name) ? [path] : [];
  });
}

/** The lib/ modules that `file` imports (static `from '...'` and `import('...')` specifiers). */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((match) => match[1]);
  return specifiers.map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts'))).filter((path) => path.startsWith(LIB));
}

/** One import cycle of `graph` (its modules in order, the first repeated at the end), or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('lib/ imports', () => {
  it('finds a cycle where there is one, and none in a chain (the check itself)', () => {
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a']);
    expect(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBeUndefined();
  });

  it('form no cycle', () => {
    const files = modules(LIB);
    const graph = new Map(files.map((file) => [file, importsOf(file)]));
    // The walk sees the t-SNE kernels' imports of team.ts (a check that reads nothing proves nothing).
    expect(graph.get(join(LIB, 'embed/tsne/barnesHut.ts'))).toContain(join(LIB, 'embed/tsne/team.ts'));
    const cycle = findCycle(graph);
    expect(cycle?.map((file) => relative(LIB, file))).toBeUndefined();
  });
});
