import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { wasmInstance, wasmModule } from '../../lib/wasmModules.js';

/** The functions a compiled module exports, sorted. */
function exportedFunctions(module: WebAssembly.Module): string[] {
  return WebAssembly.Module.exports(module)
    .filter((entry) => entry.kind === 'function')
    .map((entry) => entry.name)
    .sort();
}

describe('wasmModule', () => {
  it('compiles dist/wasm/NAME.wasm: its exports are the functions the AssemblyScript source exports', () => {
    // wasm/knn.ts exports norms, search, exactDistances; wasm/silhouette.ts exports rowBlock; both own their memory.
    expect(exportedFunctions(wasmModule('knn'))).toEqual(['exactDistances', 'norms', 'search']);
    expect(exportedFunctions(wasmModule('silhouette'))).toEqual(['rowBlock']);
    expect(WebAssembly.Module.imports(wasmModule('silhouette'))).toEqual([]);
  });

  it('compiles each module once per thread', () => {
    expect(wasmModule('knn')).toBe(wasmModule('knn'));
    expect(wasmModule('knn')).not.toBe(wasmModule('silhouette'));
  });

  it('names the missing file and how to build it', () => {
    const missing = fileURLToPath(new URL('../../dist/wasm/noSuchKernel.wasm', import.meta.url));
    expect(() => wasmModule('noSuchKernel')).toThrow(`${missing} is missing: build it with 'npm run build:wasm'`);
  });
});

describe('wasmInstance', () => {
  const PAGE = 65_536;
  // wasm/asconfig.json's release target starts every module's own memory at 2 pages.
  const INITIAL = 2 * PAGE;

  it('grows the memory to the whole pages that hold `end` bytes, never below its initial size', () => {
    expect(wasmInstance('silhouette', 0).memory.buffer.byteLength).toBe(INITIAL);
    expect(wasmInstance('silhouette', PAGE + 1).memory.buffer.byteLength).toBe(INITIAL);
    expect(wasmInstance('silhouette', 2 * PAGE).memory.buffer.byteLength).toBe(INITIAL);
    expect(wasmInstance('silhouette', 2 * PAGE + 1).memory.buffer.byteLength).toBe(3 * PAGE);
    // 1,000,000 / 65,536 = 15.26: 16 pages.
    expect(wasmInstance('knn', 1_000_000).memory.buffer.byteLength).toBe(16 * PAGE);
  });

  it("gives each call an instance with its own memory, and the module's exports", () => {
    const first = wasmInstance<{ rowBlock: unknown }>('silhouette', 3 * PAGE);
    const second = wasmInstance<{ rowBlock: unknown }>('silhouette', 3 * PAGE);
    expect(typeof first.rowBlock).toBe('function');
    new Uint8Array(first.memory.buffer)[3 * PAGE - 1] = 42;
    expect(new Uint8Array(second.memory.buffer)[3 * PAGE - 1]).toBe(0);
  });
});
