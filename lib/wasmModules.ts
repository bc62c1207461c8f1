/**
 * The WebAssembly kernels (AssemblyScript sources in wasm/, built to dist/wasm/ by
 * `npm run build:wasm`, which infra/setup.sh runs): each module compiled once per thread.
 */
import { readFileSync } from 'node:fs';
import { packagePath } from './packageRoot.js';

const compiled = new Map<string, WebAssembly.Module>();

/** The compiled module of dist/wasm/NAME.wasm. */
export function wasmModule(name: string): WebAssembly.Module {
  let module = compiled.get(name);
  if (!module) {
    const path = packagePath('dist', 'wasm', `${name}.wasm`);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      throw new Error(`${path} is missing: build it with 'npm run build:wasm' (infra/setup.sh does)`);
    }
    module = new WebAssembly.Module(new Uint8Array(bytes));
    compiled.set(name, module);
  }
  return module;
}

/** Bytes in a WebAssembly page. */
export const WASM_PAGE = 65_536;
/** The kernels keep their own static data below this address; callers lay out data from here. */
export const WASM_DATA_START = WASM_PAGE;

/**
 * A shared memory with `bytes` bytes from WASM_DATA_START, for the kernels built with the
 * `sharedMemory` target (they import it): every thread of a run instantiates its kernel over it.
 */
export function sharedWasmMemory(bytes: number): WebAssembly.Memory {
  const pages = Math.ceil((WASM_DATA_START + bytes) / WASM_PAGE);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/**
 * A fresh instance of dist/wasm/NAME.wasm (a kernel with its own memory) whose memory holds at
 * least `end` bytes (an address, WASM_DATA_START and up being the caller's).
 */
export function wasmInstance<Exports>(name: string, end: number): Exports & { memory: WebAssembly.Memory } {
  const exports = new WebAssembly.Instance(wasmModule(name), {}).exports as unknown as Exports & { memory: WebAssembly.Memory };
  exports.memory.grow(Math.max(0, Math.ceil(end / WASM_PAGE) - exports.memory.buffer.byteLength / WASM_PAGE));
  return exports;
}
