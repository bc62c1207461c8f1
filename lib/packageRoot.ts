/**
 * Files of the package that are not modules (the WASM kernels, package.json, infra scripts,
 * fixtures), found from its root: the modules run from their sources or compiled in dist/js, at
 * different depths, so a path relative to a module would hold in only one of the two.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, 'package.json'))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    folder = parent;
  }
  return folder;
}

/** The package's root folder: the nearest one above this module with a package.json. */
export const PACKAGE_ROOT = findRoot();

/** The absolute path of `segments` under the package's root. */
export function packagePath(...segments: string[]): string {
  return join(PACKAGE_ROOT, ...segments);
}
