/**
 * The attractive half of the t-SNE gradient, sum_j exaggeration p_ij w_ij (y_i - y_j) over the
 * sparse P, in a WebAssembly SIMD kernel (wasm/attraction.ts) on a shared memory that holds P,
 * the embedding and the result: every member of a team computes its rows through its own
 * instance. Each row sums its entries in a fixed order, whoever computes it.
 */
import { sharedWasmMemory, WASM_DATA_START, wasmModule } from '../../wasmModules.js';
import type { SparseAffinities } from './affinity.js';

/** P and the embedding in a shared kernel memory (see AttractionViews for the layout). */
export interface SharedAttraction {
  memory: WebAssembly.Memory;
  n: number;
  nonzeros: number;
}

/** The kernel's arrays: indptr, indices, values, embedding (n x 2) and attraction (n x 2). */
class AttractionViews {
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
  readonly embedding: Float64Array;
  readonly attraction: Float64Array;
  readonly bytes: number;

  /** Views of `memory`, or with none only the layout's size. */
  constructor(memory: WebAssembly.Memory | undefined, n: number, nonzeros: number) {
    let at = WASM_DATA_START;
    const take = <T>(make: (buffer: ArrayBufferLike, at: number, length: number) => T, bytesEach: number, length: number): T => {
      const view = make(memory ? memory.buffer : new ArrayBuffer(0), memory ? at : 0, memory ? length : 0);
      // Keep every array 8-byte aligned.
      at += Math.ceil((bytesEach * length) / 8) * 8;
      return view;
    };
    const int32 = (buffer: ArrayBufferLike, offset: number, length: number) => new Int32Array(buffer, offset, length);
    const float64 = (buffer: ArrayBufferLike, offset: number, length: number) => new Float64Array(buffer, offset, length);
    this.indptr = take(int32, 4, n + 1);
    this.indices = take(int32, 4, nonzeros);
    this.values = take(float64, 8, nonzeros);
    this.embedding = take(float64, 8, 2 * n);
    this.attraction = take(float64, 8, 2 * n);
    this.bytes = at - WASM_DATA_START;
  }
}

/** A shared kernel memory holding `affinities`, for AttractionKernel instances. */
export function sharedAttraction(affinities: SparseAffinities): SharedAttraction {
  const { n, indptr, indices, values } = affinities;
  const nonzeros = indptr[n];
  const memory = sharedWasmMemory(new AttractionViews(undefined, n, nonzeros).bytes);
  const views = new AttractionViews(memory, n, nonzeros);
  views.indptr.set(indptr);
  views.indices.set(indices.subarray(0, nonzeros));
  views.values.set(values.subarray(0, nonzeros));
  return { memory, n, nonzeros };
}

interface KernelExports {
  attractionRows(
    indptr: number,
    indices: number,
    values: number,
    embedding: number,
    start: number,
    end: number,
    exaggeration: number,
    out: number,
  ): void;
}

/** One member's instance of the kernel over a SharedAttraction. */
export class AttractionKernel {
  private readonly views: AttractionViews;
  private readonly kernel: KernelExports;

  constructor(shared: SharedAttraction) {
    this.views = new AttractionViews(shared.memory, shared.n, shared.nonzeros);
    this.kernel = new WebAssembly.Instance(wasmModule('attraction'), { env: { memory: shared.memory } })
      .exports as unknown as KernelExports;
  }

  /** The coordinator's part before a gradient: the embedding (n x 2) into the shared memory. */
  place(embedding: Float64Array): void {
    this.views.embedding.set(embedding);
  }

  /** Writes the attraction of rows start..end - 1 of the placed embedding. */
  rows(start: number, end: number, exaggeration: number): void {
    const { indptr, indices, values, embedding, attraction } = this.views;
    this.kernel.attractionRows(
      indptr.byteOffset,
      indices.byteOffset,
      values.byteOffset,
      embedding.byteOffset,
      start,
      end,
      exaggeration,
      attraction.byteOffset,
    );
  }

  /** n x 2, the placed embedding: the one every member of the team reads. */
  get embedding(): Float64Array {
    return this.views.embedding;
  }

  /** n x 2, per point, once every row is done. */
  get attraction(): Float64Array {
    return this.views.attraction;
  }
}
