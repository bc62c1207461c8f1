/** lib/packageRoot.ts and lib/threads.ts's siblingModule: where modules find files and siblings. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, packagePath } from '../../lib/packageRoot.js';
import { siblingModule } from '../../lib/threads.js';

describe('packagePath', () => {
  it('is the folder that holds package.json, two levels above this test', () => {
    expect(PACKAGE_ROOT).toBe(fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, ''));
    expect(JSON.parse(readFileSync(packagePath('package.json'), 'utf8')).name).toBe('sls');
    expect(packagePath('dist', 'wasm', 'knn.wasm')).toBe(`${PACKAGE_ROOT}/dist/wasm/knn.wasm`);
  });
});

describe('siblingModule', () => {
  it("keeps the caller's folder and extension", () => {
    expect(siblingModule('file:///p/lib/embed/tsne/offThread.ts', 'tsneThread').href).toBe('file:///p/lib/embed/tsne/tsneThread.ts');
    expect(siblingModule('file:///p/dist/js/lib/emit/headRefit.js', 'headRefitThread').href).toBe(
      'file:///p/dist/js/lib/emit/headRefitThread.js',
    );
    expect(siblingModule('file:///p/a.mjs', 'b').href).toBe('file:///p/b.mjs');
  });

  it('refuses a caller that is not a module', () => {
    expect(() => siblingModule('file:///p/data.json', 'b')).toThrow(/not a JavaScript or TypeScript module/);
  });
});
